"""Where gitward keeps its working files when no --state-dir is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.engine.workspace import default_state_dir
from gitward.stores import default_store_url


def test_the_state_directory_and_the_store_share_the_xdg_state_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITWARD_STATE_DIR", raising=False)
    monkeypatch.delenv("GITWARD_STORE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_state_dir() == tmp_path / "state" / "gitward"
    assert default_store_url() == f"sqlite:///{default_state_dir() / 'gitward.db'}"


def test_a_relative_xdg_state_home_is_ignored_as_the_spec_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITWARD_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / ".local" / "state" / "gitward"


def test_gitward_state_dir_wins_and_may_start_with_a_tilde(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GITWARD_STATE_DIR", "~/gw")
    assert default_state_dir() == tmp_path / "gw"
