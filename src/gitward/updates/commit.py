"""Committing bumps: one commit in the bare mirror, pushed without force.

The updater's second half. A `CommitGroup` is the bumps that go into one
commit (all of a run, or one policy's). For each group the branch is fetched,
the edits are made again on its head — the markers are re-read there, so a
change pushed since the plan is kept and a value someone already bumped is
left alone — and a commit is built with pygit2 straight into the mirror's
object database (no work tree), then pushed:

- mode ``push``: to the branch itself, a fast-forward;
- mode ``branch``: to a new branch ``gitward/update/<policy>-<version>`` made
  from the branch head, for review; if that branch already exists the bump
  is already proposed and nothing is pushed (an existing branch is never
  moved or deleted).

When the branch moved between fetch and push (`PushRejectedError`) the loop
fetches again and rebuilds the commit on the new head, up to `MAX_ATTEMPTS`
times. Nothing is ever force-pushed, no ref is deleted, and when the edits
change nothing no commit is made. Commits can be signed with an SSH key
(``ssh-keygen -Y sign``) or a GPG key, as ``git commit -S`` would.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

import pygit2
from pygit2.enums import FileMode

from gitward.sources.commit import push
from gitward.sources.errors import PushError, PushRejectedError
from gitward.sources.git import GitSource
from gitward.updates.errors import UpdateCommitError
from gitward.updates.plan import ProposedBump, bumps_for, edited_files, markers_at
from gitward.updates.policy import CommitSettings, Signing, UpdatePolicy

__all__ = ["BRANCH_PREFIX", "MAX_ATTEMPTS", "CommitGroup", "CommitResult", "commit_group",
           "group_bumps", "update_branch_name"]

BRANCH_PREFIX = "gitward/update/"
MAX_ATTEMPTS = 5
_UNSAFE_IN_BRANCH = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class CommitGroup:
    """Bumps that become one commit, with the settings they share."""

    settings: CommitSettings
    versions: dict[str, str]  # policy -> version
    bumps: list[ProposedBump]


@dataclass(frozen=True, slots=True)
class CommitResult:
    """A pushed commit (or an update branch that was already there)."""

    sha: str | None
    branch: str
    bumps: list[ProposedBump]
    attempts: int
    already_proposed: bool = False


def update_branch_name(policy: str, version: str) -> str:
    """``gitward/update/web-image-1.5.0``; characters refs refuse become ``-``."""
    return BRANCH_PREFIX + _UNSAFE_IN_BRANCH.sub("-", f"{policy}-{version}").strip(".-")


def group_bumps(bumps: list[ProposedBump], policies: Mapping[str, UpdatePolicy]
                ) -> list[CommitGroup]:
    """Bumps split into commits: one per policy where asked (or in branch mode), and one
    for the rest of the run per set of identical commit settings."""
    groups: dict[str, CommitGroup] = {}
    for bump in bumps:
        policy = policies[bump.policy]
        settings = policy.commit
        key = f"policy:{policy.name}" if policy.per_policy else \
            "run:" + settings.model_dump_json()
        group = groups.setdefault(key, CommitGroup(settings, {}, []))
        group.versions[bump.policy] = bump.new_version
        group.bumps.append(bump)
    return list(groups.values())


def commit_group(source: GitSource, branch: str, group: CommitGroup,
                 policies: Mapping[str, UpdatePolicy], *,
                 max_attempts: int = MAX_ATTEMPTS) -> CommitResult | None:
    """Build `group`'s commit on `branch`'s current head and push it.

    None when, at the head, nothing is left to change. Raises
    `UpdateCommitError` when the origin refuses the push for a reason other
    than a race, or keeps moving for `max_attempts` tries.
    """
    paths = {bump.path for bump in group.bumps}
    target = branch
    if group.settings.mode == "branch":
        (policy, version), = group.versions.items()
        target = update_branch_name(policy, version)
    for attempt in range(1, max_attempts + 1):
        head = source.fetch(branch)
        if target != branch and f"refs/heads/{target}" in source.repository.references:
            return CommitResult(None, target, group.bumps, attempt, already_proposed=True)
        markers = markers_at(head, paths, group.versions)
        bumps = bumps_for(markers, policies, group.versions)
        if not bumps:
            return None
        files = edited_files(head, bumps)
        sha = _commit(source, head.revision, files, commit_message(group.settings, bumps),
                      group.settings)
        if sha is None:
            return None
        try:
            push(source, sha, target)
        except PushRejectedError:
            continue  # the branch moved on: fetch, re-apply on its new head, try again
        except PushError as error:
            raise UpdateCommitError(f"the update commit was not pushed: {error}") from None
        return CommitResult(sha, target, bumps, attempt)
    raise UpdateCommitError(f"branch {target!r} of {source.url} kept moving; gave up after "
                            f"{max_attempts} attempts to rebuild the update on its head; the "
                            "next run tries again")


def commit_message(settings: CommitSettings, bumps: list[ProposedBump]) -> str:
    """The commit message from the settings' template.

    >>> from gitward.updates.policy import CommitSettings
    >>> commit_message(CommitSettings(message="Update {summary}"), [])
    'Update versions\\n'
    """
    by_policy: dict[str, str] = {}
    for bump in bumps:
        by_policy[bump.policy] = bump.new_version
    summary = ", ".join(f"{p} to {v}" for p, v in by_policy.items()) or "versions"
    changes = "\n".join(f"- {b.where} ({b.policy}): {b.old} → {b.new}" for b in bumps)
    text = settings.message.format_map({"summary": summary, "changes": changes,
                                        "policies": ", ".join(by_policy)})
    return text.strip() + "\n"


def _commit(source: GitSource, base: str, files: Mapping[str, bytes], message: str,
            settings: CommitSettings) -> str | None:
    """A commit on top of `base` with `files` replaced; None if the tree is unchanged."""
    repository = source.repository
    parent = source.commit(base)
    tree_id = parent.tree.id
    for path, data in sorted(files.items()):
        blob = repository.create_blob(data)
        tree_id = _set_blob(repository, repository[tree_id].peel(pygit2.Tree), path.split("/"),
                            blob)
    if tree_id == parent.tree.id:
        return None
    author = pygit2.Signature(settings.author.name, settings.author.email)
    if settings.signing is None:
        return str(repository.create_commit(None, author, author, message, tree_id,
                                            [parent.id]))
    # The stubs say Oid; pygit2 returns the commit object's text, to be signed.
    content = str(repository.create_commit_string(author, author, message, tree_id,
                                                  [parent.id]))
    signature = _sign(content, settings.signing)
    return str(repository.create_commit_with_signature(content, signature, "gpgsig"))


def _set_blob(repository: pygit2.Repository, tree: pygit2.Tree, names: list[str],
              blob: pygit2.Oid) -> pygit2.Oid:
    """Id of `tree` with the existing file at `names` given the content `blob`."""
    builder = repository.TreeBuilder(tree)
    name = names[0]
    entry = builder.get(name)
    if entry is None:
        raise UpdateCommitError(f"{'/'.join(names)} vanished while committing; retry")
    if len(names) == 1:
        builder.insert(name, blob, entry.filemode)
    else:
        builder.insert(name, _set_blob(repository, entry.peel(pygit2.Tree), names[1:], blob),
                       FileMode.TREE)
    return builder.write()


def _sign(content: str, signing: Signing) -> str:
    if signing.format == "ssh":
        command = ["ssh-keygen", "-Y", "sign", "-q", "-n", "git", "-f", signing.key]
    else:
        command = ["gpg", "--batch", "--armor", "--detach-sign", "--local-user", signing.key]
    try:
        done = subprocess.run(command, input=content, capture_output=True, text=True,
                              timeout=60, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        raise UpdateCommitError(f"cannot sign the update commit with {command[0]}: "
                                f"{type(error).__name__}; install it or remove "
                                "commit.signing") from None
    if done.returncode != 0 or not done.stdout.strip():
        reason = (done.stderr.strip().splitlines() or ["no signature"])[-1]
        raise UpdateCommitError(f"signing the update commit with {signing.format} key "
                                f"{signing.key!r} failed: {reason}; check the key")
    return done.stdout
