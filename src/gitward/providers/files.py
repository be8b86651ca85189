"""Files, directories and symlinks on a host: the File, Directory and Symlink kinds.

A rendered manifest's spec is checked by `FileSpec`, `DirectorySpec` or
`SymlinkSpec` (`file_specs.py`) and normalised by `FilesProvider.describe`:
modes become four octal digits, numeric owners become ints, and a File gains
the ``sha256`` of its content, which is what gets compared (the content
itself stays in the desired spec so that apply can write it). Every resource
claims ``fs:<path>`` so that two resources cannot manage one path.

`read` lstats each path through the `Connection` and says what is there: a
live spec with ``type`` (file, dir, symlink, other), mode, uid/gid (plus owner
and group in the form the desired spec uses, names or ids) and, for a file,
size, sha256 and the stat facts that make the stat cache work: when the file's
size, mtime, ctime, inode, mode and owner all equal those `recorded` at the
last apply, the recorded sha256 is reused and the file is not read. (Writing a
file changes its ctime, which no user can set back, so the cache is fooled
only by someone who changes the clock.) When a small UTF-8 file differs from
what is wanted, the live spec carries its text so a diff can show the lines.

`diff` is pure: create when nothing is there, replace when something of
another type is, update naming the fields that differ (``spec.content`` for
the bytes, redacted when the resource is sensitive), else noop. `apply`
writes through `Connection.write_file_atomic` (one temp file, fsync, rename)
and creates missing parent directories; `apply_many` (`BatchApplicable`)
writes a wave's files through `Connection.write_files_atomic`, which makes
them all durable with one barrier before renaming any. Deleting a directory
that is not empty fails rather than deleting what gitward did not write.

Backups (`Backupable`): before gitward first takes over a path that already
existed, the engine calls `backup`, which returns a small envelope, one JSON
header line (type, mode, uid, gid, link target) then the old bytes; on prune
`restore` puts that back instead of deleting.
"""

from __future__ import annotations

import errno
import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from gitward.core.diff import diff_specs
from gitward.core.errors import GitwardError
from gitward.core.model import Action, Change, DiffItem, Health, Key, Resource
from gitward.core.seams import Described
from gitward.core.validation import as_data
from gitward.providers.connection import Connection, FileStat, FileWrite
from gitward.providers.errors import ProviderError, TargetIOError
from gitward.providers.file_content import (
    TEXT_DIFF_LIMIT,
    add_text,
    desired_sha,
    file_bytes,
    shown_content,
    summary,
)
from gitward.providers.file_facts import cached_sha, shown_id, stat_facts
from gitward.providers.spec_models import SpecModels

__all__ = ["FilesProvider"]

BACKUP_FORMAT = "gitward-backup/1"
_TYPE_OF_KIND = {"File": "file", "Directory": "dir", "Symlink": "symlink"}
T = TypeVar("T")


# -- the provider -------------------------------------------------------------

