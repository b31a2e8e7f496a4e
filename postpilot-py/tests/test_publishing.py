"""Publishing from Python: publishers written in Python, one tick at a time or a background
worker, and the quota under many Python threads."""

import threading
import time

import pytest

import postpilot
from conftest import PASSWORD, soon


class Flaky:
    """Fails the first `failures` publishes, then succeeds; remembers what it published."""

    def __init__(self, failures=1):
        self.failures = failures
        self.calls = []
        self.published = {}

    def publish(self, post):
        self.calls.append(post["idempotency_key"])
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the platform is down")
        remote_id = f"fb-{len(self.published) + 1}"
        self.published[post["idempotency_key"]] = remote_id
        return {"remote_id": remote_id, "url": f"https://facebook.example/{remote_id}"}

    def lookup(self, key):
        remote_id = self.published.get(key)
        return None if remote_id is None else {"remote_id": remote_id}


def merchant_with_account(engine):
    user = engine.register(email="pub@example.com", password=PASSWORD)
    account = engine.connect_account(user_id=user["id"], platform="facebook", account_name="@p", account_id_external="p")
    return user, account


def test_a_python_publisher_that_fails_then_succeeds_is_retried_then_posts():
    publisher = Flaky(failures=1)
    engine = postpilot.Engine.in_memory(publishers={"facebook": publisher})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)

    first = engine.run_due(retry_base_delay=0.05)
    time.sleep(0.15)
    second = engine.run_due(retry_base_delay=0.05)

    assert (first["retried"], second["posted"]) == (1, 1)
    stored = engine.get_post(user_id=user["id"], post_id=post["id"])
    assert (stored["status"], stored["external_url"]) == ("posted", "https://facebook.example/fb-1")
    assert len(publisher.published) == 1, "published once"
    assert len(publisher.calls) == 2


def test_publish_rejected_fails_the_post_for_good():
    class Refuses:
        def publish(self, post):
            raise postpilot.PublishRejected("content policy")

    engine = postpilot.Engine.in_memory(publishers={"facebook": Refuses()})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)

    assert engine.run_due()["failed"] == 1
    stored = engine.get_post(user_id=user["id"], post_id=post["id"])
    assert stored["status"] == "failed" and "content policy" in stored["error_message"]


def test_auth_expired_holds_the_post_and_flags_the_account():
    class Expired:
        def publish(self, post):
            raise postpilot.AuthExpired()

    engine = postpilot.Engine.in_memory(publishers={"facebook": Expired()})
    user, account = merchant_with_account(engine)
    engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)

    report = engine.run_due()
    assert (report["failed"], report["snoozed"]) == (0, 1)
    assert engine.get_account(user_id=user["id"], account_id=account["id"])["needs_reconnect"] is True
    held = engine.list_posts(user_id=user["id"])["items"][0]
    assert held["status"] == "scheduled" and "Reconnect the account" in held["error_message"]


def test_the_background_worker_publishes_due_posts_and_stops():
    publisher = Flaky(failures=0)
    engine = postpilot.Engine.in_memory(publishers={"facebook": publisher})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.3))

    engine.start_worker(poll_interval=0.1)
    deadline = time.time() + 10
    while engine.get_post(user_id=user["id"], post_id=post["id"])["status"] != "posted":
        assert time.time() < deadline, "the worker never published the post"
        time.sleep(0.05)
    totals = engine.stop_worker()

    assert totals["posted"] == 1
    assert engine.stop_worker() is None


def test_many_python_threads_at_the_quota_edge_create_exactly_the_quota():
    engine = postpilot.Engine.in_memory()
    user, account = merchant_with_account(engine)
    outcomes = []

    def create():
        try:
            engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi")
            outcomes.append("created")
        except postpilot.PlanLimitError:
            outcomes.append("limit")

    threads = [threading.Thread(target=create) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("created") == 10
    assert outcomes.count("limit") == 20
    assert engine.usage(user_id=user["id"])["posts_this_month"] == 10


def test_a_bad_worker_setting_is_a_validation_error():
    engine = postpilot.Engine.in_memory()
    with pytest.raises(postpilot.ValidationError):
        engine.start_worker(poll_interval=0)


def test_a_python_publisher_can_publish_in_steps_and_resume_from_its_checkpoint():
    class Container:
        """Instagram-like: create a container and wait, then publish it from the checkpoint."""

        def __init__(self):
            self.seen = []
            self.published = 0

        def publish(self, post):
            checkpoint = post["checkpoint"]
            self.seen.append(checkpoint)
            if checkpoint is None:
                return {"checkpoint": {"container": "c-1", "stage": "processing"}, "wait_seconds": 0.1}
            if checkpoint["stage"] == "processing":
                return {"checkpoint": {"container": checkpoint["container"], "stage": "publish"}}
            self.published += 1
            return {"remote_id": "ig-" + checkpoint["container"]}

    publisher = Container()
    engine = postpilot.Engine.in_memory(publishers={"facebook": publisher})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)

    first = engine.run_due()
    parked = engine.get_post(user_id=user["id"], post_id=post["id"])
    time.sleep(0.2)
    second = engine.run_due()

    assert (first["processing"], parked["status"], second["posted"]) == (1, "publishing", 1)
    assert publisher.seen == [
        None,
        {"container": "c-1", "stage": "processing"},
        {"container": "c-1", "stage": "publish"},
    ]
    stored = engine.get_post(user_id=user["id"], post_id=post["id"])
    assert (stored["status"], stored["external_id"], publisher.published) == ("posted", "ig-c-1", 1)


def test_a_python_publisher_signals_a_rate_limit_and_the_post_waits_without_using_an_attempt():
    class Limited:
        def publish(self, post):
            raise postpilot.RateLimited(600)

    engine = postpilot.Engine.in_memory(publishers={"facebook": Limited()})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)

    assert engine.run_due()["snoozed"] == 1
    stored = engine.get_post(user_id=user["id"], post_id=post["id"])
    assert (stored["status"], stored["attempts"]) == ("scheduled", 0)
    assert engine.run_due()["claimed"] == 0, "not due again for ten minutes"


def test_a_posts_attempts_show_each_try_and_why_it_failed():
    publisher = Flaky(failures=1)
    engine = postpilot.Engine.in_memory(publishers={"facebook": publisher})
    user, account = merchant_with_account(engine)
    post = engine.create_post(user_id=user["id"], account_id=account["id"], content="Hi", scheduled_for=soon(0.2))
    time.sleep(0.3)
    engine.run_due(retry_base_delay=0.05)
    time.sleep(0.15)
    engine.run_due(retry_base_delay=0.05)

    attempts = engine.get_post_attempts(user_id=user["id"], post_id=post["id"])

    assert [a["outcome"] for a in attempts] == ["retry", "posted"]
    assert "the platform is down" in attempts[0]["error"]
    assert attempts[1]["remote_id"] == "fb-1" and attempts[1]["error"] is None
    with pytest.raises(postpilot.NotFoundError):
        engine.get_post_attempts(user_id=user["id"], post_id=account["id"])
