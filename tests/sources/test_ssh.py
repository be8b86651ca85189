"""Fetching and pushing over ssh://, through a real sshd on loopback.

The operator's ssh set-up is what git uses (here `GIT_SSH_COMMAND` with a key
and a known_hosts file of its own); gitward must never wait for a prompt.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitward.sources import FetchError, GitSource

from .conftest import Origin, git

SSHD = Path("/usr/sbin/sshd")

pytestmark = pytest.mark.skipif(
    not SSHD.exists() or os.getuid() != 0,
    reason="needs openssh-server and root (scripts/test.sh installs it; CI runs as root)")


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    key: Path                  # the client's private key, authorized on the server
    known_hosts: Path          # holds the server's host key

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def command(self, known_hosts: Path | None = None, checking: str = "yes") -> str:
        """GIT_SSH_COMMAND as an operator would set it: this key, these known hosts
        (with ``checking="ask"``, ssh's default, it would ask about a new host)."""
        return (f"ssh -i {self.key} -o IdentitiesOnly=yes -o StrictHostKeyChecking={checking} "
                f"-o UserKnownHostsFile={known_hosts or self.known_hosts}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    root = tmp_path_factory.mktemp("sshd")
    host_public = _keygen(root / "host")
    (root / "authorized_keys").write_text(_keygen(root / "client") + "\n")
    port = _free_port()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public}\n")
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\n"
        f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "LogLevel ERROR\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # its privilege separation directory
    server = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(root / "sshd_config")],
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"sshd exited: {server.communicate()[1].decode()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Sshd(port, pwd.getpwuid(os.getuid()).pw_name, root / "client", root / "known_hosts")
    finally:
        server.terminate()
        server.communicate(timeout=10)   # reaped, its stderr pipe closed


def test_a_repository_over_ssh_is_fetched_and_followed(
        sshd: Sshd, origin: Origin, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.command())
    first = origin.commit({"apps/web/a.yaml": "kind: File\n"})
    source = GitSource(sshd.url(origin.bare), state_dir, objects="git")

    assert source.fetch().revision == first
    second = origin.commit({"apps/web/a.yaml": "kind: Directory\n"})
    snapshot = source.fetch()

    assert snapshot.revision == second and snapshot.read("apps/web/a.yaml") == b"kind: Directory\n"
    assert not (source.mirror_path.parent / (source.mirror_path.name + ".cloning")).exists()
    source.close()


def test_an_unknown_host_key_fails_at_once_and_says_so(
        sshd: Sshd, origin: Origin, state_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh would ask whether to trust the new host; gitward gives it no terminal
    to ask on, so the fetch fails at once instead of hanging."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.command(known_hosts=empty, checking="ask"))
    origin.commit({"a": "1\n"})
    started = time.monotonic()

    with pytest.raises(FetchError) as caught:
        GitSource(sshd.url(origin.bare), state_dir, objects="git", timeout=20).fetch()

    message = str(caught.value)
    assert message.startswith(f"cannot fetch {sshd.url(origin.bare)}: ")
    assert "Host key verification failed" in message and "\n" not in message
    assert time.monotonic() - started < 10   # no prompt waited for


def test_a_commit_is_pushed_over_ssh(sshd: Sshd, origin: Origin, state_dir: Path,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.command())
    base = origin.commit({"a": "1\n"})
    source = GitSource(sshd.url(origin.bare), state_dir, objects="git")
    source.fetch()
    # A commit made in the mirror, as the version updater makes its bumps.
    tree = git(source.mirror_path, "rev-parse", f"{base}^{{tree}}")
    bump = git(source.mirror_path, "commit-tree", tree, "-p", base, "-m", "Bump")

    source.remote.push(source.mirror_path, bump, "main")

    assert git(origin.bare, "rev-parse", "refs/heads/main") == bump
    source.close()
