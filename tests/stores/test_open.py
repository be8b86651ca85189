"""Choosing and opening a store by URL, and what a user sees when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

import gitward.stores
from gitward.core.errors import StoreError
from gitward.stores import default_store_url, open_store, redact_url
from gitward.stores.memory import MemoryStore


def test_the_public_api() -> None:
    assert sorted(gitward.stores.__all__) == ["default_store_url", "open_store", "redact_url"]


def test_memory_url_gives_the_fake() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


def test_the_default_store_is_a_sqlite_file_in_the_xdg_state_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITWARD_STORE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    url = default_store_url()
    assert url == f"sqlite:///{tmp_path / 'state' / 'gitward' / 'gitward.db'}"
    assert (tmp_path / "state" / "gitward").is_dir()
    store = open_store(None)
    store.pin("web", "c0ffee")
    store.close()
    assert (tmp_path / "state" / "gitward" / "gitward.db").is_file()


def test_without_xdg_state_home_the_default_is_under_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITWARD_STORE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_store_url() == f"sqlite:///{tmp_path}/.local/state/gitward/gitward.db"


def test_gitward_store_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_STORE", "memory://")
    assert default_store_url() == "memory://"
    assert isinstance(open_store(None), MemoryStore)


@pytest.mark.parametrize("url", ["mysql://gw:s3cret-pw@db/gitward", "no-scheme-at-all",
                                 "://", "sqlite:/relative-but-one-slash",
                                 "postgresql+nosuch://gw:s3cret-pw@db/x"])
def test_a_url_that_is_no_store_is_refused(url: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert "s3cret-pw" not in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg", "postgres"])
def test_an_unreachable_database_is_named_without_its_password(scheme: str) -> None:
    url = f"{scheme}://gw:s3cret-pw@127.0.0.1:1/gitward?connect_timeout=3"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert message.startswith(f"cannot open store {scheme}://gw:***@127.0.0.1:1/gitward")
    assert "s3cret-pw" not in message
    assert "\n" not in message


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://gw:pa@ss@db:5432/x", "postgresql://gw:***@db:5432/x"),
    ("postgresql://gw@db/x", "postgresql://gw@db/x"),
    ("postgresql://db/x?user=gw&password=pw&sslmode=require",
     "postgresql://db/x?user=gw&password=***&sslmode=require"),
    ("sqlite:////var/lib/gitward/gitward.db", "sqlite:////var/lib/gitward/gitward.db"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
