"""LocalConnection on a real temp directory: root confinement, atomic writes,
modes and owners, and commands run as real subprocesses."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.core.errors import PathEscapeError
from gitward.providers.connection import (
    CommandTimeoutError,
    LocalConnection,
    TargetIOError,
    UnknownOwnerError,
)

NOBODY = pwd.getpwnam("nobody")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files away")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".gitward-" in p.name)


# -- root confinement ------------------------------------------------------------

def test_target_paths_map_under_the_root(conn: LocalConnection, root: Path) -> None:
    conn.mkdir("/etc")
    conn.write_file_atomic("/etc//motd/", b"hi\n", 0o644)
    assert (root / "etc/motd").read_bytes() == b"hi\n"
    assert conn.read_file("/etc/motd") == b"hi\n"


@pytest.mark.parametrize("path, says", [
    ("/etc/../../outside", "'..'"),
    ("etc/motd", "relative"),
    ("/etc/mo\0td", "NUL"),
])
def test_escaping_paths_are_refused_before_any_io(conn: LocalConnection, root: Path,
                                                  path: str, says: str) -> None:
    for attempt in (lambda: conn.write_file_atomic(path, b"x", 0o644),
                    lambda: conn.mkdir(path), lambda: conn.stat(path),
                    lambda: conn.read_file(path), lambda: conn.remove(path)):
        with pytest.raises(PathEscapeError, match=says):
            attempt()
    assert list(root.iterdir()) == []
    assert not (root.parent / "outside").exists()


def test_a_symlink_on_the_target_cannot_lead_a_write_outside(
        conn: LocalConnection, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "real-etc"
    outside.mkdir()
    (root / "etc").symlink_to(outside)  # like root/etc -> /etc
    with pytest.raises(PathEscapeError, match=r"/etc/motd resolves to .*real-etc.*outside"):
        conn.write_file_atomic("/etc/motd", b"pwned\n", 0o644)
    for attempt in (lambda: conn.symlink("/etc/link", "/x"), lambda: conn.mkdir("/etc/sub"),
                    lambda: conn.stat("/etc/motd"), lambda: conn.read_file("/etc/motd"),
                    lambda: conn.run("true", cwd="/etc")):
        with pytest.raises(PathEscapeError):
            attempt()
    assert list(outside.iterdir()) == []


def test_a_symlink_planted_after_a_write_is_still_refused(
        conn: LocalConnection, root: Path, tmp_path: Path) -> None:
    conn.mkdir("/etc")
    conn.write_file_atomic("/etc/a", b"a\n", 0o644)  # /etc is now known to be inside
    outside = tmp_path / "real-etc"
    outside.mkdir()
    (root / "etc/a").unlink()
    (root / "etc").rmdir()
    (root / "etc").symlink_to(outside)
    with pytest.raises(PathEscapeError, match="outside the target root"):
        conn.write_file_atomic("/etc/b", b"b\n", 0o644)
    assert list(outside.iterdir()) == []


def test_a_symlink_that_stays_inside_the_root_is_followed(
        conn: LocalConnection, root: Path) -> None:
    (root / "real-etc").mkdir()
    (root / "etc").symlink_to("real-etc")
    conn.write_file_atomic("/etc/motd", b"inside\n", 0o644)
    assert (root / "real-etc/motd").read_bytes() == b"inside\n"


def test_the_last_component_is_never_followed(
        conn: LocalConnection, root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:hash\n")
    (root / "motd").symlink_to(secret)
    with pytest.raises(TargetIOError, match="is a symlink"):
        conn.read_file("/motd")
    stat = conn.stat("/motd")
    assert stat is not None and stat.kind == "symlink"
    conn.write_file_atomic("/motd", b"replaced the link\n", 0o644)
    assert secret.read_text() == "root:hash\n"
    assert not (root / "motd").is_symlink()


# -- atomic writes ---------------------------------------------------------------

def test_atomic_write_replaces_in_one_step_and_leaves_no_temp(
        conn: LocalConnection, root: Path) -> None:
    (root / "etc").mkdir()
    (root / "etc/motd").write_text("old\n")
    inode_before = (root / "etc/motd").stat().st_ino
    stat = conn.write_file_atomic("/etc/motd", b"new\n", 0o640)
    assert (root / "etc/motd").read_text() == "new\n"
    assert stat.inode != inode_before  # a new file renamed over, not rewritten in place
    assert (stat.kind, stat.mode, stat.size) == ("file", 0o640, 4)
    assert leftovers(root / "etc") == []
    conn.flush()


def test_a_write_that_fails_midway_keeps_the_old_file(root: Path) -> None:
    """The file-size limit stops the write after 4 KiB of 1 MiB, for real."""
    (root / "etc").mkdir()
    (root / "etc/motd").write_text("old\n")
    script = textwrap.dedent(f"""
        import resource, signal
        from gitward.providers.connection import LocalConnection, TargetIOError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            LocalConnection({str(root)!r}).write_file_atomic("/etc/motd", b"x" * 2**20, 0o644)
        except TargetIOError as error:
            print(error)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert "cannot write /etc/motd" in done.stdout and "File too large" in done.stdout
    assert (root / "etc/motd").read_text() == "old\n"
    assert leftovers(root / "etc") == []


