"""Webhooks: who is calling, is it really them, and which repository moved.

A forge POSTs to ``/hooks/<provider>`` when someone pushes. The agent does not
trust anything in that request except one fact: "this repository changed,
fetch now". Everything that decides what to deploy is read from Git itself
afterwards, so a webhook can at most cause one extra fetch.

The story of a delivery, as `verify_and_parse` tells it:

1. the provider must be one gitward knows (else 404);
2. a secret must be configured, and the request must prove it knows it, by
   an HMAC-SHA256 of the body (GitHub, Gitea/Forgejo, Bitbucket, generic) or
   the shared token (GitLab), compared in constant time (else 401);
3. the body must be a JSON object (else 400);
4. the result is a `Delivery`: its id (for `DeliveryLog` to coalesce
   retries), whether it is a push, the ref, and every URL or full name the
   payload gives for the repository, which `repository_matches` compares with
   the repositories the agent manages.

No web framework is imported here; ``gitward.agent.http`` feeds in the
headers and the (size-capped) body.

>>> body = b'{"repository": "https://git.example/ops.git"}'
>>> signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
>>> verify_and_parse("generic", {"X-Gitward-Signature": signature}, body, "s3cret").is_push
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from gitward.agent.repository_names import repository_matches
from gitward.core.errors import GitwardError

__all__ = [
    "PROVIDERS",
    "Delivery",
    "DeliveryLog",
    "WebhookError",
    "repository_matches",
    "verify_and_parse",
]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified webhook delivery, reduced to what the agent acts on."""

    provider: str
    event: str
    delivery_id: str | None
    repositories: tuple[str, ...]
    ref: str | None
    is_push: bool


