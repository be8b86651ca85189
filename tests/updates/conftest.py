"""Real servers on loopback for the updater's tests.

- `registry`: Debian's ``docker-registry`` (the reference registry,
  distribution 2.x), anonymous; `auth_registry` the same behind htpasswd
  (bcrypt) basic auth. Images are pushed through the HTTP API (a config blob,
  a layer blob, a schema2 manifest), no docker needed.
- `pypi_index`: ``pypiserver`` serving a directory of small hand-built wheels
  and sdists.
- `Origin`: a bare Git repository with a work clone that commits and pushes.

A missing binary or package skips the tests that need it, saying what to
install (CI installs them in scripts/test.sh).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.sources.conftest import Link, git
from tests.sources.conftest import Origin as SourcesOrigin

REGISTRY_BINARY = "/usr/bin/docker-registry"
_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class Origin(SourcesOrigin):
    """A bare origin repository and a work tree to commit and push from; a commit
    first pulls what the updater pushed."""

    def commit(self, files: Mapping[str, str | Link | None], message: str = "change",
               branch: str | None = None) -> str:
        """Pull, write `files`, commit and push to the branch; return the new SHA."""
        if git(self.bare, "for-each-ref", f"refs/heads/{self.branch}"):
            git(self.work, "pull", "-q", "--ff-only", "origin", self.branch)
        return super().commit(files, message, branch)

    def head(self, branch: str | None = None) -> str:
        return git(self.bare, "rev-parse", f"refs/heads/{branch or self.branch}")

    def show(self, path: str, ref: str | None = None) -> str:
        return git(self.bare, "show", f"{ref or self.branch}:{path}")

    def branches(self) -> list[str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return sorted(out.splitlines())

    def tag(self, name: str) -> None:
        git(self.work, "tag", name)
        git(self.work, "push", "-q", "origin", f"refs/tags/{name}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Registry:
    """A running reference registry; `push` stores an image under a tag."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None) -> None:
        self.url = url
        self.auth = auth

    def push(self, repository: str, *tags: str) -> None:
        with httpx.Client(base_url=self.url, auth=self.auth, timeout=10) as client:
            config = json.dumps({"architecture": "amd64", "os": "linux",
                                 "rootfs": {"type": "layers", "diff_ids": []}}).encode()
            layer = _tar_gz({"hello.txt": repository.encode()})
            config_digest = _upload(client, repository, config)
            layer_digest = _upload(client, repository, layer)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": _MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": len(config), "digest": config_digest},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": len(layer), "digest": layer_digest}]}).encode()
            for tag in tags:
                answer = client.put(f"/v2/{repository}/manifests/{tag}", content=manifest,
                                    headers={"Content-Type": _MANIFEST_TYPE})
                assert answer.status_code == 201, answer.text


def _upload(client: httpx.Client, repository: str, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    started = client.post(f"/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    separator = "&" if "?" in location else "?"
    done = client.put(f"{location}{separator}digest={digest}", content=blob,
                      headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest


def _tar_gz(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _start_registry(root: Path, htpasswd: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    if not os.access(REGISTRY_BINARY, os.X_OK):
        pytest.skip(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry")
    port = free_port()
    auth = (f"auth:\n  htpasswd: {{realm: gitward-test, path: {htpasswd}}}\n"
            if htpasswd else "")
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: "
                      f"{{rootdirectory: {root / 'data'}}}\nhttp:\n  addr: 127.0.0.1:{port}\n"
                      + auth)
    with (root / "registry.log").open("wb") as log:
        process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/v2/", process, "docker-registry")
    return process, url


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    process, url = _start_registry(tmp_path_factory.mktemp("registry"), None)
    try:
        yield Registry(url)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    bcrypt = pytest.importorskip("bcrypt", reason="pip install bcrypt (htpasswd for the "
                                                  "registry's basic auth)")
    root = tmp_path_factory.mktemp("auth-registry")
    htpasswd = root / "htpasswd"
    hashed = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"bot:{hashed}\n")
    process, url = _start_registry(root, htpasswd)
    try:
        yield Registry(url, ("bot", "s3cret-pass"))
    finally:
        stop(process)


# -- a Python package index --------------------------------------------------------

def write_wheel(directory: Path, name: str, version: str) -> None:
    dist = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(directory / f"{dist}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{dist}.dist-info/METADATA",
                       f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                       "Tag: py3-none-any\n")
        wheel.writestr(f"{dist}.dist-info/RECORD", "")


def write_sdist(directory: Path, name: str, version: str) -> None:
    stem = f"{name}-{version}"
    (directory / f"{stem}.tar.gz").write_bytes(_tar_gz(
        {f"{stem}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
         .encode()}))


@pytest.fixture(scope="session")
def pypi_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a pypiserver with web-tool 1.0.0, 1.2.0 (sdist), 1.3.0rc1 and 2.0.0."""
    if shutil.which("pypi-server") is None and not _has_module("pypiserver"):
        pytest.skip("pypiserver is missing: pip install pypiserver")
    packages = tmp_path_factory.mktemp("packages")
    write_wheel(packages, "web-tool", "1.0.0")
    write_sdist(packages, "web-tool", "1.2.0")
    write_wheel(packages, "web-tool", "1.3.0rc1")
    write_wheel(packages, "web-tool", "2.0.0")
    port = free_port()
    with (packages.parent / "pypiserver.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "pypiserver", "run", "-p", str(port),
                                    "-i", "127.0.0.1", "-a", ".", "-P", ".",
                                    "--disable-fallback", str(packages)],
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/simple/", process, "pypiserver")
        yield url
    finally:
        stop(process)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# -- a scripted HTTP server (token realm, broken registries, JSON endpoints) --------

Answer = tuple[int, dict[str, str], bytes]


class ScriptedServer:
    """A loopback HTTP server answering each path as `routes` says; keeps the requests."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, Answer | Callable[[str, Mapping[str, str]], Answer]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    answer: Answer = (404, {}, b"not here")
                elif callable(route):
                    answer = route(self.path, headers)
                else:
                    answer = route
                status, extra, body = answer
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    try:
        yield server
    finally:
        server.close()
