"""The File, Directory and Symlink kinds on a real temp directory: specs,
drift, the stat cache, replacing, pruning and backups."""

from __future__ import annotations

import os
import pwd
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from gitward.core.model import Action, Health, Resource
from gitward.providers.connection import LocalConnection, ProviderError
from gitward.providers.files import FilesProvider
from tests.providers.builders import a_file, desired

NOBODY = pwd.getpwnam("nobody")


class CountingConnection(LocalConnection):
    """Counts file reads, to see the stat cache at work."""

    reads = 0

    def read_file(self, path: str) -> bytes | None:
        self.reads += 1
        return super().read_file(path)


@pytest.fixture
def files(conn: LocalConnection) -> FilesProvider:
    return FilesProvider(conn)


def converge(files: FilesProvider, res: Resource) -> Resource:
    change = files.diff(res, files.read([res]).get(res.key))
    return files.apply(change)


def plan(files: FilesProvider, res: Resource, recorded: Resource | None = None) -> Any:
    live = files.read([res], {res.key: recorded} if recorded else None).get(res.key)
    return files.diff(res, live)


# -- specs -----------------------------------------------------------------------

def test_describe_normalises_and_claims_the_path() -> None:
    res = a_file("/etc//motd/", "hi\n", mode="644", owner="0")
    assert res.spec["path"] == "/etc/motd" and res.claim == "fs:/etc/motd"
    assert res.spec["mode"] == "0644" and res.spec["owner"] == 0
    assert res.spec["sha256"].startswith("98ea6e4f216f")
    assert res.sensitive == frozenset()
    assert "content" in a_file("/k", "x", sensitive=True).sensitive


