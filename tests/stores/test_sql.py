"""What only the SQL store does: files that outlive the process, migrations."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import gitward.stores as stores_package
from gitward.core.errors import StoreError
from gitward.core.model import Health, Outcome
from gitward.core.seams import AppState
from gitward.stores import open_store
from gitward.stores.schema import HEAD_REVISION, metadata

from .builders import applied, create, plan_of, resource
from .conftest import POSTGRES_URL

if TYPE_CHECKING:
    from alembic.config import Config


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gitward.db'}"


def test_a_reopened_store_keeps_everything(sqlite_url: str) -> None:
    motd = resource("motd")
    with open_store(sqlite_url) as store:  # type: ignore[attr-defined]
        run = store.begin("web", "c0ffee", plan_of(create(motd)))
        store.result(run, applied(create(motd)))
        store.finish(run, "succeeded", Health.healthy)
        store.save_backup("local", "fs:/etc/motd", motd.key, b"old")

    with open_store(sqlite_url) as store:  # type: ignore[attr-defined]
        assert [r.outcome for r in store.history("web")] == [Outcome.succeeded]
        assert store.inventory("web") == {motd.key: motd}
        assert store.load_backup("local", "fs:/etc/motd") == b"old"


def _imports_alembic_when_opening(url: str) -> bool:
    code = ("import sys; from gitward.stores import open_store; "
            f"store = open_store({url!r}); store.apps(); store.close(); "
            "print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip() == "True"


def test_only_a_store_that_needs_migrating_loads_alembic(sqlite_url: str) -> None:
    assert not _imports_alembic_when_opening(sqlite_url)   # fresh: the bundled schema
    assert not _imports_alembic_when_opening(sqlite_url)   # at head: nothing to do


def test_the_bundled_sqlite_schema_is_what_the_migrations_build(tmp_path: Path) -> None:
    """sqlite_schema.sql must be written again (python -m gitward.stores.sql_migrations)
    whenever a revision is added."""
    from gitward.stores.sql_connection import SqlConnection
    from gitward.stores.sql_migrations import SQLITE_SCHEMA, dump_sqlite_schema

    by_alembic, bundled = tmp_path / "alembic.db", tmp_path / "bundled.db"
    SqlConnection(f"sqlite:///{by_alembic}", use_bundled_schema=False).close()
    SqlConnection(f"sqlite:///{bundled}").close()
    assert dump_sqlite_schema(by_alembic) == SQLITE_SCHEMA.read_text()
    assert dump_sqlite_schema(bundled) == SQLITE_SCHEMA.read_text()


def test_everyday_use_of_a_sqlite_store_loads_neither_sqlalchemy_nor_alembic(
        sqlite_url: str) -> None:
    # Importing SQLAlchemy alone takes longer than a whole no-op sync may.
    open_store(sqlite_url).close()  # created and migrated: at the head revision
    code = textwrap.dedent(f"""
        import json, sys
        from gitward.core.model import Health
        from gitward.stores import open_store
        from tests.stores.builders import applied, create, plan_of, resource

        motd = resource("motd")
        with open_store({sqlite_url!r}) as store:
            store.interrupt_running("web")
            run = store.begin("web", "c0ffee", plan_of(create(motd)))
            store.result(run, applied(create(motd)))
            store.finish(run, "succeeded", Health.healthy)
            store.note_synced("web", "c0ffee", "tree1")
            store.event("web", "synced", "succeeded at c0ffee", data={{"run": run}})
            seen = {{"inventory": [k.name for k in store.inventory("web")],
                     "history": [r.outcome.value for r in store.history("web")],
                     "tree": store.app_state("web").tree_id,
                     "events": [e["data"] for e in store.events("web")],
                     "loaded": [m for m in ("sqlalchemy", "alembic") if m in sys.modules]}}
        print(json.dumps(seen))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"inventory": ["motd"], "history": ["succeeded"],
                                       "tree": "tree1", "events": [{"run": 1}], "loaded": []}


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(stores_package.__file__).with_name(
        "migrations")))
    return config


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_a_store_of_an_older_gitward_is_upgraded_and_keeps_its_data(
        backend: str, sqlite_url: str, request: pytest.FixtureRequest) -> None:
    import sqlalchemy as sa
    from alembic import command

    from gitward.stores.sql import engine_url

    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:  # what gitward wrote before users and suspensions
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.exec_driver_sql("INSERT INTO app_state (app, pinned) VALUES ('web', 'c0ffee')")
    finally:
        engine.dispose()

    with open_store(url) as store:  # type: ignore[attr-defined]
        assert store.app_state("web") == AppState("web", pinned="c0ffee", suspended=False)
        store.add_user("ada", "scrypt$hash", "viewer")
        assert [u["name"] for u in store.users()] == ["ada"]
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            assert version == HEAD_REVISION
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    open_store(sqlite_url).close()
    with sqlite3.connect(tmp_path / "gitward.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_two_processes_share_one_sqlite_store(sqlite_url: str) -> None:
    # The agent begins a run; a second store on the file (the CLI) sees it
    # and can add to it, e.g. after the first process died.
    a, b = resource("a"), resource("b")
    plan = plan_of(create(a), create(b))
    agent, cli = open_store(sqlite_url), open_store(sqlite_url)
    try:
        run = agent.begin("web", "c0ffee", plan)
        agent.result(run, applied(plan.changes[0]))
        assert cli.history("web")[0].outcome is Outcome.running
        cli.result(run, applied(plan.changes[1]))
        cli.finish(run, "succeeded", Health.healthy)
        recorded = agent.run(run)
        assert recorded is not None
        assert [r.key.name for r in recorded.results] == ["a", "b"]
        assert set(agent.inventory("web")) == {a.key, b.key}
    finally:
        agent.close()
        cli.close()


def test_a_read_only_store_is_read_and_a_write_names_the_store_and_the_cause(
        tmp_path: Path) -> None:
    path = tmp_path / "gitward.db"
    with open_store(f"sqlite:///{path}") as store:  # type: ignore[attr-defined]
        store.pin("web", "c0ffee")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    with open_store(read_only) as store:  # type: ignore[attr-defined]
        assert store.app_state("web").pinned == "c0ffee"
        with pytest.raises(StoreError, match=r"^store sqlite:///file:.*readonly database"):
            store.pin("web", None)
        assert store.app_state("web").pinned == "c0ffee"


def test_sqlite_options_need_uri_true(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"gitward.db\?mode=ro: SQLite options need uri=true"):
        open_store(f"sqlite:///{tmp_path / 'gitward.db'}?mode=ro")


def test_an_in_memory_sqlite_store_is_migrated_and_used() -> None:
    with open_store("sqlite://") as store:  # type: ignore[attr-defined]
        store.pin("web", "c0ffee")
        assert [a.pinned for a in store.apps()] == ["c0ffee"]


def test_a_store_from_a_newer_gitward_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    open_store(sqlite_url).close()
    with sqlite3.connect(tmp_path / "gitward.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"9999.*newer gitward"):
        open_store(sqlite_url)


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, just some notes\n" * 100)
    with pytest.raises(StoreError, match=r"cannot open store sqlite:///.*notes.txt"):
        open_store(f"sqlite:///{tmp_path / 'notes.txt'}")


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"directory .*nowhere does not exist"):
        open_store(f"sqlite:///{tmp_path / 'nowhere' / 'gitward.db'}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_the_migrations_build_exactly_the_schema_the_code_queries(
        backend: str, sqlite_url: str, request: pytest.FixtureRequest) -> None:
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from gitward.stores.sql import engine_url

    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    open_store(url).close()
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == HEAD_REVISION
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == HEAD_REVISION


@pytest.mark.postgres
def test_a_database_user_that_may_not_create_tables_is_told_so(postgres_url: str) -> None:
    import psycopg

    role = f"gitward_reader_{uuid.uuid4().hex[:8]}"
    schema = postgres_url.rpartition("%3D")[2]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    try:
        as_reader = postgres_url.replace("postgres@", f"{role}@", 1)
        with pytest.raises(StoreError, match=r"cannot migrate store .*permission denied"):
            open_store(as_reader)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
            conn.execute(f"DROP ROLE {role}")
