"""A caption generator written in Python: called with the request, held to the platforms' rules."""

import pytest

import postpilot
from conftest import PASSWORD

PRODUCT = {"title": "Aurora Desk Lamp", "price": 39.0, "currency": "USD", "url": "https://shop.example/lamp"}


def engine_with(captions):
    engine = postpilot.Engine.in_memory(captions=captions)
    merchant = engine.register(email="captions@example.com", password=PASSWORD)
    return engine, merchant["id"]


def test_a_python_generator_writes_the_caption_with_the_request_it_needs_and_is_recorded():
    seen = []

    def captions(request):
        seen.append(request)
        return {"caption": f"{request['product']['title']}, {request['tone']}.", "hashtags": ["lamp"],
                "generator": "my-model", "input_tokens": 321, "output_tokens": 45}

    engine, user_id = engine_with(captions)
    item = engine.generate(user_id=user_id, product_data=PRODUCT, platforms=["instagram", "tiktok"], tone="casual")

    assert (item["ai_generated_content"], item["hashtags"]) == ("Aurora Desk Lamp, casual.", ["lamp"])
    assert item["caption_generator"] == {"name": "my-model", "input_tokens": 321, "output_tokens": 45, "fell_back": None}
    request = seen[0]
    assert (request["platforms"], request["variant"], request["product"]["url"]) == (["instagram", "tiktok"], 0, PRODUCT["url"])
    assert request["rules"]["tiktok"] == {"max_caption": 2200, "length_unit": "utf16", "max_hashtags": None, "hashtags_in_caption": True}
    assert request["rules"]["instagram"]["max_hashtags"] == 30


def test_a_python_generator_can_write_a_platform_its_own_caption():
    def captions(request):
        return {"caption": "Late nights, sorted. Link in bio.", "hashtags": ["lamp"],
                "platform_captions": {"tiktok": {"caption": "POV: your desk glows", "hashtags": ["desksetup"]}}}

    engine, user_id = engine_with(captions)
    item = engine.generate(user_id=user_id, product_data=PRODUCT, platforms=["instagram", "tiktok"], tone="casual")

    assert item["ai_generated_content"] == "Late nights, sorted. Link in bio."
    assert item["platform_captions"] == {"tiktok": {"caption": "POV: your desk glows", "hashtags": ["desksetup"]}}


def test_a_plain_string_is_a_caption_without_hashtags_recorded_as_python():
    engine, user_id = engine_with(lambda request: "Light that keeps up with late nights.")
    item = engine.generate(user_id=user_id, product_data=PRODUCT, platforms=["facebook"], tone="professional")
    assert (item["ai_generated_content"], item["hashtags"]) == ("Light that keeps up with late nights.", [])
    assert item["caption_generator"]["name"] == "python"


def test_a_refusal_is_a_validation_error_naming_the_product():
    def captions(request):
        raise postpilot.CaptionRefused("this product cannot be advertised")

    engine, user_id = engine_with(captions)
    with pytest.raises(postpilot.ValidationError) as refused:
        engine.generate(user_id=user_id, product_data=PRODUCT, platforms=["facebook"], tone="casual")
    assert refused.value.field == "product_data"
    assert "cannot be advertised" in refused.value.reason


@pytest.mark.parametrize("captions, says", [
    (lambda request: 1 / 0, "raised"),
    (lambda request: {"caption": "x" * 2201}, "Instagram"),
    (lambda request: {"caption": "Fine", "hashtags": ["no spaces allowed"]}, "invalid hashtag"),
    (lambda request: {"text": "wrong key"}, "caption"),
    (lambda request: {"caption": "Fine", "platform_captions": {"facebook": {"caption": "Not asked"}}}, "not a target platform"),
    (lambda request: {"caption": "Fine", "platform_captions": {"instagram": {"caption": "x" * 2201}}}, "Instagram"),
])
def test_a_failing_or_rule_breaking_generator_is_unavailable_and_stores_nothing(captions, says):
    engine, user_id = engine_with(captions)
    with pytest.raises(postpilot.UnavailableError) as unavailable:
        engine.generate(user_id=user_id, product_data=PRODUCT, platforms=["instagram"], tone="casual")
    assert says in str(unavailable.value)
    assert engine.list_queue(user_id=user_id)["total"] == 0


def test_captions_must_be_callable():
    with pytest.raises(postpilot.ValidationError):
        postpilot.Engine.in_memory(captions="not a function")


def test_a_template_is_saved_checked_and_filled_by_generate():
    engine = postpilot.Engine.in_memory()
    user_id = engine.register(email="templates@example.com", password=PASSWORD)["id"]
    template = engine.create_template(user_id=user_id, name="Sale", body="{title} at {store_name}: {price} {currency}",
                                      platforms=["instagram"], tone="urgent")
    assert (template["platforms"], template["tone"]) == (["instagram"], "urgent")
    with pytest.raises(postpilot.ValidationError) as unknown:
        engine.create_template(user_id=user_id, name="Bad", body="{title} {sku}")
    assert unknown.value.field == "body" and "{sku}" in unknown.value.reason

    item = engine.generate(user_id=user_id, product_data={**PRODUCT, "store_name": "Aurora Home"},
                           platforms=["instagram"], template_id=template["id"])

    assert item["ai_generated_content"] == "Aurora Desk Lamp at Aurora Home: 39.00 USD"
    assert item["caption_generator"]["name"] == "template:Sale"
    renamed = engine.update_template(user_id=user_id, template_id=template["id"], name="Flash sale")
    assert engine.list_templates(user_id=user_id)["items"][0]["name"] == renamed["name"] == "Flash sale"
    engine.delete_template(user_id=user_id, template_id=template["id"])
    with pytest.raises(postpilot.NotFoundError):
        engine.get_template(user_id=user_id, template_id=template["id"])