class FilesProvider:
    """File, Directory and Symlink on one target, through a `Connection`.

    >>> provider = FilesProvider(LocalConnection("/tmp/t"))  # doctest: +SKIP
    >>> provider.read([motd])  # {} while /tmp/t/etc/motd does not exist  # doctest: +SKIP
    """

    kinds: ClassVar[frozenset[str]] = frozenset(_TYPE_OF_KIND)
    spec_models: ClassVar[Mapping[str, type[Any]]] = SpecModels(
        "gitward.providers.file_specs",
        {"File": "FileSpec", "Directory": "DirectorySpec", "Symlink": "SymlinkSpec"})

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @classmethod
    def describe(cls, kind: str, spec: Any) -> Described:
        """The normalised spec the planner compares, its claim and secret fields."""
        data = as_data(spec, exclude=("sensitive",))
        if kind == "File":
            data["sha256"] = hashlib.sha256(file_bytes(data)).hexdigest()
        secret = getattr(spec, "sensitive", False)
        return Described(data, claim=f"fs:{data['path']}",
                         sensitive=frozenset({"content", "content_base64"}) if secret
                         else frozenset())

    @classmethod
    def with_content(cls, resource: Resource, content: Mapping[str, str]) -> Resource:
        """`resource` (a described File) with new content fields and their sha256: what
        `describe` gives when only the bytes of the file's ``source:`` changed."""
        spec = {k: v for k, v in resource.spec.items()
                if k not in ("content", "content_base64", "sha256")}
        spec.update(content)
        spec["sha256"] = hashlib.sha256(file_bytes(spec)).hexdigest()
        return Resource(resource.key, spec, resource.wave, resource.depends_on, resource.prune,
                        resource.claim, resource.origin, resource.sensitive)

    # -- read ----------------------------------------------------------------

    def read(self, resources: Collection[Resource],
             recorded: Mapping[Key, Resource] | None = None) -> dict[Key, Resource]:
        recorded = recorded or {}
        live: dict[Key, Resource] = {}
        missing = self._missing_parents(resources)
        for res in resources:
            if _parent(res.spec["path"]) in missing:
                continue
            found = self._read_one(res, recorded.get(res.key))
            if found is not None:
                live[res.key] = found
        return live

    def _missing_parents(self, resources: Collection[Resource]) -> set[str]:
        """The directories of many resources that do not exist: nothing under
        them is there either, and one lstat says so for all (a first converge
        reads a tree that is not there yet)."""
        by_parent: dict[str, int] = {}
        for res in resources:
            parent = _parent(res.spec["path"])
            by_parent[parent] = by_parent.get(parent, 0) + 1
        return {parent for parent, count in by_parent.items()
                if count > 1 and parent != "/" and self.connection.stat(parent) is None}

    def _read_one(self, res: Resource, before: Resource | None) -> Resource | None:
        path = res.spec["path"]
        st = self.connection.stat(path)
        if st is None:
            return None
        spec = self._stat_facts(res, st)
        if st.kind == "file" and res.key.kind == "File":
            cached, wanted = cached_sha(before, spec), res.spec.get("sha256")
            showable = not res.sensitive and st.size < TEXT_DIFF_LIMIT
            if cached is not None and (cached == wanted or not showable):
                spec["sha256"] = cached
            else:  # not cached, or about to be updated: read it for the diff's text
                data = self.connection.read_file(path)
                if data is None:
                    return None  # removed between lstat and read
                spec["sha256"] = hashlib.sha256(data).hexdigest()
                if spec["sha256"] != wanted and showable:
                    add_text(spec, data)
        elif st.kind == "symlink":
            spec["target"] = self.connection.readlink(path)
        return Resource(res.key, spec, claim=res.claim, sensitive=res.sensitive)

    def _stat_facts(self, res: Resource, st: FileStat) -> dict[str, Any]:
        spec = stat_facts(res.spec["path"], st)
        if "owner" in res.spec:
            spec["owner"] = shown_id(res.spec["owner"], st.uid, self.connection.user_name)
        if "group" in res.spec:
            spec["group"] = shown_id(res.spec["group"], st.gid, self.connection.group_name)
        return spec

    # -- diff (pure) -----------------------------------------------------------

    def diff(self, desired: Resource, live: Resource | None) -> Change:
        if live is None:
            return Change(desired.key, Action.create, desired, None)
        wanted_type = _TYPE_OF_KIND[desired.key.kind]
        if live.spec.get("type") != wanted_type:
            item = DiffItem("change", "spec.type", live.spec.get("type"), wanted_type)
            return Change(desired.key, Action.replace, desired, live, (item,))
        compared = ("mode", "target", "owner", "group")
        want = {k: desired.spec[k] for k in compared if k in desired.spec}
        have = {k: live.spec[k] for k in want if k in live.spec}
        if desired.key.kind == "File" and live.spec.get("sha256") != desired_sha(desired.spec):
            want["content"] = shown_content(desired.spec)
            have["content"] = live.spec.get("content", summary(live.spec))
        fields = diff_specs(want, have, sensitive={"content"} if desired.sensitive else ())
        return Change(desired.key, Action.update if fields else Action.noop, desired, live,
                      fields)

    # -- apply, delete, health -------------------------------------------------

    def apply(self, change: Change) -> Resource:
        desired = change.desired
        if desired is None:
            raise ProviderError(f"{change.key}: apply needs a desired resource; use delete")
        if change.action is Action.replace and change.live is not None:
            self._clear_for(desired, change.live)
        if desired.key.kind == "File":
            return self._apply_file(change, desired)
        spec, path = desired.spec, desired.spec["path"]
        owner, group = spec.get("owner"), spec.get("group")
        if desired.key.kind == "Directory":
            self.connection.mkdir(path, int(spec["mode"], 8), owner, group)
        else:
            self._with_parents(path, lambda: self.connection.symlink(
                path, spec["target"], owner, group))
        return self._read_after(desired, "written")

    def apply_many(self, changes: Sequence[Change]) -> list[Resource | Exception]:
        """`apply` for each change, the files among them written together with
        one durability barrier (`Connection.write_files_atomic`)."""
        outcomes: list[Resource | Exception | None] = [None] * len(changes)
        writes: dict[int, FileWrite] = {}
        for index, change in enumerate(changes):
            if _plain_write(change):
                writes[index] = _file_write(change)
                continue
            try:
                outcomes[index] = self.apply(change)
            except Exception as error:
                outcomes[index] = error
        stats = self._write_with_parents(writes)
        for index, st in stats.items():
            desired = changes[index].desired
            assert desired is not None
            outcomes[index] = st if isinstance(st, Exception) else \
                self._written(desired, st, hashlib.sha256(writes[index].data).hexdigest())
        return [outcome for outcome in outcomes if outcome is not None]

    def _write_with_parents(self, writes: Mapping[int, FileWrite]
                            ) -> dict[int, FileStat | GitwardError]:
        """`write_files_atomic` once each missing directory is made; a write
        whose directory cannot be made fails with the reason."""
        unmade = self._make_parents({_parent(write.path) for write in writes.values()})
        stats: dict[int, FileStat | GitwardError] = {
            index: unmade[_parent(write.path)] for index, write in writes.items()
            if _parent(write.path) in unmade}
        todo = [index for index in writes if index not in stats]
        stats.update(zip(todo, self.connection.write_files_atomic([writes[i] for i in todo]),
                         strict=True))
        return stats

    def _make_parents(self, directories: Collection[str]) -> dict[str, GitwardError]:
        """Make each of `directories` that is missing (0755, as `apply` would);
        the error of each that cannot be."""
        unmade: dict[str, GitwardError] = {}
        for directory in sorted(directories):
            try:
                if directory != "/" and self.connection.stat(directory) is None:
                    self.connection.mkdir(directory, 0o755)
            except GitwardError as error:
                unmade[directory] = error
        return unmade

    def _apply_file(self, change: Change, desired: Resource) -> Resource:
        spec, path = desired.spec, desired.spec["path"]
        owner, group, mode = spec.get("owner"), spec.get("group"), int(spec["mode"], 8)
        if _same_bytes(change):  # only mode or owner drifted: no need to rewrite
            self.connection.chown(path, owner, group)
            self.connection.chmod(path, mode)
            st, sha = self.connection.stat(path), desired_sha(spec)
        else:
            data = file_bytes(spec)
            sha = hashlib.sha256(data).hexdigest()
            st = self._with_parents(path, lambda: self.connection.write_file_atomic(
                path, data, mode, owner, group))
        if st is None:
            raise ProviderError(f"{desired.key}: {path} vanished right after it was written")
        return self._written(desired, st, sha)

    def _written(self, desired: Resource, st: FileStat, sha: str) -> Resource:
        # Built from the stat of the write rather than read back: the stat cache
        # of the next read then starts from exactly this state.
        return Resource(desired.key, {**self._stat_facts(desired, st), "sha256": sha},
                        claim=desired.claim, sensitive=desired.sensitive)

    def _read_after(self, res: Resource, done: str) -> Resource:
        after = self._read_one(res, None)
        if after is None:
            raise ProviderError(f"{res.key}: {res.spec['path']} vanished right after it was {done}")
        return after

    def delete(self, live: Resource) -> None:
        path, wanted_type = live.spec["path"], _TYPE_OF_KIND[live.key.kind]
        st = self.connection.stat(path)
        if st is None:
            return
        if st.kind != wanted_type:
            raise ProviderError(f"{live.key}: {path} is now a {st.kind}, not the {wanted_type} "
                                "gitward wrote, so it was left in place; remove it by hand")
        if st.kind == "dir":
            self._rmdir(live.key, path, "prune it")
        else:
            self.connection.remove(path)

    def health(self, live: Resource | None) -> Health:
        if live is None:
            return Health.missing
        if live.spec.get("type") != _TYPE_OF_KIND[live.key.kind]:
            return Health.degraded
        return Health.healthy

    # -- backups ---------------------------------------------------------------

    def backup(self, live: Resource) -> bytes:
        """What is at the live path now, as an envelope `restore` can put back."""
        path = live.spec["path"]
        st = self.connection.stat(path)
        if st is None:
            raise ProviderError(f"{live.key}: nothing at {path} to back up")
        header: dict[str, Any] = {"format": BACKUP_FORMAT, "path": path, "type": st.kind,
                                  "mode": st.mode, "uid": st.uid, "gid": st.gid}
        body = b""
        if st.kind == "file":
            body = self.connection.read_file(path) or b""
        elif st.kind == "symlink":
            header["target"] = self.connection.readlink(path)
        elif st.kind == "other":
            raise ProviderError(f"{live.key}: {path} is a device, socket or fifo, which "
                                "gitward cannot back up; move it away, then sync again")
        return json.dumps(header).encode() + b"\n" + body

    def restore(self, live: Resource, saved: bytes) -> Resource:
        """Put back what `backup` saved at the live path, atomically for files."""
        header_line, _, body = saved.partition(b"\n")
        header = json.loads(header_line)
        path = live.spec["path"]
        if header.get("format") != BACKUP_FORMAT or header.get("path") != path:
            raise ProviderError(f"{live.key}: the saved backup is not one of {path}; "
                                "keeping the current content")
        current = self.connection.stat(path)
        if current is not None and (current.kind == "dir") != (header["type"] == "dir"):
            if current.kind == "dir":
                self._rmdir(live.key, path, "restore the backup")
            else:
                self.connection.remove(path)
        mode, uid, gid = header["mode"], header["uid"], header["gid"]
        if header["type"] == "dir":
            self.connection.mkdir(path, mode, uid, gid)
        elif header["type"] == "symlink":
            self._with_parents(path, lambda: self.connection.symlink(
                path, header["target"], uid, gid))
        else:
            self._with_parents(path, lambda: self.connection.write_file_atomic(
                path, body, mode, uid, gid))
        return self._read_after(live, "restored")

    # -- helpers ---------------------------------------------------------------

    def _with_parents(self, path: str, write: Callable[[], T]) -> T:
        """Run `write`; if the parent directory is missing, create it and retry."""
        try:
            return write()
        except TargetIOError as exc:
            if exc.errno != errno.ENOENT:
                raise
            self.connection.mkdir(_parent(path), 0o755)
            return write()

    def _clear_for(self, wanted: Resource, live: Resource) -> None:
        """Remove what stands where `wanted` goes, unless a rename replaces it anyway."""
        path = live.spec["path"]
        if live.spec.get("type") == "dir":
            self._rmdir(wanted.key, path, f"put a {wanted.key.kind} there")
        elif wanted.key.kind == "Directory":  # a file or link renames over the rest
            self.connection.remove(path)

    def _rmdir(self, key: Key, path: str, purpose: str) -> None:
        try:
            self.connection.rmdir(path)
        except TargetIOError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise ProviderError(f"{key}: cannot {purpose}: directory {path} is not empty; "
                                "move its contents away, or set gitward/prune: \"false\"") from None


# -- pure helpers -------------------------------------------------------------

def _plain_write(change: Change) -> bool:
    """A File change that is only new bytes in place of a file, link or nothing."""
    desired, live = change.desired, change.live
    return (desired is not None and desired.key.kind == "File" and not _same_bytes(change)
            and change.action is not Action.delete
            and (live is None or live.spec.get("type") != "dir"))


def _file_write(change: Change) -> FileWrite:
    desired = change.desired
    assert desired is not None
    spec = desired.spec
    return FileWrite(spec["path"], file_bytes(spec), int(spec["mode"], 8),
                     spec.get("owner"), spec.get("group"))


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _same_bytes(change: Change) -> bool:
    live, desired = change.live, change.desired
    return (change.action is Action.update and live is not None and desired is not None
            and live.spec.get("sha256") == desired_sha(desired.spec))
