"""Every engine method on the in-memory engine, and every error type mapped."""

import time
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

import postpilot
from conftest import PASSWORD, now, soon


def test_register_returns_the_user_with_uuid_and_aware_datetime(engine):
    user = engine.register(email="Merchant@Example.com", password=PASSWORD)
    assert isinstance(user["id"], uuid.UUID)
    assert user["email"] == "merchant@example.com"
    assert user["created_at"].tzinfo is not None


def test_login_checks_the_password(engine, merchant):
    assert engine.login(email=merchant["email"], password=PASSWORD)["id"] == merchant["id"]
    with pytest.raises(postpilot.AuthError):
        engine.login(email=merchant["email"], password="wrong password")


def test_me_reports_the_plan(engine, merchant):
    assert engine.me(user_id=merchant["id"])["plan"] == "free"
    engine.checkout(user_id=merchant["id"], plan="pro")
    assert engine.me(user_id=merchant["id"])["plan"] == "pro"


def test_a_short_password_is_a_validation_error_naming_the_field(engine):
    with pytest.raises(postpilot.ValidationError) as caught:
        engine.register(email="a@example.com", password="short")
    assert caught.value.field == "password"
    assert isinstance(caught.value, postpilot.PostPilotError)


def test_a_taken_email_is_a_conflict(engine, merchant):
    with pytest.raises(postpilot.ConflictError):
        engine.register(email=merchant["email"], password=PASSWORD)


def test_a_post_past_the_accounts_publishing_cap_is_a_publishing_cap_error_naming_the_next_free_time(engine, merchant):
    engine.checkout(user_id=merchant["id"], plan="pro")
    tiktok = engine.connect_account(
        user_id=merchant["id"], platform="tiktok", account_name="@t", account_id_external="t"
    )
    start = now().replace(microsecond=0) + timedelta(hours=1)
    video = ["https://cdn.example.com/drop.mp4"]
    for n in range(15):  # TikTok's default cap: 15 posts in 24 hours
        engine.create_post(
            user_id=merchant["id"], account_id=tiktok["id"], content=f"drop {n}", media_urls=video,
            scheduled_for=start + timedelta(minutes=n),
        )
    with pytest.raises(postpilot.PublishingCapError) as caught:
        engine.create_post(
            user_id=merchant["id"], account_id=tiktok["id"], content="drop 16", media_urls=video,
            scheduled_for=start + timedelta(hours=1),
        )
    assert isinstance(caught.value, postpilot.ConflictError)
    assert (caught.value.platform, caught.value.cap) == ("tiktok", 15)
    assert caught.value.window_end == start + timedelta(hours=1)
    assert caught.value.next_free_at == start + timedelta(days=1)
    assert engine.list_posts(user_id=merchant["id"])["total"] == 15


def test_provisioning_is_idempotent_per_platform_id(engine):
    platform_id = uuid.uuid4()
    first = engine.provision(email="shop@example.com", external_platform_id=platform_id, plan="pro")
    again = engine.provision(email="shop@example.com", external_platform_id=platform_id)
    assert first["id"] == again["id"]
    assert engine.me(user_id=first["id"])["plan"] == "pro"


def test_accounts_connect_list_get_and_disconnect(engine, merchant, account):
    listed = engine.list_accounts(user_id=merchant["id"])
    assert (listed["total"], listed["items"][0]["id"]) == (1, account["id"])
    assert engine.get_account(user_id=merchant["id"], account_id=account["id"])["platform"] == "facebook"
    assert listed["items"][0]["publishing_cap"] is None, "Facebook Pages have no cap"
    gone = engine.disconnect_account(user_id=merchant["id"], account_id=account["id"])
    assert gone["is_connected"] is False


def test_a_second_account_on_the_free_plan_is_a_plan_limit_error_with_resource_and_limit(engine, merchant, account):
    with pytest.raises(postpilot.PlanLimitError) as caught:
        engine.connect_account(user_id=merchant["id"], platform="tiktok", account_name="@t", account_id_external="t")
    assert (caught.value.resource, caught.value.limit) == ("connected_accounts", 1)


