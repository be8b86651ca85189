"""Version sources against real servers on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from gitward.updates.errors import VersionSourceError
from gitward.updates.policy import VersionSourceSpec
from gitward.updates.sources import list_versions
from tests.updates.conftest import Origin, Registry, ScriptedServer


def spec(**source: object) -> VersionSourceSpec:
    return VersionSourceSpec.model_validate(source)


def test_registry_lists_pushed_tags_across_pages(registry: Registry) -> None:
    registry.push("team/paged", "1.0.0", "1.1.0", "1.2.0", "latest", "2.0.0")
    found = list_versions(spec(registry={"url": registry.url, "repository": "team/paged",
                                         "page_size": 2}))
    assert sorted(found) == ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "latest"]


def test_registry_basic_auth(auth_registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    auth_registry.push("secure", "3.1.0")
    monkeypatch.setenv("REG_PASSWORD", "s3cret-pass")
    source = spec(registry={"url": auth_registry.url, "repository": "secure",
                            "auth": {"username": "bot", "password_env": "REG_PASSWORD"}})
    assert list_versions(source) == ["3.1.0"]


def test_registry_without_credentials_says_what_to_set(auth_registry: Registry) -> None:
    with pytest.raises(VersionSourceError, match=r"needs credentials \(401, basic auth\); set "
                                                 "auth.username and auth.password_env"):
        list_versions(spec(registry={"url": auth_registry.url, "repository": "secure"}))


def test_registry_with_a_wrong_password(auth_registry: Registry,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REG_PASSWORD", "wrong")
    with pytest.raises(VersionSourceError, match=r"refused access \(401\)"):
        list_versions(spec(registry={"url": auth_registry.url, "repository": "secure",
                                     "auth": {"username": "bot",
                                              "password_env": "REG_PASSWORD"}}))


def test_unknown_repository_is_a_404(registry: Registry) -> None:
    with pytest.raises(VersionSourceError, match=r"repository nothing-here\).*no such "
                                                 r"repository \(404\)"):
        list_versions(spec(registry={"url": registry.url, "repository": "nothing-here"}))


def test_bearer_token_flow(http_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference registry needs a TLS token service for bearer auth; this
    # server plays both roles over real HTTP, as Docker Hub and GHCR do.
    realm = f"{http_server.url}/token"

    def tags(path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != "Bearer tok-123":
            return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg",'
                                             'scope="repository:web:pull"'}, b"{}"
        return 200, {"Content-Type": "application/json"}, b'{"name":"web","tags":["1.0"]}'

    def token(path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        expected = "Basic " + base64.b64encode(b"bot:pw").decode()
        if headers.get("authorization") != expected or "scope=repository" not in path:
            return 401, {}, b""
        return 200, {"Content-Type": "application/json"}, b'{"token":"tok-123"}'

    http_server.routes["/v2/web/tags/list"] = tags
    http_server.routes["/token"] = token
    monkeypatch.setenv("PW", "pw")
    source = spec(registry={"url": http_server.url, "repository": "web",
                            "auth": {"username": "bot", "password_env": "PW"}})
    assert list_versions(source) == ["1.0"]
    assert [path.split("?")[0] for path, _ in http_server.requests] == [
        "/v2/web/tags/list", "/token", "/v2/web/tags/list"]


@pytest.mark.parametrize(("answer", "message"), [
    ((500, {}, b"boom"), r"answered 500 Internal Server Error"),
    ((200, {"Content-Type": "text/html"}, b"<html>hi</html>"), r"not JSON \(text/html\)"),
    ((200, {"Content-Type": "application/json"}, b'{"name": "web"}'), r"without a list of tags"),
    ((401, {"WWW-Authenticate": 'Bearer service="x"'}, b""), r"without a usable realm"),
])
def test_broken_registries(http_server: ScriptedServer, answer: tuple[int, dict[str, str],
                           bytes], message: str) -> None:
    http_server.routes["/v2/web/tags/list"] = answer
    with pytest.raises(VersionSourceError, match=message) as caught:
        list_versions(spec(registry={"url": http_server.url, "repository": "web"}))
    assert f"registry {http_server.url} (repository web)" in str(caught.value)


def test_credentials_in_urls_are_masked(http_server: ScriptedServer) -> None:
    http_server.routes["/v2/web/tags/list"] = (500, {}, b"")
    url = http_server.url.replace("http://", "http://bot:hunter2@")
    with pytest.raises(VersionSourceError) as caught:
        list_versions(spec(registry={"url": url, "repository": "web"}))
    assert "hunter2" not in str(caught.value)


def test_pypi_json_api(pypi_index: str) -> None:
    found = list_versions(spec(pypi={"index": pypi_index, "package": "Web_Tool"}))
    assert sorted(found) == ["1.0.0", "1.2.0", "1.3.0rc1", "2.0.0"]


def test_pypi_simple_api(pypi_index: str) -> None:
    found = list_versions(spec(pypi={"index": f"{pypi_index}/simple/", "package": "web-tool"}))
    assert sorted(found) == ["1.0.0", "1.2.0", "1.3.0rc1", "2.0.0"]


def test_pypi_unknown_package(pypi_index: str) -> None:
    with pytest.raises(VersionSourceError, match=r"no such package \(404\)"):
        list_versions(spec(pypi={"index": f"{pypi_index}/simple", "package": "nope"}))


def test_pypi_simple_json_skips_yanked(http_server: ScriptedServer) -> None:
    files = [{"filename": "web_tool-1.0.0-py3-none-any.whl"},
             {"filename": "web-tool-1.1.0.tar.gz", "yanked": "broken"},
             {"filename": "web_tool-1.2.0-py3-none-any.whl", "yanked": False}]
    http_server.routes["/simple/web-tool/"] = (
        200, {"Content-Type": "application/vnd.pypi.simple.v1+json"},
        json.dumps({"meta": {"api-version": "1.1"}, "name": "web-tool", "files": files}).encode())
    found = list_versions(spec(pypi={"index": f"{http_server.url}/simple", "package": "web-tool"}))
    assert found == ["1.0.0", "1.2.0"]


def test_git_tags(tmp_path: Path) -> None:
    origin = Origin(tmp_path / "lib")
    origin.commit({"README": "lib\n"})
    for tag in ("v1.0.0", "v1.1.0", "not-a-version"):
        origin.tag(tag)
    assert sorted(list_versions(spec(git={"url": str(origin.bare)}))) == [
        "not-a-version", "v1.0.0", "v1.1.0"]


def test_git_tags_of_a_missing_repository(tmp_path: Path) -> None:
    with pytest.raises(VersionSourceError, match="cannot list the tags of"):
        list_versions(spec(git={"url": str(tmp_path / "missing.git")}))


def test_http_json_with_jmespath(http_server: ScriptedServer) -> None:
    body = {"releases": [{"tag_name": "v2.1.0", "draft": False},
                         {"tag_name": "v2.2.0", "draft": True}]}
    http_server.routes["/releases"] = (200, {"Content-Type": "application/json"},
                                       json.dumps(body).encode())
    source = spec(http={"url": f"{http_server.url}/releases",
                        "expression": "releases[?!draft].tag_name"})
    assert list_versions(source) == ["v2.1.0"]
    bad = spec(http={"url": f"{http_server.url}/releases", "expression": "releases.nope"})
    with pytest.raises(VersionSourceError, match="found no list of versions"):
        list_versions(bad)
