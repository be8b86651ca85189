"""Version sources: the registries, indexes and repositories a policy asks.

Each answers one question — which versions exist — as a list of strings:

- an OCI/Docker registry (HTTP API v2 ``GET /v2/<repository>/tags/list``),
  anonymous or with credentials: a 401 answer's ``WWW-Authenticate``
  challenge is followed, basic (user and password) or bearer (a token from the
  realm it names, fetched with the credentials if any); pages are followed
  through ``Link: <...>; rel="next"``;
- a Python package index: the JSON API (``<index>/<package>/json``, PyPI's
  ``https://pypi.org/pypi`` and pypiserver's root) or, for an index URL ending
  in ``/simple``, the simple API (PEP 691 JSON, else the HTML page), so private
  indexes work; yanked releases are left out;
- the tags of a Git repository (``git ls-remote --tags``, the same URL rules as
  sources);
- any HTTP endpoint answering JSON, with a JMESPath expression giving the list.

Whatever goes wrong (unreachable, 401/403/404/5xx, an answer that is not what
the API promises) raises one `VersionSourceError` naming the source by its URL
with credentials masked, and what to do. Credentials come from environment
variables the policy names; they are sent only to the source's own host and to
the token realm the registry names.

>>> describe_source(VersionSourceSpec(git=GitTags(url="https://bot:x@git.local/r.git")))
'git https://bot:***@git.local/r.git'
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from typing import Any
from urllib.parse import urljoin

import httpx
import jmespath
import jmespath.exceptions

from gitward.sources.urls import ALLOWED_SCHEMES, parse_repo_url, redact_url_credentials
from gitward.updates.errors import VersionSourceError
from gitward.updates.policy import (
    Auth,
    GitTags,
    HttpJson,
    PypiPackage,
    RegistryImage,
    VersionSourceSpec,
)

__all__ = ["DEFAULT_TIMEOUT", "MAX_PAGES", "describe_source", "list_versions"]

DEFAULT_TIMEOUT = 30.0
MAX_PAGES = 100
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_HTML_LINK = re.compile(r"<a\s+([^>]*)>([^<]+)</a>", re.IGNORECASE)
_SDIST_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz")
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def describe_source(spec: VersionSourceSpec) -> str:
    """The source as people read it in a table or an error (credentials masked)."""
    if spec.registry is not None:
        return f"registry {_shown(spec.registry.url)}/{spec.registry.repository}"
    if spec.pypi is not None:
        return f"pypi {_shown(spec.pypi.index)} {spec.pypi.package}"
    if spec.git is not None:
        return f"git {_shown(spec.git.url)}"
    assert spec.http is not None
    return f"http {_shown(spec.http.url)}"


def list_versions(spec: VersionSourceSpec, *, client: httpx.Client | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Every version `spec`'s source lists; `VersionSourceError` if it cannot tell."""
    if spec.git is not None:
        return _git_tags(spec.git, timeout)
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        if spec.registry is not None:
            return _registry_tags(spec.registry, http)
        if spec.pypi is not None:
            return _pypi_versions(spec.pypi, http)
        assert spec.http is not None
        return _http_versions(spec.http, http)
    finally:
        if own:
            http.close()


# -- registry ------------------------------------------------------------------

def _registry_tags(spec: RegistryImage, client: httpx.Client) -> list[str]:
    where = f"registry {_shown(spec.url)} (repository {spec.repository})"
    url: str | None = f"{spec.url.rstrip('/')}/v2/{spec.repository}/tags/list?n={spec.page_size}"
    headers: dict[str, str] = {"Accept": "application/json"}
    token = spec.auth.token() if spec.auth else None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    tags: list[str] = []
    answered_challenge = False
    pages = 0
    while url is not None:
        response = _get(client, url, headers, where)
        if response.status_code == 401 and not answered_challenge:
            answered_challenge = True
            headers["Authorization"] = _answer_challenge(response, spec.auth, client, where)
            continue
        _check_status(response, where, "repository")
        data = _json(response, where)
        listed = data.get("tags") if isinstance(data, dict) else None
        if listed is None and isinstance(data, dict) and "tags" in data:
            listed = []  # a repository without tags answers "tags": null
        if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
            raise VersionSourceError(f"{where} answered JSON without a list of tags; check "
                                     "that the URL is a registry's (HTTP API v2)")
        tags += listed
        pages += 1
        following = response.links.get("next", {}).get("url")
        if following and pages >= MAX_PAGES:
            raise VersionSourceError(f"{where} lists more than {MAX_PAGES} pages of tags; "
                                     "narrow the repository or raise the page size")
        url = urljoin(url, following) if following else None
    return tags


