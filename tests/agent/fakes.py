"""Signed webhook requests and a fake agent, shared by the agent's HTTP-side tests."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path

from gitward.agent.state import AppStatus

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "It's a Secret to Everybody"
MANAGED_URL = "https://github.com/acme/ops.git"


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def hmac_hex(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(provider: str, body: bytes, *, secret: str = SECRET, event: str | None = None,
                   delivery_id: str = "delivery-1") -> dict[str, str]:
    """The headers each forge sends with `body`, signed with `secret`."""
    digest = hmac_hex(body, secret)
    headers = {"Content-Type": "application/json"}
    if provider == "github":
        headers |= {"X-Hub-Signature-256": f"sha256={digest}",
                    "X-GitHub-Event": event or "push", "X-GitHub-Delivery": delivery_id}
    elif provider == "gitlab":
        headers |= {"X-Gitlab-Token": secret, "X-Gitlab-Event": event or "Push Hook",
                    "X-Gitlab-Event-UUID": delivery_id}
    elif provider == "gitea":  # what Forgejo sends: both header families
        headers |= {"X-Gitea-Signature": digest, "X-Forgejo-Signature": digest,
                    "X-Gitea-Event": event or "push", "X-Forgejo-Event": event or "push",
                    "X-Gitea-Delivery": delivery_id, "X-Forgejo-Delivery": delivery_id}
    elif provider == "bitbucket":
        headers |= {"X-Hub-Signature": f"sha256={digest}", "X-Event-Key": event or "repo:push",
                    "X-Request-UUID": delivery_id}
    elif provider == "generic":
        headers |= {"X-Gitward-Signature": f"sha256={digest}", "X-Gitward-Delivery": delivery_id}
    else:
        raise ValueError(provider)
    return headers


class FakeAgent:
    """An `AgentHandle` that records the fetches it is asked for."""

    def __init__(self, urls: list[str] | None = None, apps: list[AppStatus] | None = None,
                 *, is_ready: bool = True) -> None:
        self.urls = urls if urls is not None else [MANAGED_URL]
        self.statuses = apps or []
        self.is_ready = is_ready
        self.fail_fetch = False
        self.fetches: list[str] = []
        self._lock = threading.Lock()

    def ready(self) -> bool:
        return self.is_ready

    def apps(self) -> list[AppStatus]:
        return list(self.statuses)

    def request_fetch(self, reason: str) -> None:
        if self.fail_fetch:
            raise RuntimeError("scheduler is gone")
        with self._lock:
            self.fetches.append(reason)

    def repository_urls(self) -> list[str]:
        return list(self.urls)
