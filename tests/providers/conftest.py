"""Fixtures for provider tests: a target root in a temp directory and a
connection to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.providers.connection import LocalConnection


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def conn(root: Path) -> LocalConnection:
    return LocalConnection(str(root))