def _answer_challenge(response: httpx.Response, auth: Auth | None, client: httpx.Client,
                      where: str) -> str:
    """The Authorization header that the 401's WWW-Authenticate challenge asks for."""
    challenge = response.headers.get("WWW-Authenticate", "")
    scheme, _, rest = challenge.partition(" ")
    username = auth.username if auth else None
    password = auth.password() if auth else None
    if scheme.lower() == "basic":
        if not username or password is None:
            raise VersionSourceError(f"{where} needs credentials (401, basic auth); set "
                                     "auth.username and auth.password_env, and export that "
                                     "variable")
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        return f"Basic {pair}"
    if scheme.lower() != "bearer":
        raise VersionSourceError(f"{where} refused the request (401) with challenge "
                                 f"{scheme or 'none'!r}; only basic and bearer are supported")
    params = dict(_CHALLENGE_PARAM.findall(rest))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise VersionSourceError(f"{where} asked for a bearer token without a usable realm "
                                 f"URL; check the registry's token auth configuration")
    basic = httpx.BasicAuth(username, password) if username and password is not None else None
    try:
        answer = client.get(realm, params=params, auth=basic)
    except httpx.HTTPError as error:
        raise VersionSourceError(f"{where}: its token server {_shown(realm)} cannot be "
                                 f"reached ({type(error).__name__}); check the network") from None
    if answer.status_code in (401, 403):
        raise VersionSourceError(f"{where}: its token server {_shown(realm)} refused the "
                                 f"credentials ({answer.status_code}); check auth.username and "
                                 "the password variable")
    _check_status(answer, f"token server {_shown(realm)} of {where}", "token")
    data = _json(answer, f"token server {_shown(realm)} of {where}")
    token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise VersionSourceError(f"{where}: its token server {_shown(realm)} answered without "
                                 "a token; check the registry's token auth configuration")
    return f"Bearer {token}"


# -- Python package index --------------------------------------------------------

def _pypi_versions(spec: PypiPackage, client: httpx.Client) -> list[str]:
    name = _normalize(spec.package)
    index = spec.index.rstrip("/")
    where = f"package index {_shown(spec.index)} (package {spec.package})"
    basic = _basic(spec.auth)
    if index.endswith("/simple"):
        response = _get(client, f"{index}/{name}/", {"Accept": f"{_SIMPLE_JSON}, "
                                                     "text/html;q=0.1"}, where, basic)
        _check_status(response, where, "package")
        if response.headers.get("content-type", "").startswith(_SIMPLE_JSON):
            return _simple_json_versions(_json(response, where), name, where)
        return _simple_html_versions(response.text, name, where)
    response = _get(client, f"{index}/{name}/json", {"Accept": "application/json"}, where,
                    basic)
    _check_status(response, where, "package")
    data = _json(response, where)
    releases = data.get("releases") if isinstance(data, dict) else None
    if not isinstance(releases, dict):
        raise VersionSourceError(f"{where} answered JSON without releases; check that the "
                                 "index URL is a JSON API (…/pypi) or a simple index (…/simple)")
    return [version for version, files in releases.items()
            if not (isinstance(files, list) and files
                    and all(isinstance(f, dict) and f.get("yanked") for f in files))]


def _simple_json_versions(data: Any, name: str, where: str) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise VersionSourceError(f"{where} answered simple-API JSON without files")
    versions = {v for f in data["files"] if isinstance(f, dict) and not f.get("yanked")
                for v in [_version_from_filename(str(f.get("filename", "")), name)] if v}
    return sorted(versions)


def _simple_html_versions(html: str, name: str, where: str) -> list[str]:
    links = _HTML_LINK.findall(html)
    if "<" not in html:
        raise VersionSourceError(f"{where} answered something that is not a simple-API page")
    versions = {v for attributes, text in links if "data-yanked" not in attributes
                for v in [_version_from_filename(text.strip(), name)] if v}
    return sorted(versions)


