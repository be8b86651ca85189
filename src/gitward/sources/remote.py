"""Talking to the origin with the ``git`` command.

Network operations (fetch, ls-remote, push) go through the real git CLI, so
they honour what the operator already set up: ssh config and keys,
known_hosts, credential helpers, proxies, ``insteadOf`` rewrites. Reading
objects is local and goes through an object database instead
(`gitward.sources.objects`: pygit2, or one ``git cat-file`` process).

Every call is made safe for an unattended agent:

- the mirror's own repository only, whatever the caller's ``GIT_DIR`` says
  (`gitward.sources.git_env`);
- no prompts: ``GIT_TERMINAL_PROMPT=0``, no controlling terminal (ssh cannot
  ask for a passphrase), stdin closed;
- a timeout that kills git and its helpers (ssh, git-remote-https) together;
- protocols allow-listed again through ``GIT_ALLOW_PROTOCOL`` (redirects and
  helpers included), and ``--`` before the URL;
- the URL's credentials scrubbed from every message (`RepoUrl.redact`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gitward.sources.errors import FetchError, PushError, PushRejectedError
from gitward.sources.git_env import git_env
from gitward.sources.urls import RepoUrl

__all__ = ["DEFAULT_TIMEOUT", "ORIGIN_HEAD_REF", "Remote"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
# Where the mirror keeps the commit the origin's HEAD (its default branch)
# pointed to at the last fetch; fetching it costs no extra round trip.
ORIGIN_HEAD_REF = "refs/gitward/origin-head"
_MIRROR_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
_ORIGIN_HEAD_REFSPEC = f"+HEAD:{ORIGIN_HEAD_REF}"
_DANGLING_HEAD = "couldn't find remote ref HEAD"


@dataclass(frozen=True, slots=True)
class _GitOutput:
    returncode: int
    stdout: str
    stderr: str


class Remote:
    """The origin of one source, reached with the git CLI from its bare mirror."""

    def __init__(self, url: RepoUrl, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def init_mirror(self, mirror: Path) -> None:
        """Create `mirror` as an empty bare repository."""
        mirror.parent.mkdir(parents=True, exist_ok=True)
        output = self._run(mirror.parent, ["init", "--quiet", "--bare", "--", str(mirror)])
        if output.returncode != 0:
            raise FetchError(f"cannot create the mirror of {self.url.display} at {mirror}: "
                             f"{self._reason(output)}")

    def clone_mirror(self, mirror: Path) -> bool:
        """Create `mirror` as a bare clone of an origin that is a local path, with
        its objects hard-linked (copied across filesystems), as ``git clone`` of
        a path does; Git objects are never changed in place, so sharing them is
        safe. About 30 ms for 1,000 files where a first fetch packs, sends and
        indexes every object (~150 ms). Returns False, leaving nothing behind,
        when the origin is a URL or cannot be cloned so: the first fetch then
        brings everything (and explains what is wrong, if anything is)."""
        if not self.url.is_path:
            return False
        mirror.parent.mkdir(parents=True, exist_ok=True)
        partial = mirror.with_name(mirror.name + ".cloning")
        shutil.rmtree(partial, ignore_errors=True)   # left by a clone that was killed
        output = self._run(mirror.parent, ["clone", "--quiet", "--bare", "--local", "--no-tags",
                                           "--", self.url.for_git, str(partial)])
        try:
            if output.returncode != 0:
                log.debug("cannot clone %s locally: %s", self.url.display, self._reason(output))
                return False
            partial.rename(mirror)
            return True
        finally:
            shutil.rmtree(partial, ignore_errors=True)

    def fetch_into(self, mirror: Path) -> bool:
        """Bring all branches and tags of the origin into `mirror`, pruning deleted ones.

        Returns whether the origin's HEAD was fetched too (False when it points
        to a branch that does not exist, e.g. in an empty repository).
        """
        started = time.monotonic()
        args = ["fetch", "--quiet", "--prune", "--no-tags", "--no-write-fetch-head",
                "--", self.url.for_git]
        output = self._run(mirror, [*args, *_MIRROR_REFSPECS, _ORIGIN_HEAD_REFSPEC])
        has_head = True
        if output.returncode != 0 and _DANGLING_HEAD in output.stderr:
            has_head = False
            output = self._run(mirror, [*args, *_MIRROR_REFSPECS])
        if output.returncode != 0:
            raise FetchError(f"cannot fetch {self.url.display}: {self._reason(output)}; check "
                             "the URL, the network and the credentials, then retry")
        log.debug("fetched %s in %.3fs", self.url.display, time.monotonic() - started)
        return has_head

    def head_branch(self, mirror: Path) -> str | None:
        """The branch the origin's HEAD names, asked of the origin now; None if it names none."""
        output = self._run(mirror, ["ls-remote", "--symref", "--", self.url.for_git, "HEAD"])
        if output.returncode != 0:
            raise FetchError(f"cannot reach {self.url.display}: {self._reason(output)}; check "
                             "the URL, the network and the credentials, then retry")
        for line in output.stdout.splitlines():
            target, _, name = line.partition("\t")
            if name == "HEAD" and target.startswith("ref: refs/heads/"):
                return target.removeprefix("ref: refs/heads/")
        return None

    def push(self, mirror: Path, commit: str, branch: str) -> None:
        """Fast-forward the origin's `branch` to `commit`; never forced."""
        refspec = f"{commit}:refs/heads/{branch}"
        output = self._run(mirror, ["push", "--porcelain", "--", self.url.for_git, refspec])
        if output.returncode == 0:
            log.info("pushed %s to %s of %s", commit[:12], branch, self.url.display)
            return
        status = _porcelain_status(output.stdout)
        where = f"branch {branch!r} of {self.url.display}"
        if status.startswith("[rejected]"):
            why = status.removeprefix("[rejected]").strip()
            raise PushRejectedError(f"push of {commit[:12]} to {where} was rejected {why}: the "
                                    "branch moved on; fetch and retry")
        if "currently checked out" in status:
            raise PushError(f"push of {commit[:12]} to {where} failed: {self.url.redact(status)}; "
                            "it is a working copy with that branch checked out: push to a bare "
                            "repository, or run `git config receive.denyCurrentBranch "
                            "updateInstead` in it")
        if status:
            raise PushError(f"push of {commit[:12]} to {where} failed: {self.url.redact(status)}; "
                            "check the credentials' write permission and the server's hooks")
        raise PushError(f"cannot push to {where}: {self._reason(output)}; check the URL, the "
                        "network and the credentials' write permission")

    def _run(self, mirror: Path, args: list[str]) -> _GitOutput:
        command = ["git", "-C", str(mirror), *args]
        try:
            # A new session: no controlling terminal for ssh to prompt on, and
            # one process group to kill on timeout (git's helpers included).
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=git_env(), text=True,
                                       errors="replace", start_new_session=True)
        except FileNotFoundError:
            raise FetchError("the git command is not installed or not on PATH; install git "
                             f"to use {self.url.display}") from None
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise FetchError(f"git {args[0]} of {self.url.display} timed out after "
                             f"{self.timeout:g}s; check the network or raise the timeout") from None
        return _GitOutput(process.returncode, stdout, stderr)

    def _reason(self, output: _GitOutput) -> str:
        """Git's own explanation, on one line and without credentials."""
        # The first line is the cause (e.g. ssh's "Connection refused"); later
        # ones are git's generic "Could not read from remote repository".
        lines = [line.strip() for line in output.stderr.splitlines()
                 if line.strip() and not line.startswith(("hint:", "warning:"))]
        first = lines[0] if lines else f"git exited with status {output.returncode}"
        first = first.removeprefix("fatal:").removeprefix("error:").strip().rstrip(".")
        return self.url.redact(first)


def _porcelain_status(stdout: str) -> str:
    """The summary of the first rejected ref in ``git push --porcelain`` output."""
    for line in stdout.splitlines():
        flag, _, rest = line.partition("\t")
        if flag == "!":
            return rest.partition("\t")[2].strip()
    return ""