class WebhookError(GitwardError):
    """A delivery the agent refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Headers = Mapping[str, str]
Payload = dict[str, Any]


# -- the entry point ---------------------------------------------------------

def verify_and_parse(provider: str, headers: Headers, body: bytes,
                     secret: str | None) -> Delivery:
    """Check that `body` was signed with `secret` by `provider`, then read it.

    Raises `WebhookError` with status 404 (unknown provider), 401 (no secret
    configured, signature missing or wrong) or 400 (body not a JSON object).
    """
    rules = _PROVIDER_RULES.get(provider)
    if rules is None:
        raise WebhookError(404, f"unknown webhook provider {provider!r}; "
                                f"use one of: {', '.join(PROVIDERS)}")
    if not secret:
        raise WebhookError(401, "webhook secret not configured; set one in the agent's "
                                "configuration and in the sender's webhook settings")
    lowered = {name.lower(): value for name, value in headers.items()}
    rules.verify(lowered, body, secret.encode())
    return rules.parse(lowered, _load_payload(lowered, body))


# -- proving the secret ------------------------------------------------------

def _verify_prefixed_hmac(header: str) -> Callable[[dict[str, str], bytes, bytes], None]:
    """A check for ``<header>: sha256=<hex HMAC-SHA256 of the body>``."""
    def verify(headers: dict[str, str], body: bytes, secret: bytes) -> None:
        value = headers.get(header.lower())
        if value is None:
            raise WebhookError(401, f"missing signature header {header}")
        scheme, _, digest = value.strip().partition("=")
        if scheme.lower() != "sha256" or not digest:
            raise WebhookError(401, f"signature header {header} must read sha256=<hex digest>")
        _check_digest(digest, body, secret, header)
    return verify


def _verify_gitea_hmac(headers: dict[str, str], body: bytes, secret: bytes) -> None:
    # Forgejo sends both headers with the same value; either one is enough.
    for header in ("X-Forgejo-Signature", "X-Gitea-Signature"):
        value = headers.get(header.lower())
        if value is not None:
            _check_digest(value.strip(), body, secret, header)
            return
    raise WebhookError(401, "missing signature header X-Gitea-Signature or X-Forgejo-Signature")


def _verify_gitlab_token(headers: dict[str, str], body: bytes, secret: bytes) -> None:
    token = headers.get("x-gitlab-token")
    if token is None:
        raise WebhookError(401, "missing token header X-Gitlab-Token")
    if not hmac.compare_digest(_header_bytes(token), secret):
        raise WebhookError(401, "X-Gitlab-Token does not match the configured secret")


def _check_digest(given_hex: str, body: bytes, secret: bytes, header: str) -> None:
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(_header_bytes(given_hex.lower()), expected):
        raise WebhookError(401, f"signature in {header} does not match the body; check that "
                                "the sender and the agent use the same secret")


def _header_bytes(value: str) -> bytes:
    # compare_digest refuses non-ASCII str; headers can carry any latin-1 text.
    return value.encode("utf-8", "surrogateescape")


# -- reading the body --------------------------------------------------------

def _load_payload(headers: dict[str, str], body: bytes) -> Payload:
    """The JSON object in `body`, also when sent form-encoded as ``payload=<json>``."""
    text: str | bytes = body
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields = parse_qs(body.decode("latin-1"))
        text = (fields.get("payload") or [""])[0]
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WebhookError(400, f"body is not valid JSON: {_first_line(error)}") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, f"body must be a JSON object, got {type(payload).__name__}")
    return payload


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]


def _text_at(payload: Any, *path: str) -> str | None:
    """The string at `path` inside nested objects, or None if anything is off."""
    value = payload
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value if isinstance(value, str) and value else None


def _texts_at(payload: Any, paths: Iterable[tuple[str, ...]]) -> list[str]:
    return [text for path in paths if (text := _text_at(payload, *path)) is not None]


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(texts))


# -- each provider's payload -------------------------------------------------

_GITHUB_LIKE_REPOSITORY = [("repository", field) for field in (
    "clone_url", "ssh_url", "git_url", "html_url", "svn_url", "full_name")]


def _parse_github(headers: dict[str, str], payload: Payload) -> Delivery:
    event = headers.get("x-github-event", "")
    return Delivery(provider="github", event=event,
                    delivery_id=headers.get("x-github-delivery") or None,
                    repositories=_unique(_texts_at(payload, _GITHUB_LIKE_REPOSITORY)),
                    ref=_text_at(payload, "ref"), is_push=event == "push")


def _parse_gitea(headers: dict[str, str], payload: Payload) -> Delivery:
    event = headers.get("x-forgejo-event") or headers.get("x-gitea-event") or ""
    delivery_id = headers.get("x-forgejo-delivery") or headers.get("x-gitea-delivery")
    return Delivery(provider="gitea", event=event, delivery_id=delivery_id or None,
                    repositories=_unique(_texts_at(payload, _GITHUB_LIKE_REPOSITORY)),
                    ref=_text_at(payload, "ref"), is_push=event == "push")


_GITLAB_PUSH_EVENTS = frozenset({"Push Hook", "Tag Push Hook"})
_GITLAB_REPOSITORY = [
    *[("project", field) for field in (
        "git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url", "path_with_namespace")],
    *[("repository", field) for field in ("git_http_url", "git_ssh_url", "homepage", "url")],
]


def _parse_gitlab(headers: dict[str, str], payload: Payload) -> Delivery:
    event = headers.get("x-gitlab-event", "")
    # A system hook carries every kind of event under one header value.
    is_push = event in _GITLAB_PUSH_EVENTS or (
        event == "System Hook" and payload.get("object_kind") in ("push", "tag_push"))
    # Idempotency-Key stays the same when GitLab retries; the event UUID is the
    # fallback for GitLab versions that do not send it.
    delivery_id = headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid")
    return Delivery(provider="gitlab", event=event, delivery_id=delivery_id or None,
                    repositories=_unique(_texts_at(payload, _GITLAB_REPOSITORY)),
                    ref=_text_at(payload, "ref"), is_push=is_push)


_BITBUCKET_PUSH_EVENTS = frozenset({"repo:push", "repo:refs_changed"})


def _parse_bitbucket(headers: dict[str, str], payload: Payload) -> Delivery:
    event = headers.get("x-event-key", "")
    return Delivery(provider="bitbucket", event=event,
                    delivery_id=_bitbucket_delivery_id(headers),
                    repositories=_unique(_bitbucket_repositories(payload)),
                    ref=_bitbucket_ref(payload), is_push=event in _BITBUCKET_PUSH_EVENTS)


def _bitbucket_delivery_id(headers: dict[str, str]) -> str | None:
    # Cloud: X-Hook-UUID names the webhook, X-Request-UUID the request; Server: X-Request-Id.
    request = headers.get("x-request-uuid") or headers.get("x-request-id")
    hook = headers.get("x-hook-uuid")
    if request and hook:
        return f"{hook}:{request}"
    return request or None


def _bitbucket_repositories(payload: Payload) -> list[str]:
    repository = payload.get("repository")
    names = _texts_at(payload, [("repository", "links", "html", "href"),
                                ("repository", "full_name")])
    if not isinstance(repository, dict):
        return names
    links = repository.get("links")
    for kind in ("clone", "self"):  # Server lists several links per kind
        entries = links.get(kind) if isinstance(links, dict) else None
        if isinstance(entries, list):
            names += [href for entry in entries
                      if (href := _text_at(entry, "href")) is not None]
    project_key, slug = _text_at(repository, "project", "key"), _text_at(repository, "slug")
    if project_key and slug:
        names.append(f"{project_key}/{slug}")
    return names


def _bitbucket_ref(payload: Payload) -> str | None:
    changes = payload.get("changes")  # Server
    if isinstance(changes, list) and changes:
        return _text_at(changes[0], "refId")
    cloud_changes = _text_at_list(payload, "push", "changes")  # Cloud
    if not cloud_changes:
        return None
    name = _text_at(cloud_changes[0], "new", "name")
    kind = _text_at(cloud_changes[0], "new", "type")
    if name is None:
        return None
    return f"refs/tags/{name}" if kind == "tag" else f"refs/heads/{name}"


def _text_at_list(payload: Payload, *path: str) -> list[Any]:
    value: Any = payload
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []


def _parse_generic(headers: dict[str, str], payload: Payload) -> Delivery:
    repository = _text_at(payload, "repository")
    if repository is None:
        raise WebhookError(400, 'generic webhook body needs a "repository" string, e.g. '
                                '{"repository": "https://git.example/ops.git", '
                                '"ref": "refs/heads/main"}')
    return Delivery(provider="generic", event="push",
                    delivery_id=headers.get("x-gitward-delivery") or None,
                    repositories=(repository,), ref=_text_at(payload, "ref"), is_push=True)


@dataclass(frozen=True, slots=True)
class _ProviderRules:
    verify: Callable[[dict[str, str], bytes, bytes], None]
    parse: Callable[[dict[str, str], Payload], Delivery]


_PROVIDER_RULES: dict[str, _ProviderRules] = {
    "github": _ProviderRules(_verify_prefixed_hmac("X-Hub-Signature-256"), _parse_github),
    "gitlab": _ProviderRules(_verify_gitlab_token, _parse_gitlab),
    "gitea": _ProviderRules(_verify_gitea_hmac, _parse_gitea),
    "bitbucket": _ProviderRules(_verify_prefixed_hmac("X-Hub-Signature"), _parse_bitbucket),
    "generic": _ProviderRules(_verify_prefixed_hmac("X-Gitward-Signature"), _parse_generic),
}
PROVIDERS: tuple[str, ...] = tuple(_PROVIDER_RULES)


# -- coalescing retries ------------------------------------------------------

class DeliveryLog:
    """The last `capacity` delivery ids seen, so a redelivery is not acted on twice.

    >>> log = DeliveryLog()
    >>> log.first_time("abc"), log.first_time("abc"), log.first_time(None)
    (True, False, True)
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"DeliveryLog capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, delivery_id: str | None) -> bool:
        """Record `delivery_id`; False if it was already recorded (None never is)."""
        if delivery_id is None:
            return True
        with self._lock:
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True

    def forget(self, delivery_id: str | None) -> None:
        """Drop `delivery_id`, so that a retry of a delivery that failed is acted on."""
        if delivery_id is None:
            return
        with self._lock:
            self._seen.pop(delivery_id, None)
