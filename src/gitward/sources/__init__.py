"""Sources: where the desired state comes from, at one commit.

The first stage of gitward's data flow::

    Source ──fetch──▶ Snapshot(revision, tree) ──render──▶ [Resource] ...

Today the only source is Git (`GitSource`): a bare mirror per repository under
``<state_dir>/sources/``, updated with an incremental ``git fetch`` (the git
CLI, so ssh config and credential helpers apply) and read through pygit2
objects (`GitSnapshot`: no checkout, paths and symlinks kept inside the
repository). `changed_paths` tells the engine which apps a new commit touches.

The way back to Git lives here too (`restore_paths_commit`, `push`,
`default_branch`): a rollback or a version bump is a commit made in the
mirror and pushed, never a change made on a live system.

>>> source = open_source("https://git.example/ops.git", state_dir)  # doctest: +SKIP
>>> source.fetch().revision                                         # doctest: +SKIP
'3f2c...'
"""

from __future__ import annotations

from pathlib import Path

from gitward.sources.commit import default_branch, push, restore_paths_commit
from gitward.sources.errors import (
    FetchError,
    PushError,
    PushRejectedError,
    RefNotFoundError,
    UnsupportedUrlError,
)
from gitward.sources.git import GitSource
from gitward.sources.snapshot import GitSnapshot

__all__ = [
    "FetchError",
    "GitSnapshot",
    "GitSource",
    "PushError",
    "PushRejectedError",
    "RefNotFoundError",
    "UnsupportedUrlError",
    "default_branch",
    "open_source",
    "push",
    "restore_paths_commit",
]


def open_source(url_or_path: str, state_dir: Path | str) -> GitSource:
    """The source for a repository URL or local path, mirrored under `state_dir`.

    Nothing is fetched yet; an unsupported URL raises `UnsupportedUrlError` now.
    """
    return GitSource(url_or_path, Path(state_dir))
