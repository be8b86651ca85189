"""Writing back to the repository: commits made in the mirror, then pushed.

gitward changes live systems only from Git, so rolling an app back, or bumping
a version, is a commit like any other. These functions make that commit with
pygit2 directly in the bare mirror, without a work tree or an index, and push
it with the git CLI:

    base = source.fetch().revision
    sha = restore_paths_commit(source, base, good_sha, ["apps/web"],
                               "Roll back apps/web to " + good_sha[:12])
    if sha:
        push(source, sha, default_branch(source))

A push is never forced. If the branch moved on since `base` was fetched the
push raises `PushRejectedError`: fetch, rebuild the commit on the new base and
try again. Other push failures (no write permission, unreachable, a server
hook said no) raise `PushError`.
"""

from __future__ import annotations

import pygit2
from pygit2.enums import FileMode

from gitward.core.errors import SourceError
from gitward.sources.errors import PushError, PushRejectedError
from gitward.sources.git import GitSource
from gitward.sources.paths import clean_repo_path

# The push errors are re-exported: whoever pushes catches them from here.
__all__ = ["DEFAULT_AUTHOR_EMAIL", "DEFAULT_AUTHOR_NAME", "PushError", "PushRejectedError",
           "default_branch", "push", "restore_paths_commit"]

DEFAULT_AUTHOR_NAME = "gitward"
DEFAULT_AUTHOR_EMAIL = "gitward@localhost"

_TreeEntry = tuple[pygit2.Oid, int]  # (object id, file mode) as stored in a tree


def restore_paths_commit(source: GitSource, base_revision: str, from_revision: str,
                         paths: list[str], message: str,
                         author_name: str = DEFAULT_AUTHOR_NAME,
                         author_email: str = DEFAULT_AUTHOR_EMAIL) -> str | None:
    """Commit on top of `base_revision` that gives each of `paths` its content at `from_revision`.

    A path may be a file or a directory; one absent at `from_revision` is
    removed, one absent at `base_revision` is added. Returns the new commit's
    SHA (not yet on any branch; see `push`), or None when the tree would not
    change.
    """
    repository = source.repository
    base = source.commit(base_revision)
    source_tree = source.commit(from_revision).tree
    tree_id = base.tree.id
    for path in paths:
        clean = clean_repo_path(path)
        if not clean:
            tree_id = source_tree.id  # the whole repository
            continue
        replacement = _entry_at(source_tree, clean)
        tree_id = _replace_entry(repository, repository[tree_id].peel(pygit2.Tree),
                                 clean.split("/"), replacement) or _empty_tree(repository)
    if tree_id == base.tree.id:
        return None
    author = pygit2.Signature(author_name, author_email)
    text = message if message.endswith("\n") else message + "\n"
    # No ref to update: the commit becomes part of a branch only once pushed.
    return str(repository.create_commit(None, author, author, text, tree_id, [base.id]))


def push(source: GitSource, commit_sha: str, branch: str) -> None:
    """Fast-forward the origin's `branch` to `commit_sha` (made in the mirror); never forced."""
    if branch.startswith("-") or not pygit2.reference_is_valid_name(f"refs/heads/{branch}"):
        raise PushError(f"{branch!r} is not a valid branch name; name a branch of {source.url}")
    commit = source.commit(commit_sha)
    if str(commit.id) != commit_sha.lower():
        raise SourceError(f"push needs the full SHA of a commit, not {commit_sha!r}")
    source.remote.push(source.ensure_mirror(), commit_sha, branch)
    # Keep the mirror in step, so the next commit builds on what was pushed.
    source.repository.references.create(f"refs/heads/{branch}", commit.id, force=True)


def default_branch(source: GitSource) -> str:
    """The branch the origin's HEAD names, asked of the origin now."""
    return source.default_branch()


def _entry_at(tree: pygit2.Tree, path: str) -> _TreeEntry | None:
    """The raw entry at `path` (symlinks not followed: they are restored as links)."""
    try:
        found = tree[path]
    except KeyError:
        return None
    return found.id, found.filemode


def _replace_entry(repository: pygit2.Repository, tree: pygit2.Tree | None, names: list[str],
                   replacement: _TreeEntry | None) -> pygit2.Oid | None:
    """Id of `tree` with the entry at `names` set to `replacement` (None = removed).

    Returns None for a tree left empty, since Git does not keep empty directories.
    """
    builder = repository.TreeBuilder(tree) if tree is not None else repository.TreeBuilder()
    name, rest = names[0], names[1:]
    existing = builder.get(name)
    if not rest:
        if replacement is not None:
            builder.insert(name, replacement[0], replacement[1])
        elif existing is not None:
            builder.remove(name)
    else:
        subtree = existing.peel(pygit2.Tree) if existing is not None and \
            existing.filemode == FileMode.TREE else None
        if subtree is None and replacement is None:
            return tree.id if tree is not None else None  # removing below a file: nothing there
        new_subtree = _replace_entry(repository, subtree, rest, replacement)
        if new_subtree is not None:
            builder.insert(name, new_subtree, FileMode.TREE)
        elif existing is not None:
            builder.remove(name)
    return builder.write() if len(builder) else None


def _empty_tree(repository: pygit2.Repository) -> pygit2.Oid:
    return repository.TreeBuilder().write()
