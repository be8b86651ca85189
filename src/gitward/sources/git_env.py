"""The environment every ``git`` command gitward runs gets, so each one acts on the mirror.

Two places start git: `gitward.sources.remote` for the network (fetch,
ls-remote, push) and `gitward.sources.catfile` for reading objects. Both run
``git -C <mirror> ...`` with `git_env()`: the caller's environment minus the
variables that would point git at another repository (set, for instance,
when gitward runs from a Git hook), with prompts turned off and protocols
allow-listed, and in the C locale because messages are parsed.
"""

from __future__ import annotations

import os

from gitward.sources.urls import ALLOWED_SCHEMES

__all__ = ["REPOSITORY_ENV", "git_env"]

# Variables that would point git at another repository than the mirror.
REPOSITORY_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
                  "GIT_PREFIX")


def git_env() -> dict[str, str]:
    """The environment for a git command run on the mirror."""
    env = {name: value for name, value in os.environ.items() if name not in REPOSITORY_ENV}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",  # Git Credential Manager: fail instead of opening a dialog
        SSH_ASKPASS_REQUIRE="never",
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_SCHEMES),
        LC_ALL="C",  # messages are parsed; keep them in one language
    )
    return env