def test_another_users_objects_are_not_found(engine, account):
    stranger = engine.register(email="stranger@example.com", password=PASSWORD)
    with pytest.raises(postpilot.NotFoundError):
        engine.get_account(user_id=stranger["id"], account_id=account["id"])


def test_posts_create_get_update_schedule_list_and_delete(engine, merchant, account):
    post = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Hello", hashtags=["#Sale", "sale"])
    assert (post["status"], post["hashtags"]) == ("draft", ["Sale"])
    at = now() + timedelta(days=1)
    scheduled = engine.schedule_post(user_id=merchant["id"], post_id=post["id"], scheduled_for=at)
    assert scheduled["status"] == "scheduled"
    assert abs((scheduled["scheduled_for"] - at).total_seconds()) < 0.001
    edited = engine.update_post(user_id=merchant["id"], post_id=post["id"], content="Hello again")
    assert (edited["content"], edited["status"]) == ("Hello again", "scheduled")
    drafted = engine.update_post(user_id=merchant["id"], post_id=post["id"], unschedule=True)
    assert (drafted["status"], drafted["scheduled_for"]) == ("draft", None)
    assert engine.list_posts(user_id=merchant["id"], status="draft")["total"] == 1
    assert engine.get_post(user_id=merchant["id"], post_id=post["id"])["content"] == "Hello again"
    engine.delete_post(user_id=merchant["id"], post_id=post["id"])
    with pytest.raises(postpilot.NotFoundError):
        engine.get_post(user_id=merchant["id"], post_id=post["id"])


def test_a_list_is_walked_after_each_next_cursor_and_a_bad_cursor_names_after(engine, merchant, account):
    made = [
        engine.create_post(user_id=merchant["id"], account_id=account["id"], content=f"Post {n}")["id"]
        for n in range(5)
    ]
    page = engine.list_posts(user_id=merchant["id"], per_page=2)
    walked = [p["id"] for p in page["items"]]
    while page["next"] is not None:
        page = engine.list_posts(user_id=merchant["id"], per_page=2, after=page["next"])
        walked += [p["id"] for p in page["items"]]
    listed = [p["id"] for p in engine.list_posts(user_id=merchant["id"], per_page=100)["items"]]
    assert walked == listed and sorted(walked) == sorted(made)
    with pytest.raises(postpilot.ValidationError) as caught:
        engine.list_posts(user_id=merchant["id"], after="not-a-cursor")
    assert caught.value.field == "after"


def test_scheduling_in_the_past_is_a_validation_error(engine, merchant, account):
    post = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="x")
    with pytest.raises(postpilot.ValidationError) as caught:
        engine.schedule_post(user_id=merchant["id"], post_id=post["id"], scheduled_for=now() - timedelta(minutes=1))
    assert caught.value.field == "scheduled_for"


def test_the_same_caption_within_24_hours_is_a_duplicate_post_error_naming_the_other_post(engine, merchant, account):
    at = now() + timedelta(days=1)
    first = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Mugs are back", scheduled_for=at)
    with pytest.raises(postpilot.DuplicatePostError) as refused:
        engine.create_post(user_id=merchant["id"], account_id=account["id"], content="mugs are  back",
                           scheduled_for=at + timedelta(hours=3))
    assert refused.value.post_id == first["id"]
    assert isinstance(refused.value, postpilot.ConflictError)
    draft = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Mugs are back")
    with pytest.raises(postpilot.DuplicatePostError):
        engine.schedule_post(user_id=merchant["id"], post_id=draft["id"], scheduled_for=at + timedelta(hours=1))
    both = engine.schedule_post(user_id=merchant["id"], post_id=draft["id"], scheduled_for=at + timedelta(hours=1),
                                allow_duplicate=True)
    assert both["status"] == "scheduled"


def test_editing_a_posted_post_is_an_invalid_transition(engine, merchant, account):
    post = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="x", scheduled_for=soon(0.2))
    time.sleep(0.3)
    assert engine.run_due()["posted"] == 1
    with pytest.raises(postpilot.InvalidTransitionError):
        engine.update_post(user_id=merchant["id"], post_id=post["id"], content="too late")