def _version_from_filename(filename: str, name: str) -> str | None:
    """``1.4.2`` from ``web_tool-1.4.2-py3-none-any.whl`` or ``web-tool-1.4.2.tar.gz``."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return parts[1] if len(parts) >= 5 and _normalize(parts[0]) == name else None
    for extension in _SDIST_EXTENSIONS:
        if filename.endswith(extension):
            stem = filename[: -len(extension)]
            for at in [m.start() for m in re.finditer("-", stem)]:
                if _normalize(stem[:at]) == name:
                    return stem[at + 1:] or None
    return None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- Git tags and generic JSON -----------------------------------------------------

def _git_tags(spec: GitTags, timeout: float) -> list[str]:
    url = parse_repo_url(spec.url)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL":
           ":".join(ALLOWED_SCHEMES), "LC_ALL": "C", "SSH_ASKPASS_REQUIRE": "never"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    try:
        done = subprocess.run(["git", "ls-remote", "--tags", "--refs", "--", url.for_git],
                              capture_output=True, text=True, errors="replace", env=env,
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    except FileNotFoundError:
        raise VersionSourceError("the git command is not installed; install git to list the "
                                 f"tags of {url.display}") from None
    except subprocess.TimeoutExpired:
        raise VersionSourceError(f"listing the tags of {url.display} took over {timeout:g}s; "
                                 "check the network") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = url.redact(lines[0].removeprefix("fatal: ")) if lines else "git failed"
        raise VersionSourceError(f"cannot list the tags of {url.display}: {reason}; check the "
                                 "URL and the credentials")
    return [line.partition("\trefs/tags/")[2] for line in done.stdout.splitlines()
            if "\trefs/tags/" in line]


def _http_versions(spec: HttpJson, client: httpx.Client) -> list[str]:
    where = f"endpoint {_shown(spec.url)}"
    headers = {"Accept": "application/json"}
    token = spec.auth.token() if spec.auth else None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = _get(client, spec.url, headers, where, _basic(spec.auth))
    _check_status(response, where, "URL")
    data = _json(response, where)
    try:
        found = jmespath.search(spec.expression, data)
    except jmespath.exceptions.JMESPathError as error:
        raise VersionSourceError(f"expression {spec.expression!r} for {where} is not valid "
                                 f"JMESPath: {error}") from None
    if isinstance(found, str | int | float) and not isinstance(found, bool):
        found = [found]
    if not isinstance(found, list):
        raise VersionSourceError(f"expression {spec.expression!r} found no list of versions "
                                 f"in the answer of {where}; check it against the JSON")
    return [str(item) for item in found if isinstance(item, str | int | float)
            and not isinstance(item, bool)]


# -- HTTP plumbing ---------------------------------------------------------------------

def _basic(auth: Auth | None) -> httpx.BasicAuth | None:
    if auth is None or not auth.username:
        return None
    password = auth.password()
    return httpx.BasicAuth(auth.username, password) if password is not None else None


def _get(client: httpx.Client, url: str, headers: dict[str, str], where: str,
         auth: httpx.BasicAuth | None = None) -> httpx.Response:
    try:
        return client.get(url, headers=headers, auth=auth if auth is not None else
                          httpx.USE_CLIENT_DEFAULT)
    except httpx.InvalidURL:
        raise VersionSourceError(f"{where}: the URL is not valid; write e.g. "
                                 "https://host:port") from None
    except httpx.HTTPError as error:
        raise VersionSourceError(f"{where} cannot be reached ({type(error).__name__}: "
                                 f"{redact_url_credentials(str(error))}); check the URL and "
                                 "the network") from None


def _check_status(response: httpx.Response, where: str, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    if status in (401, 403):
        raise VersionSourceError(f"{where} refused access ({status}); set or fix the policy's "
                                 "auth credentials")
    if status == 404:
        raise VersionSourceError(f"{where} has no such {what} (404); check the name and URL")
    raise VersionSourceError(f"{where} answered {status} {response.reason_phrase}; retry "
                             "later or check the server")


def _json(response: httpx.Response, where: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise VersionSourceError(f"{where} answered something that is not JSON "
                                 f"({response.headers.get('content-type', 'no content type')}); "
                                 "check that the URL is the API's") from None


def _shown(url: str) -> str:
    return redact_url_credentials(url).rstrip("/")