def test_missing_parent_is_an_error_naming_the_path(conn: LocalConnection) -> None:
    with pytest.raises(TargetIOError, match="cannot write /no/such/file"):
        conn.write_file_atomic("/no/such/file", b"x", 0o644)


def test_modes_are_exact_whatever_the_umask(conn: LocalConnection, root: Path) -> None:
    old = os.umask(0o077)
    try:
        conn.write_file_atomic("/bin-tool", b"#!/bin/sh\n", 0o4755)
        conn.mkdir("/srv/shared", 0o2775)
    finally:
        os.umask(old)
    assert (root / "bin-tool").stat().st_mode & 0o7777 == 0o4755
    assert (root / "srv/shared").stat().st_mode & 0o7777 == 0o2775


def test_symlink_replaces_a_link_atomically(conn: LocalConnection, root: Path) -> None:
    conn.mkdir("/etc")
    conn.symlink("/etc/alt", "/usr/bin/vi")
    conn.symlink("/etc/alt", "/usr/bin/ed")
    assert conn.readlink("/etc/alt") == "/usr/bin/ed"
    assert leftovers(root / "etc") == []


# -- owners ----------------------------------------------------------------------

@as_root
def test_owner_and_group_by_name_or_id(conn: LocalConnection, root: Path) -> None:
    stat = conn.write_file_atomic("/f", b"x", 0o600, uid="nobody", gid=NOBODY.pw_gid)
    assert (stat.uid, stat.gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    conn.mkdir("/d", 0o750, uid=str(NOBODY.pw_uid))
    assert (root / "d").stat().st_uid == NOBODY.pw_uid
    assert conn.user_name(NOBODY.pw_uid) == "nobody"


def test_unknown_owner_is_a_clear_error_and_writes_nothing(
        conn: LocalConnection, root: Path) -> None:
    with pytest.raises(UnknownOwnerError,
                       match=r"owner 'no-such-user' of /f .* is not a user on the target"):
        conn.write_file_atomic("/f", b"x", 0o644, uid="no-such-user")
    assert list(root.iterdir()) == []


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory nobody can write to (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="gitward-nobody-"))
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    yield path
    subprocess.run(["rm", "-rf", "--", str(path)], check=True)


@as_root
def test_giving_a_file_away_without_root_says_what_to_do(nobody_dir: Path) -> None:
    script = textwrap.dedent(f"""
        import os
        from gitward.providers.connection import LocalConnection, OwnerNotPermittedError
        os.setgroups([]); os.setgid({NOBODY.pw_gid}); os.setuid({NOBODY.pw_uid})
        try:
            LocalConnection({str(nobody_dir)!r}).write_file_atomic("/f", b"x", 0o644, uid="root")
        except OwnerNotPermittedError as error:
            print(error)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert "cannot set owner of /f" in done.stdout
    assert "to root: run gitward as root or drop owner" in done.stdout
    assert list(nobody_dir.iterdir()) == []  # neither the file nor its temp


# -- commands --------------------------------------------------------------------

def test_run_uses_a_shell_for_text_and_argv_for_lists(conn: LocalConnection) -> None:
    assert conn.run("echo $((1 + 2))").stdout == "3\n"
    assert conn.run(["echo", "$((1 + 2))"]).stdout == "$((1 + 2))\n"
    failed = conn.run("echo oops >&2; exit 3")
    assert (failed.returncode, failed.stderr) == (3, "oops\n")


def test_run_maps_cwd_under_the_root_and_adds_env(conn: LocalConnection, root: Path) -> None:
    (root / "srv").mkdir()
    done = conn.run("pwd; echo $GREETING; echo $GITWARD_ROOT", cwd="/srv",
                    env={"GREETING": "hi"})
    assert done.stdout.splitlines() == [str(root / "srv"), "hi", str(root)]
    assert conn.run("cat", input="fed\n").stdout == "fed\n"


def test_a_missing_program_reads_like_a_shell(conn: LocalConnection) -> None:
    done = conn.run(["no-such-program-here"])
    assert done.returncode == 127 and "command not found" in done.stderr


def test_a_missing_working_directory_is_named(conn: LocalConnection) -> None:
    with pytest.raises(TargetIOError, match=r"working directory /nowhere .* does not exist"):
        conn.run("true", cwd="/nowhere")


def test_timeout_kills_the_whole_command(conn: LocalConnection) -> None:
    started = time.monotonic()
    # The background sleep keeps the output pipe open: only killing the
    # process group lets run() return.
    with pytest.raises(CommandTimeoutError, match=r"did not finish within 0\.5 s"):
        conn.run("sleep 30 & sleep 30", timeout=0.5)
    assert time.monotonic() - started < 5
