"""The same commands with the store on a real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import SYSTEM, Env, file_manifest

PG_URL = os.environ.get("GITWARD_TEST_POSTGRES_URL")


@pytest.fixture
def pg_store(env: Env) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("GITWARD_TEST_POSTGRES_URL is not set; run scripts/test.sh")
    import psycopg

    name = f"gitward_e2e_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    env.store = f"{base}/{name}"
    yield env.store
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_sync_history_and_rollback_on_postgres(env: Env, pg_store: str) -> None:
    first = env.commit({"gitward.yaml": SYSTEM,
                        "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "v2\n")}, "v2")
    assert env.cli("sync", "web").code == 0
    rolled = env.cli("rollback", "web", "--output", "json")
    assert rolled.code == 0, rolled.stderr
    assert rolled.json()["to"] == first
    assert env.read("/srv/a") == "v1\n"
    runs = env.history("web")
    assert [r["trigger"] for r in runs] == ["rollback", "manual", "manual"]
    assert all(r["outcome"] == "succeeded" for r in runs)
