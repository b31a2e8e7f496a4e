"""Shared arrangement: a fresh in-memory engine per test, a merchant, an account."""

import os
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import postpilot

PASSWORD = "correct horse battery"


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def engine() -> postpilot.Engine:
    return postpilot.Engine.in_memory()


@pytest.fixture
def merchant(engine):
    return engine.register(email=f"m-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD)


@pytest.fixture
def account(engine, merchant):
    return engine.connect_account(
        user_id=merchant["id"], platform="facebook", account_name="@shop", account_id_external="fb-1"
    )


@pytest.fixture
def postgres_url():
    """A fresh, empty database on the server named by DATABASE_URL (set by .ci/with-postgres)."""
    server = os.environ.get("DATABASE_URL")
    if not server:
        pytest.fail("DATABASE_URL is not set: run through `bash .ci/with-postgres`")
    name = f"postpilot_py_{uuid.uuid4().hex}"
    subprocess.run(["psql", server, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return server.rsplit("/", 1)[0] + "/" + name


def soon(seconds: float = 0.5) -> datetime:
    return now() + timedelta(seconds=seconds)