def test_the_calendar_groups_posts_by_local_date(engine, merchant, account):
    day = (now() + timedelta(days=30)).date()
    at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)
    engine.create_post(user_id=merchant["id"], account_id=account["id"], content="x", scheduled_for=at)
    in_new_york = engine.calendar(user_id=merchant["id"], start_date=day - timedelta(days=1), end_date=day, tz="America/New_York")
    assert list(in_new_york) == [(day - timedelta(days=1)).isoformat()], "02:00 UTC is the evening before in New York"
    in_utc = engine.calendar(user_id=merchant["id"], start_date=day, end_date=day)
    assert list(in_utc) == [day.isoformat()]
    with pytest.raises(postpilot.ValidationError):
        engine.calendar(user_id=merchant["id"], start_date=date(2030, 1, 1), end_date=date(2030, 1, 2), tz="Mars/Olympus")


PRODUCT = {"title": "Aurora Desk Lamp", "price": 39.0, "currency": "USD", "image_urls": ["https://cdn.example.com/a.jpg"], "tags": ["desk lamp"]}


def test_the_queue_creates_generates_approves_rejects_and_lists(engine, merchant, account):
    manual = engine.create_queue_item(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"], content="Hand written")
    assert (manual["status"], manual["ai_generated_content"]) == ("pending", "Hand written")
    generated = engine.generate(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"], tone="playful")
    assert "Aurora Desk Lamp" in generated["ai_generated_content"]
    assert generated["product_data"]["title"] == "Aurora Desk Lamp"
    approval = engine.approve(user_id=merchant["id"], item_id=generated["id"], account_ids=[account["id"]])
    assert (approval["item"]["status"], approval["posts"][0]["status"]) == ("approved", "draft")
    rejected = engine.reject(user_id=merchant["id"], item_id=manual["id"], reason="off brand")
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "off brand")
    assert engine.list_queue(user_id=merchant["id"], status="rejected")["total"] == 1
    with pytest.raises(postpilot.InvalidTransitionError):
        engine.reject(user_id=merchant["id"], item_id=generated["id"])


def test_a_platforms_own_caption_is_what_its_post_says_and_must_be_for_a_targeted_platform(engine, merchant, account):
    own = {"facebook": {"caption": "Our lamp, on Facebook: https://shop.example/lamp", "hashtags": ["lamp"]}}
    item = engine.create_queue_item(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"],
                                    content="Shared words", platform_captions=own)
    assert item["platform_captions"] == own
    with pytest.raises(postpilot.ValidationError) as untargeted:
        engine.update_queue_item(user_id=merchant["id"], item_id=item["id"],
                                 platform_captions={"tiktok": {"caption": "POV: it glows"}})
    assert untargeted.value.field == "platform_captions.tiktok"
    with pytest.raises(postpilot.ValidationError) as unknown:
        engine.update_queue_item(user_id=merchant["id"], item_id=item["id"], platform_captions={"myspace": {"caption": "Hi"}})
    assert unknown.value.field == "platform_captions.myspace"
    with pytest.raises(postpilot.ValidationError) as blank:
        engine.update_queue_item(user_id=merchant["id"], item_id=item["id"], platform_captions={"facebook": {"caption": "  "}})
    assert blank.value.field == "platform_captions.facebook"
    approval = engine.approve(user_id=merchant["id"], item_id=item["id"], account_ids=[account["id"]])
    post = approval["posts"][0]
    assert (post["content"], post["hashtags"]) == (own["facebook"]["caption"], ["lamp"])


def test_posting_schedules_queue_posts_on_the_next_free_slots(engine, merchant, account):
    every_day = [f"{d} 09:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
    schedule = engine.set_schedule(user_id=merchant["id"], account_id=account["id"], slots=every_day, time_zone="UTC")
    assert schedule["slots"] == every_day and schedule["time_zone"] == "UTC"
    assert engine.get_schedule(user_id=merchant["id"], account_id=account["id"]) == schedule
    draft = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Into the queue")
    first = engine.queue_post(user_id=merchant["id"], post_id=draft["id"])
    item = engine.create_queue_item(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"], content="Next")
    approval = engine.approve(user_id=merchant["id"], item_id=item["id"], account_ids=[account["id"]], slot="next")
    second = approval["posts"][0]
    assert first["on_slot"] and second["on_slot"]
    assert (first["scheduled_for"].hour, second["scheduled_for"] - first["scheduled_for"]) == (9, timedelta(days=1))
    listing = engine.slots(user_id=merchant["id"], account_id=account["id"],
                           from_=first["scheduled_for"], to=first["scheduled_for"] + timedelta(days=2))
    assert [s["posts"] for s in listing["slots"]] == [[first["id"]], [second["id"]]]
    assert listing["off_slot"] == []
    with pytest.raises(postpilot.ValidationError) as bad:
        engine.approve(user_id=merchant["id"], item_id=item["id"], account_ids=[account["id"]], slot="last")
    assert bad.value.field == "slot"


def test_a_csv_import_creates_valid_rows_reports_the_others_and_never_twice(engine, merchant, account):
    data = "account,caption,hashtags\n@shop,First,sale\n@shop,,\n@shop,Second,\n"
    report = engine.import_posts(user_id=merchant["id"], data=data, mode="partial")
    assert (report["status"], report["created"], report["failed"]) == ("done", 2, 1)
    assert report["errors"] == [{"row": 2, "field": "caption", "reason": "must not be blank"}]
    assert engine.get_import(user_id=merchant["id"], import_id=report["id"]) == report
    again = engine.import_posts(user_id=merchant["id"], data=data.encode(), mode="partial")
    assert (again["created"], again["duplicates"]) == (0, 2)
    with pytest.raises(postpilot.ValidationError) as broken:
        engine.import_posts(user_id=merchant["id"], data='account,caption\n@shop,"open\n')
    assert broken.value.field == "file"


def test_a_background_import_returns_running_and_get_import_reads_it_to_its_end(engine, merchant, account):
    # 20 rows over the free plan's 10 posts a month: the import ends failed, nothing created.
    data = "account,caption\n" + "".join(f"@shop,Post {i}\n" for i in range(20))
    running = engine.import_posts(user_id=merchant["id"], data=data, mode="partial", background=True)
    assert (running["status"], running["rows"], running["processed"]) == ("running", 20, 0)
    deadline = time.monotonic() + 30
    report = running
    while report["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
        report = engine.get_import(user_id=merchant["id"], import_id=running["id"])
    assert report["status"] == "failed"
    assert "plan limit" in report["error"]
    assert engine.list_posts(user_id=merchant["id"])["total"] == 0


def test_products_import_as_pending_queue_items(engine, merchant):
    data = "title,price,platforms,external_id\nAurora lamp,49.90,instagram facebook,sku-1\nMug,x,tiktok,sku-2\n"
    report = engine.import_posts(user_id=merchant["id"], data=data, kind="products", mode="partial")
    assert (report["kind"], report["created"], report["failed"]) == ("products", 1, 1)
    assert report["errors"][0]["field"] == "price"
    items = engine.list_queue(user_id=merchant["id"])["items"]
    assert [i["product_data"]["title"] for i in items] == ["Aurora lamp"]
    assert items[0]["status"] == "pending"


def test_product_data_with_an_unknown_field_is_a_validation_error(engine, merchant):
    with pytest.raises(postpilot.ValidationError):
        engine.generate(user_id=merchant["id"], product_data={"title": "x", "colour": "red"}, platforms=["facebook"])


def test_billing_plans_keys_usage_and_analytics(engine, merchant, account):
    plans = engine.plans()
    assert [p["tier"] for p in plans] == ["free", "pro", "enterprise"]
    assert plans[2]["max_items"] == -1
    with pytest.raises(postpilot.PlanLimitError):
        engine.create_api_key(user_id=merchant["id"], name="ci")
    session = engine.checkout(user_id=merchant["id"], plan="pro")
    assert session["checkout_url"].startswith("http")
    key = engine.create_api_key(user_id=merchant["id"], name="ci", scopes=["posts:read"])
    assert key["key"].startswith("po_live_") and key["scopes"] == ["posts:read"]
    listed = engine.list_api_keys(user_id=merchant["id"])
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    engine.revoke_api_key(user_id=merchant["id"], key_id=key["id"])
    assert engine.list_api_keys(user_id=merchant["id"])["items"][0]["is_active"] is False
    usage = engine.usage(user_id=merchant["id"])
    assert (usage["plan"], usage["posts_limit"], usage["connected_accounts"]) == ("pro", 200, 1)
    assert engine.analytics_overview(user_id=merchant["id"])["posts_published"] == 0


def test_queue_items_are_read_edited_regenerated_and_deleted(engine, merchant):
    item = engine.generate(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"])
    assert engine.get_queue_item(user_id=merchant["id"], item_id=item["id"])["id"] == item["id"]
    edited = engine.update_queue_item(user_id=merchant["id"], item_id=item["id"], ai_generated_content="Hand tuned", platforms=["facebook", "tiktok"])
    assert (edited["ai_generated_content"], edited["platforms"]) == ("Hand tuned", ["facebook", "tiktok"])
    engine.reject(user_id=merchant["id"], item_id=item["id"])
    again = engine.regenerate(user_id=merchant["id"], item_id=item["id"], tone="luxury")
    assert (again["status"], again["tone"]) == ("pending", "luxury")
    engine.delete_queue_item(user_id=merchant["id"], item_id=item["id"])
    with pytest.raises(postpilot.NotFoundError):
        engine.get_queue_item(user_id=merchant["id"], item_id=item["id"])


def test_profile_subscription_portal_and_per_post_analytics(engine, merchant, account):
    with pytest.raises(postpilot.AuthError):
        engine.update_me(user_id=merchant["id"], email="new@example.com")
    moved = engine.update_me(user_id=merchant["id"], current_password=PASSWORD, email="new@example.com")
    assert moved["email"] == "new@example.com"
    assert moved["time_zone"] == "UTC"
    assert engine.update_me(user_id=merchant["id"], time_zone="Asia/Tokyo")["time_zone"] == "Asia/Tokyo"
    assert engine.subscription(user_id=merchant["id"])["status"] is None
    engine.checkout(user_id=merchant["id"], plan="pro")
    assert engine.subscription(user_id=merchant["id"])["status"] == "active"
    assert engine.portal(user_id=merchant["id"]).startswith("http")
    post = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="x")
    assert engine.analytics_post(user_id=merchant["id"], post_id=post["id"])["impressions"] == 0
    assert engine.analytics_posts(user_id=merchant["id"])["total"] == 0


def test_the_tiktok_daily_cap_is_configurable_and_must_be_positive():
    engine = postpilot.Engine.in_memory(tiktok_daily_cap=1)
    user = engine.register(email="capped@example.com", password=PASSWORD)
    tiktok = engine.connect_account(user_id=user["id"], platform="tiktok", account_name="@c", account_id_external="c")
    assert tiktok["publishing_cap"] == 1
    assert engine.get_account(user_id=user["id"], account_id=tiktok["id"])["publishing_cap"] == 1
    video = ["https://cdn.example.com/drop.mp4"]
    start = now() + timedelta(hours=1)
    engine.create_post(user_id=user["id"], account_id=tiktok["id"], content="x", media_urls=video, scheduled_for=start)
    with pytest.raises(postpilot.PublishingCapError) as caught:
        engine.create_post(
            user_id=user["id"], account_id=tiktok["id"], content="x", media_urls=video,
            scheduled_for=start + timedelta(hours=2),
        )
    assert caught.value.cap == 1
    with pytest.raises(postpilot.ValidationError) as invalid:
        postpilot.Engine.in_memory(tiktok_daily_cap=0)
    assert invalid.value.field == "tiktok_daily_cap"


def test_a_generated_caption_says_what_wrote_it_until_the_merchant_edits_it(engine, merchant):
    manual = engine.create_queue_item(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"], content="Hand written")
    assert manual["caption_generator"] is None
    generated = engine.generate(user_id=merchant["id"], product_data=PRODUCT, platforms=["facebook"], tone="casual")
    assert generated["caption_generator"] == {"name": "template", "input_tokens": 0, "output_tokens": 0, "fell_back": None}
    edited = engine.update_queue_item(user_id=merchant["id"], item_id=generated["id"], ai_generated_content="My own words")
    assert edited["caption_generator"] is None


def test_plans_given_as_a_dict_set_the_limits_and_the_listed_plans():
    engine = postpilot.Engine.in_memory(plans={"currency": "eur", "free": {"name": "Starter", "accounts": 2, "generations_per_month": 5}})
    starter = engine.register(email="starter@example.com", password=PASSWORD)
    for n, platform in enumerate(["instagram", "facebook"]):
        engine.connect_account(user_id=starter["id"], platform=platform, account_name=f"@s{n}", account_id_external=f"x-{n}")
    with pytest.raises(postpilot.PlanLimitError):
        engine.connect_account(user_id=starter["id"], platform="tiktok", account_name="@s3", account_id_external="x-3")
    free = engine.plans()[0]
    assert (free["name"], free["max_secondary"], free["currency"], free["generations_per_month"]) == ("Starter", 2, "eur", 5)
    usage = engine.usage(user_id=starter["id"])
    assert (usage["generations_this_month"], usage["generations_limit"]) == (0, 5)
    with pytest.raises(postpilot.ValidationError) as bad:
        postpilot.Engine.in_memory(plans={"free": {"accounts": -5}})
    assert bad.value.field == "plans.free.accounts"


def test_webhook_endpoints_are_registered_rotated_disabled_and_deleted_with_the_secret_shown_once(engine, merchant):
    created = engine.create_webhook_endpoint(user_id=merchant["id"], url="https://93.184.216.34/hooks",
                                             event_types=["post.failed"], description="orders")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["post.failed"]
    listed = engine.list_webhook_endpoints(user_id=merchant["id"])
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    rotated = engine.rotate_webhook_endpoint_secret(user_id=merchant["id"], endpoint_id=created["id"])
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] > rotated["updated_at"]
    disabled = engine.update_webhook_endpoint(user_id=merchant["id"], endpoint_id=created["id"], enabled=False)
    assert disabled["enabled"] is False
    engine.delete_webhook_endpoint(user_id=merchant["id"], endpoint_id=created["id"])
    with pytest.raises(postpilot.NotFoundError):
        engine.get_webhook_endpoint(user_id=merchant["id"], endpoint_id=created["id"])


def test_a_scheduled_post_writes_a_pending_delivery_to_the_endpoint_log_which_cannot_be_resent_yet(engine, merchant, account):
    endpoint = engine.create_webhook_endpoint(user_id=merchant["id"], url="https://93.184.216.34/hooks",
                                              event_types=["post.scheduled"])
    at = datetime.now(timezone.utc) + timedelta(hours=2)
    engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Lamp is back", scheduled_for=at,
                       media_urls=["https://cdn.example.com/lamp.jpg"])
    log = engine.list_webhook_deliveries(user_id=merchant["id"], endpoint_id=endpoint["id"])
    assert log["total"] == 1
    delivery = log["items"][0]
    assert (delivery["event_type"], delivery["status"], delivery["attempts"]) == ("post.scheduled", "pending", 0)
    assert engine.list_webhook_deliveries(user_id=merchant["id"], endpoint_id=endpoint["id"], status="dead")["total"] == 0
    with pytest.raises(postpilot.ConflictError):
        engine.resend_webhook_delivery(user_id=merchant["id"], endpoint_id=endpoint["id"], delivery_id=delivery["id"])
    with pytest.raises(postpilot.ValidationError):
        engine.list_webhook_deliveries(user_id=merchant["id"], endpoint_id=endpoint["id"], status="lost")


def test_the_operators_endpoint_logs_every_merchants_events(engine, merchant, account):
    secret = "whsec_" + __import__("base64").b64encode(b"o" * 32).decode()
    operator = engine.configure_operator_endpoint(url="https://93.184.216.34/platform", secret=secret,
                                                  event_types=["post.scheduled"])
    assert operator["event_types"] == ["post.scheduled"] and "secret" not in operator
    engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Lamp is back",
                       scheduled_for=datetime.now(timezone.utc) + timedelta(hours=2))
    log = engine.list_operator_deliveries()
    assert (log["total"], log["items"][0]["event_type"]) == (1, "post.scheduled")
    with pytest.raises(postpilot.ValidationError) as bad:
        engine.configure_operator_endpoint(url="https://93.184.216.34/platform", secret="not-a-secret")
    assert bad.value.field == "secret"
    engine.remove_operator_endpoint()
    with pytest.raises(postpilot.NotFoundError):
        engine.list_operator_deliveries()


def test_a_webhook_endpoint_reaching_an_internal_address_is_a_validation_error_naming_url(engine, merchant):
    for url in ["https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://10.0.0.1/hook"]:
        with pytest.raises(postpilot.ValidationError) as refused:
            engine.create_webhook_endpoint(user_id=merchant["id"], url=url)
        assert refused.value.field == "url"


def test_a_post_approved_from_an_item_carries_the_product_snapshot_with_id_and_stock(engine, merchant, account):
    item = engine.create_queue_item(
        user_id=merchant["id"],
        product_data={"id": "sku-42", "title": "Glow Lamp", "price": 34.0, "stock": 0},
        platforms=["facebook"], content="Meet the Glow Lamp",
    )
    approval = engine.approve(user_id=merchant["id"], item_id=item["id"], account_ids=[account["id"]])
    post = engine.get_post(user_id=merchant["id"], post_id=approval["posts"][0]["id"])
    assert post["product"] == {"id": "sku-42", "title": "Glow Lamp", "price": 34.0, "stock": 0}
    direct = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Hello")
    assert direct["product"] is None


def test_a_paused_post_says_why_and_is_resumed_at_its_time(engine, merchant, account):
    at = now() + timedelta(hours=2)
    post = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Lamp sale", scheduled_for=at)
    paused = engine.pause_post(user_id=merchant["id"], post_id=post["id"], reason="sold out")
    assert (paused["status"], paused["error_message"]) == ("paused", "sold out")
    with pytest.raises(postpilot.InvalidTransitionError):
        engine.pause_post(user_id=merchant["id"], post_id=post["id"], reason="again")
    resumed = engine.resume_post(user_id=merchant["id"], post_id=post["id"])
    assert (resumed["status"], resumed["error_message"], resumed["scheduled_for"]) == ("scheduled", None, paused["scheduled_for"])


def test_a_paused_post_from_a_queue_item_resumes_with_a_caption_written_anew(engine, merchant, account):
    item = engine.create_queue_item(
        user_id=merchant["id"],
        product_data={"id": "sku-7", "title": "Glow Lamp", "price": 34.0},
        platforms=["facebook"], content="Meet the Glow Lamp",
    )
    approval = engine.approve(user_id=merchant["id"], item_id=item["id"], account_ids=[account["id"]],
                              scheduled_for=now() + timedelta(hours=3))
    post = approval["posts"][0]
    engine.pause_post(user_id=merchant["id"], post_id=post["id"], reason="supplier delay")
    resumed = engine.resume_post(user_id=merchant["id"], post_id=post["id"], regenerate_caption=True)
    assert resumed["status"] == "scheduled"
    assert resumed["content"] != "Meet the Glow Lamp"
    assert "Glow Lamp" in resumed["content"]
    direct = engine.create_post(user_id=merchant["id"], account_id=account["id"], content="Lamp sale",
                                scheduled_for=now() + timedelta(hours=4))
    engine.pause_post(user_id=merchant["id"], post_id=direct["id"], reason="supplier delay")
    with pytest.raises(postpilot.ValidationError) as refused:
        engine.resume_post(user_id=merchant["id"], post_id=direct["id"], regenerate_caption=True)
    assert refused.value.field == "regenerate_caption"


def test_what_pauses_posts_is_a_merchants_setting(engine, merchant):
    assert engine.me(user_id=merchant["id"])["pause_on"] == "both"
    assert engine.update_me(user_id=merchant["id"], pause_on="stock")["pause_on"] == "stock"
    with pytest.raises(postpilot.ValidationError) as refused:
        engine.update_me(user_id=merchant["id"], pause_on="sometimes")
    assert refused.value.field == "pause_on"
