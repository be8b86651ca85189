"""Every store test runs against every store.

`store_url` is parametrised over the three stores gitward ships: the
in-memory fake, SQLite in a file under the test's tmp_path, and PostgreSQL
when GITWARD_TEST_POSTGRES_URL is set (start one with
``scripts/postgres-for-tests.sh``). Each PostgreSQL test gets a schema of its
own, so every test also migrates a fresh database, and the schema is dropped
afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.core.seams import Store
from gitward.stores import open_store

POSTGRES_URL = os.environ.get("GITWARD_TEST_POSTGRES_URL", "")
SKIP_POSTGRES = ("GITWARD_TEST_POSTGRES_URL is not set; start a server with "
                 "scripts/postgres-for-tests.sh (or run scripts/test.sh)")

TABLES = ("runs", "results", "inventory", "backups", "events", "app_state", "users",
          "api_tokens")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL store URL whose tables live in a fresh schema."""
    if not POSTGRES_URL:
        pytest.skip(SKIP_POSTGRES)
    import psycopg

    schema = f"gitward_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once; tests copy it (test_sql.py migrates afresh)."""
    path = tmp_path_factory.mktemp("template") / "gitward.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        path = tmp_path / "gitward.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def raw_contents(store: Store, url: str) -> str:
    """Everything the store holds, as stored: the SQLite file and its WAL, every
    PostgreSQL row as text, the fake's dicts."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    if url.startswith("postgresql"):
        import psycopg

        schema = url.rpartition("%3D")[2]
        with psycopg.connect(POSTGRES_URL) as conn:
            return "\n".join(str(conn.execute(f"SELECT string_agg(t::text, ' ') FROM "
                                              f"{schema}.{table} t").fetchone())
                             for table in TABLES)
    return repr(vars(store))
