"""Sources: where the desired state comes from, at one commit.

The first stage of gitward's data flow::

    Source ──fetch──▶ Snapshot(revision, tree) ──render──▶ [Resource] ...

Today the only source is Git (`GitSource`): a bare mirror per repository under
``<state_dir>/sources/``, updated with an incremental ``git fetch`` (the git
CLI, so ssh config and credential helpers apply) and read from its objects,
through pygit2 or one ``git cat-file`` process (`GitSnapshot`: no checkout,
paths and symlinks kept inside the repository). `changed_paths` tells the
engine which apps a new commit touches.

The way back to Git lives here too (`restore_paths_commit`, `push`,
`default_branch`): a rollback or a version bump is a commit made in the
mirror and pushed, never a change made on a live system.

>>> source = open_source("https://git.example/ops.git", state_dir)  # doctest: +SKIP
>>> source.fetch().revision                                         # doctest: +SKIP
'3f2c...'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitward.sources.errors import (
    FetchError,
    MirrorReadError,
    PushError,
    PushRejectedError,
    RefNotFoundError,
    UnsupportedUrlError,
)
from gitward.sources.git import GitSource
from gitward.sources.objects import ObjectsKind
from gitward.sources.snapshot import GitSnapshot

__all__ = [
    "FetchError",
    "GitSnapshot",
    "GitSource",
    "MirrorReadError",
    "ObjectsKind",
    "PushError",
    "PushRejectedError",
    "RefNotFoundError",
    "UnsupportedUrlError",
    "default_branch",
    "open_source",
    "push",
    "restore_paths_commit",
]


def __getattr__(name: str) -> Any:
    # The way back to Git writes objects through pygit2: loaded when first used.
    if name in ("default_branch", "push", "restore_paths_commit"):
        from gitward.sources import commit

        return getattr(commit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_source(url_or_path: str, state_dir: Path | str, *,
                objects: ObjectsKind = "pygit2") -> GitSource:
    """The source for a repository URL or local path, mirrored under `state_dir`.

    Nothing is fetched yet; an unsupported URL raises `UnsupportedUrlError` now.
    `objects` chooses how snapshots read objects: ``"pygit2"`` (a long-running
    process) or ``"git"`` (a one-shot command: no libgit2 to load).
    """
    return GitSource(url_or_path, Path(state_dir), objects=objects)
