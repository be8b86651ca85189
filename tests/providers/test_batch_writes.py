"""A wave of files written together: `LocalConnection.write_files_atomic`,
`FilesProvider.apply_many` and the one durability barrier (`make_durable`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import gitward.providers.durable as durable
from gitward.core.model import Action, Resource
from gitward.providers.connection import FileStat, FileWrite, LocalConnection, ProviderError
from gitward.providers.files import FilesProvider
from tests.providers.builders import desired


def a_file(path: str, content: str, **spec: str) -> Resource:
    """A File named after its path, so that many can be planned together."""
    return desired("File", {"path": path, "content": content, **spec},
                   path.strip("/").replace("/", "-"))


def temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".gitward-" in p.name]


def apply_all(files: FilesProvider, wanted: list[Resource]) -> list[Resource | Exception]:
    live = files.read(wanted)
    return files.apply_many([files.diff(res, live.get(res.key)) for res in wanted])


def test_a_wave_of_files_lands_with_missing_parents_made(root: Path) -> None:
    files = FilesProvider(LocalConnection(str(root)))
    (root / "etc").mkdir()
    (root / "etc/old.conf").write_text("old\n")
    os.symlink("elsewhere", root / "etc/link.conf")
    (root / "etc/empty-dir").mkdir()
    wanted = [a_file(f"/srv/d{i % 4}/f{i}", f"{i}\n", mode="0640") for i in range(40)]
    wanted += [a_file("/etc/old.conf", "new\n"), a_file("/etc/link.conf", "a file now\n"),
               a_file("/etc/empty-dir", "was a directory\n"),
               desired("Directory", {"path": "/srv/private", "mode": "0700"}, "private"),
               desired("Symlink", {"path": "/srv/current", "target": "d0"}, "current")]
    outcomes = apply_all(files, wanted)

    assert [type(o).__name__ for o in outcomes] == ["Resource"] * len(wanted)
    assert all((root / f"srv/d{i % 4}/f{i}").read_text() == f"{i}\n" for i in range(40))
    assert stat.S_IMODE((root / "srv/d1/f1").stat().st_mode) == 0o640
    assert (root / "etc/old.conf").read_text() == "new\n"
    assert not (root / "etc/link.conf").is_symlink()
    assert (root / "etc/empty-dir").read_text() == "was a directory\n"
    assert stat.S_IMODE((root / "srv/private").stat().st_mode) == 0o700
    assert os.readlink(root / "srv/current") == "d0"
    assert temps(root) == []
    # What apply_many returned is what a read finds: the next plan has nothing to do.
    again = files.read(wanted, {o.key: o for o in outcomes if isinstance(o, Resource)})
    assert [(res.key.name, files.diff(res, again.get(res.key)).fields)
            for res in wanted if files.diff(res, again.get(res.key)).action is not Action.noop
            ] == []


def test_one_write_that_cannot_land_leaves_the_others_written(root: Path) -> None:
    files = FilesProvider(LocalConnection(str(root)))
    (root / "srv").mkdir()
    (root / "srv/blocked").write_text("a file, where a directory is wanted\n")
    wanted = [a_file(f"/srv/ok/f{i}", "ok\n") for i in range(10)]
    wanted += [a_file("/srv/blocked/a", "x\n"), a_file("/srv/blocked/b", "y\n")]
    outcomes = apply_all(files, wanted)

    assert all(isinstance(o, Resource) for o in outcomes[:10])
    for failed, name in zip(outcomes[10:], "ab", strict=True):
        assert isinstance(failed, ProviderError)
        assert f"cannot write /srv/blocked/{name}" in str(failed)
        assert "Not a directory" in str(failed)
    assert len(list((root / "srv/ok").iterdir())) == 10
    assert (root / "srv/blocked").read_text() == "a file, where a directory is wanted\n"
    assert temps(root) == []


def test_a_write_through_a_symlink_out_of_the_root_fails_alone(
        root: Path, tmp_path: Path) -> None:
    files = FilesProvider(LocalConnection(str(root)))
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "srv").mkdir()
    os.symlink(outside, root / "srv/escape")
    wanted = [a_file(f"/srv/ok/f{i}", "ok\n") for i in range(5)]
    wanted += [a_file("/srv/escape/a", "x\n"), a_file("/srv/escape/b", "y\n")]
    outcomes = files.apply_many([files.diff(res, None) for res in wanted])
    assert all(isinstance(o, Resource) for o in outcomes[:5])
    assert all("outside the target root" in str(o) for o in outcomes[5:])
    assert list(outside.iterdir()) == []


def test_outcomes_come_back_one_per_write_in_order(conn: LocalConnection, root: Path) -> None:
    (root / "a").mkdir()
    writes = [FileWrite("/a/one", b"1", 0o600), FileWrite("/missing/two", b"2", 0o644),
              FileWrite("/a/three", b"333", 0o644, "nobody")]
    one, two, three = conn.write_files_atomic(writes)
    assert isinstance(one, FileStat) and one.size == 1 and one.mode == 0o600
    assert isinstance(two, ProviderError) and "/missing/two" in str(two)
    if os.geteuid() == 0:
        assert isinstance(three, FileStat) and three.size == 3
    else:
        assert isinstance(three, ProviderError) and not (root / "a/three").exists()
    assert temps(root) == []


def test_an_interrupted_batch_leaves_no_temp_file_and_no_new_file(
        conn: LocalConnection, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(paths: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("gitward.providers.connection.make_durable", interrupted)
    (root / "a").mkdir()
    with pytest.raises(KeyboardInterrupt):
        conn.write_files_atomic([FileWrite(f"/a/f{i}", b"x", 0o644) for i in range(20)])
    assert list((root / "a").iterdir()) == []


def test_a_large_batch_filled_by_threads_keeps_each_outcome_at_its_write(
        conn: LocalConnection, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable.os, "sched_getaffinity", lambda pid: {0, 1, 2})   # 3 runs
    count = durable.THREADS_FROM * 3
    for d in range(5):
        (root / f"d{d}").mkdir()
    (root / "d4").rmdir()   # every fifth write has no directory: it fails, the others land
    writes = [FileWrite(f"/d{i % 5}/f{i}", f"{i}\n".encode(), 0o640) for i in range(count)]
    outcomes = conn.write_files_atomic(writes)

    assert len(outcomes) == count
    for i, outcome in enumerate(outcomes):
        if i % 5 == 4:
            assert isinstance(outcome, ProviderError) and f"/d4/f{i}" in str(outcome)
        else:
            assert isinstance(outcome, FileStat) and outcome.size == len(f"{i}\n")
            assert (root / f"d{i % 5}/f{i}").read_text() == f"{i}\n"
            assert stat.S_IMODE((root / f"d{i % 5}/f{i}").stat().st_mode) == 0o640
    assert temps(root) == []


def test_an_interruption_in_one_thread_stops_the_others_and_leaves_no_file(
        conn: LocalConnection, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = durable.THREADS_FROM * 4
    real_fill = LocalConnection._fill

    def fill(self: LocalConnection, tmp: str, write: FileWrite, *, sync: bool) -> None:
        if write.path == f"/a/f{count // 2}":
            raise KeyboardInterrupt
        real_fill(self, tmp, write, sync=sync)

    monkeypatch.setattr(LocalConnection, "_fill", fill)
    monkeypatch.setattr(durable, "MAX_THREADS", 4)
    monkeypatch.setattr(durable.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    (root / "a").mkdir()
    with pytest.raises(KeyboardInterrupt):
        conn.write_files_atomic([FileWrite(f"/a/f{i}", b"x", 0o644) for i in range(count)])
    assert list((root / "a").iterdir()) == []


def test_temp_files_a_killed_batch_left_go_when_their_paths_are_written(
        conn: LocalConnection, root: Path) -> None:
    (root / "a").mkdir()
    stale = [root / "a/.f0.gitward-0123456789ab.tmp", root / "a/.f1.gitward-ba9876543210.tmp"]
    kept = [root / "a/.other.gitward-0123456789ab.tmp",   # a path this batch does not write
            root / "a/.f0.gitward-notours.tmp", root / "a/.f0.txt"]
    for path in stale + kept:
        path.write_text("half written\n")
    outcomes = conn.write_files_atomic([FileWrite(f"/a/f{i}", b"new\n", 0o644)
                                        for i in range(2)])
    assert all(isinstance(o, FileStat) for o in outcomes)
    assert sorted(p.name for p in (root / "a").iterdir()) == sorted(
        ["f0", "f1", *(p.name for p in kept)])


def test_a_barrier_that_fails_fails_every_write_and_keeps_the_old_bytes(
        conn: LocalConnection, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_error(paths: list[str]) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("gitward.providers.connection.make_durable", disk_error)
    (root / "a").mkdir()
    (root / "a/f0").write_text("old\n")
    outcomes = conn.write_files_atomic([FileWrite(f"/a/f{i}", b"new\n", 0o644)
                                        for i in range(3)])
    assert all(isinstance(o, ProviderError) and "Input/output error" in str(o)
               for o in outcomes)
    assert sorted(p.name for p in (root / "a").iterdir()) == ["f0"]
    assert (root / "a/f0").read_text() == "old\n"


# -- the barrier ----------------------------------------------------------------

def counting(monkeypatch: pytest.MonkeyPatch, result: int = 0, dirty_kb: int = 0
             ) -> tuple[list[int], list[int]]:
    """Count fsync and syncfs calls (syncfs answering `result`), on a host
    with `dirty_kb` of unwritten data."""
    fsyncs: list[int] = []
    syncfs_calls: list[int] = []
    real_fsync: Callable[[int], None] = os.fsync
    real_syncfs = durable._syncfs()
    if real_syncfs is None:
        pytest.skip("this C library has no syncfs")

    def fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    def syncfs(fd: int) -> int:
        syncfs_calls.append(os.fstat(fd).st_dev)
        return result if result else real_syncfs(fd)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    monkeypatch.setattr(durable, "_syncfs", lambda: syncfs)
    monkeypatch.setattr(durable, "dirty_kb", lambda: dirty_kb)
    return fsyncs, syncfs_calls


def make_files(directory: Path, count: int) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [str(directory / f"f{i}") for i in range(count)]
    for path in paths:
        Path(path).write_text("x")
    return paths


def test_a_few_files_are_fsynced_one_by_one(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs, syncfs_calls = counting(monkeypatch)
    durable.make_durable(make_files(tmp_path, durable.SYNCFS_FROM - 1))
    assert (len(fsyncs), syncfs_calls) == (durable.SYNCFS_FROM - 1, [])


def test_many_files_take_one_syncfs_per_filesystem(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs, syncfs_calls = counting(monkeypatch)
    paths = make_files(tmp_path / "here", 20)
    if os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != os.stat(tmp_path).st_dev:
        shm = Path(f"/dev/shm/gitward-test-{os.getpid()}")
        try:
            paths += make_files(shm, 5)
            durable.make_durable(paths)
        finally:
            for path in shm.iterdir():
                path.unlink()
            shm.rmdir()
        assert sorted(syncfs_calls) == sorted({os.stat(tmp_path).st_dev,
                                               os.stat("/dev/shm").st_dev})
    else:
        durable.make_durable(paths)
        assert syncfs_calls == [os.stat(tmp_path).st_dev]
    assert fsyncs == []


def test_a_failed_syncfs_falls_back_to_an_fsync_each(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs, syncfs_calls = counting(monkeypatch, result=-1)
    durable.make_durable(make_files(tmp_path, 12))
    assert (len(syncfs_calls), len(fsyncs)) == (1, 12)


def test_on_a_host_with_much_unwritten_data_each_file_is_fsynced_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # syncfs would write back what other programs left dirty: 40 MB here.
    fsyncs, syncfs_calls = counting(monkeypatch, dirty_kb=40_000)
    durable.make_durable(make_files(tmp_path, 100))
    assert (len(fsyncs), syncfs_calls) == (100, [])

    # The same batch on a quiet host takes one syncfs.
    fsyncs, syncfs_calls = counting(monkeypatch, dirty_kb=100)
    durable.make_durable(make_files(tmp_path, 100))
    assert (len(fsyncs), len(syncfs_calls)) == (0, 1)


def test_a_file_that_cannot_be_fsynced_fails_the_barrier_by_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counting(monkeypatch, dirty_kb=40_000)
    paths = make_files(tmp_path, 30)
    os.unlink(paths[17])
    with pytest.raises(FileNotFoundError) as raised:
        durable.make_durable(paths)
    assert raised.value.filename == paths[17]


def test_the_hosts_unwritten_data_is_read_from_proc_meminfo() -> None:
    if not os.path.exists("/proc/meminfo"):
        assert durable.dirty_kb() is None
        return
    found = durable.dirty_kb()
    assert isinstance(found, int) and found >= 0
