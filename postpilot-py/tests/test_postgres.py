"""The main flow on PostgreSQL (DATABASE_URL, set by .ci/with-postgres)."""

import time

import postpilot
from conftest import PASSWORD, soon


def test_the_main_flow_runs_on_postgres(postgres_url):
    engine = postpilot.Engine.postgres(postgres_url, token_key="k1:" + "A" * 43 + "=")
    user = engine.register(email="pg@example.com", password=PASSWORD)
    account = engine.connect_account(user_id=user["id"], platform="instagram", account_name="@pg", account_id_external="pg", access_token="oauth")
    item = engine.generate(
        user_id=user["id"],
        product_data={"title": "Aurora Desk Lamp", "image_urls": ["https://cdn.example.com/a.jpg"]},
        platforms=["instagram"],
    )
    approval = engine.approve(user_id=user["id"], item_id=item["id"], account_ids=[account["id"]], scheduled_for=soon(0.3))
    time.sleep(0.4)

    assert engine.run_due()["posted"] == 1
    post = engine.get_post(user_id=user["id"], post_id=approval["posts"][0]["id"])
    assert post["status"] == "posted"
    assert engine.list_queue(user_id=user["id"], status="posted")["total"] == 1
    again = postpilot.Engine.postgres(postgres_url, migrate=False, token_key="k1:" + "A" * 43 + "=")
    assert again.login(email="pg@example.com", password=PASSWORD)["id"] == user["id"]