@pytest.mark.parametrize("spec, says", [
    ({"mode": 420}, "quoted octal string"),
    ({"mode": "0999"}, "not an octal mode"),
    ({"path": "etc/motd"}, "relative"),
    ({"path": "/etc/../shadow"}, "'..'"),
    ({"content_base64": "aGk="}, "exactly one of content and content_base64"),
    ({"colour": "blue"}, "Unexpected keyword argument"),
])
def test_bad_file_specs_are_refused_with_the_reason(spec: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        desired("File", {"path": "/etc/motd", "content": "x", **spec})


def test_spec_models_document_their_fields() -> None:
    schema = TypeAdapter(FilesProvider.spec_models["File"]).json_schema()
    assert schema["additionalProperties"] is False
    assert "Octal" in schema["properties"]["mode"]["description"]


# -- drift -------------------------------------------------------------------------

def test_content_drift_shows_both_texts(files: FilesProvider, root: Path) -> None:
    res = a_file("/etc/motd", "welcome\n")
    converge(files, res)
    (root / "etc/motd").write_text("hacked\n")
    change = plan(files, res)
    assert change.action is Action.update
    [item] = change.fields
    assert (item.path, item.old, item.new) == ("spec.content", "hacked\n", "welcome\n")
    files.apply(change)
    assert (root / "etc/motd").read_text() == "welcome\n"


def test_mode_drift_is_fixed_without_rewriting(files: FilesProvider, root: Path) -> None:
    res = a_file("/etc/motd", "welcome\n", mode="0644")
    converge(files, res)
    os.chmod(root / "etc/motd", 0o666)
    inode = (root / "etc/motd").stat().st_ino
    change = plan(files, res)
    assert [(i.path, i.old, i.new) for i in change.fields] == [("spec.mode", "0666", "0644")]
    files.apply(change)
    assert (root / "etc/motd").stat().st_mode & 0o7777 == 0o644
    assert (root / "etc/motd").stat().st_ino == inode


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files away")
def test_owner_is_applied_and_its_drift_detected(files: FilesProvider, root: Path) -> None:
    res = a_file("/etc/motd", "welcome\n", owner="nobody", group=NOBODY.pw_gid)
    live = converge(files, res)
    assert (root / "etc/motd").stat().st_uid == NOBODY.pw_uid
    assert (live.spec["owner"], live.spec["group"]) == ("nobody", NOBODY.pw_gid)
    os.chown(root / "etc/motd", 0, 0)
    change = plan(files, res)
    assert [(i.path, i.old, i.new) for i in change.fields] == [
        ("spec.group", 0, NOBODY.pw_gid), ("spec.owner", "root", "nobody")]


def test_sensitive_content_never_shows(files: FilesProvider, root: Path) -> None:
    res = a_file("/etc/app/token", "s3cret-value\n", sensitive=True)
    converge(files, res)
    (root / "etc/app/token").write_text("other-value\n")
    change = plan(files, res)
    assert change.action is Action.update
    shown = repr(change.fields) + repr(change.live)
    assert "s3cret" not in shown and "other-value" not in shown
    assert change.fields[0].new.startswith("<redacted:")


def test_binary_drift_is_summarised(files: FilesProvider, root: Path) -> None:
    res = desired("File", {"path": "/blob", "content_base64": "AAEC/w=="})
    converge(files, res)
    assert (root / "blob").read_bytes() == b"\x00\x01\x02\xff"
    (root / "blob").write_bytes(b"\xff\xfe")
    [item] = plan(files, res).fields
    assert item.old.startswith("<2 bytes, sha256 ") and item.new.startswith("<4 bytes, sha256 ")


# -- the stat cache ----------------------------------------------------------------

def test_an_unchanged_file_is_not_read_again(root: Path) -> None:
    conn = CountingConnection(str(root))
    files = FilesProvider(conn)
    res = a_file("/etc/motd", "welcome\n")
    recorded = converge(files, res)
    conn.reads = 0
    assert plan(files, res, recorded).action is Action.noop
    assert conn.reads == 0
    assert plan(files, res).action is Action.noop  # nothing recorded: read and hash
    assert conn.reads == 1


def test_a_cached_file_about_to_change_still_shows_its_text(root: Path) -> None:
    files = FilesProvider(LocalConnection(str(root)))
    recorded = converge(files, a_file("/etc/motd", "one\n"))
    [item] = plan(files, a_file("/etc/motd", "two\n"), recorded).fields
    assert (item.path, item.old, item.new) == ("spec.content", "one\n", "two\n")


def test_the_stat_cache_sees_a_change_with_size_and_mtime_put_back(root: Path) -> None:
    conn = CountingConnection(str(root))
    files = FilesProvider(conn)
    res = a_file("/etc/motd", "welcome\n")
    recorded = converge(files, res)
    path = root / "etc/motd"
    before = path.stat()
    with open(path, "r+b") as handle:  # same size, same inode, in place
        handle.write(b"WELCOME\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    # The ctime moved, and no one can set it back: the file is read again.
    assert plan(files, res, recorded).action is Action.update


# -- replacing, parents, pruning -------------------------------------------------------

def test_parents_are_created(files: FilesProvider, root: Path) -> None:
    converge(files, a_file("/opt/app/conf/app.ini", "[app]\n"))
    converge(files, desired("Symlink", {"path": "/opt/links/current", "target": "../app"}))
    assert (root / "opt/app/conf/app.ini").read_text() == "[app]\n"
    assert os.readlink(root / "opt/links/current") == "../app"


def test_files_applied_from_many_threads_all_land(files: FilesProvider, root: Path) -> None:
    """The engine applies a wave from a thread pool; new parents race to exist."""
    wanted = [a_file(f"/srv/d{i % 5}/f{i}", f"{i}\n") for i in range(60)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(files.apply, [files.diff(res, None) for res in wanted]))
    files.connection.flush()
    assert sorted(p.name for p in (root / "srv").iterdir()) == [f"d{i}" for i in range(5)]
    assert all((root / f"srv/d{i % 5}/f{i}").read_text() == f"{i}\n" for i in range(60))
    assert not [p for p in root.rglob("*") if ".gitward-" in p.name]


def test_an_empty_directory_where_a_file_belongs_is_replaced(
        files: FilesProvider, root: Path) -> None:
    (root / "etc/motd").mkdir(parents=True)
    res = a_file("/etc/motd", "welcome\n")
    change = plan(files, res)
    assert change.action is Action.replace
    assert [(i.path, i.old, i.new) for i in change.fields] == [("spec.type", "dir", "file")]
    assert files.health(change.live) is Health.degraded
    files.apply(change)
    assert (root / "etc/motd").read_text() == "welcome\n"


def test_a_full_directory_is_never_replaced(files: FilesProvider, root: Path) -> None:
    (root / "etc/motd").mkdir(parents=True)
    (root / "etc/motd/keep").write_text("precious\n")
    with pytest.raises(ProviderError, match="directory /etc/motd is not empty"):
        files.apply(plan(files, a_file("/etc/motd", "welcome\n")))
    assert (root / "etc/motd/keep").read_text() == "precious\n"


def test_pruning_a_directory_that_is_not_empty_fails(files: FilesProvider, root: Path) -> None:
    res = desired("Directory", {"path": "/srv/data"})
    live = converge(files, res)
    (root / "srv/data/db").write_text("rows\n")
    with pytest.raises(ProviderError, match=r"cannot prune it: directory /srv/data is not empty"):
        files.delete(live)
    assert (root / "srv/data/db").exists()


def test_pruning_leaves_what_is_no_longer_ours(files: FilesProvider, root: Path) -> None:
    live = converge(files, a_file("/etc/motd", "welcome\n"))
    (root / "etc/motd").unlink()
    (root / "etc/motd").mkdir()
    with pytest.raises(ProviderError, match="is now a dir, not the file gitward wrote"):
        files.delete(live)
    assert (root / "etc/motd").is_dir()


# -- backups -----------------------------------------------------------------------------

def test_backup_and_restore_give_back_a_file_taken_over(
        files: FilesProvider, root: Path) -> None:
    (root / "etc").mkdir()
    (root / "etc/motd").write_text("the distro's motd\n")
    os.chmod(root / "etc/motd", 0o600)
    res = a_file("/etc/motd", "gitward's motd\n")
    change = plan(files, res)
    assert change.live is not None
    saved = files.backup(change.live)
    live = files.apply(change)
    assert (root / "etc/motd").read_text() == "gitward's motd\n"
    restored = files.restore(live, saved)
    assert (root / "etc/motd").read_text() == "the distro's motd\n"
    assert (root / "etc/motd").stat().st_mode & 0o7777 == 0o600
    assert restored.spec["mode"] == "0600"


def test_restore_puts_back_a_directory_and_a_symlink(files: FilesProvider, root: Path) -> None:
    (root / "srv").mkdir(mode=0o700)
    (root / "link").symlink_to("/old/target")
    for res in (desired("Directory", {"path": "/srv", "mode": "0755"}),
                desired("Symlink", {"path": "/link", "target": "/new/target"})):
        change = plan(files, res)
        assert change.live is not None
        saved = files.backup(change.live)
        files.restore(files.apply(change), saved)
    assert (root / "srv").stat().st_mode & 0o7777 == 0o700
    assert os.readlink(root / "link") == "/old/target"


def test_a_backup_of_another_path_is_refused(files: FilesProvider, root: Path) -> None:
    (root / "a").write_text("a\n")
    (root / "b").write_text("b\n")
    live_a = files.read([a_file("/a")])
    live_b = files.read([a_file("/b")])
    [a], [b] = live_a.values(), live_b.values()
    with pytest.raises(ProviderError, match="not one of /b"):
        files.restore(b, files.backup(a))
    assert (root / "b").read_text() == "b\n"
