"""What the agent knows about each app, as the HTTP surface shows it.

`AgentHandle` is the narrow seam between the agent's loop and its HTTP
surface: the web layer reads status and asks for a fetch; it never touches
the engine itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["AgentHandle", "AppStatus"]


@dataclass
class AppStatus:
    app: str
    sync: str = "unknown"            # synced | out_of_sync | syncing | held | error | unknown
    health: str = "unknown"          # healthy | progressing | unknown | missing | degraded
    revision: str | None = None      # last revision synced successfully
    head: str | None = None          # revision the source is at now
    subject: str = ""
    target: str = ""
    last_sync: float | None = None
    last_outcome: str | None = None
    message: str | None = None       # why it is held, failing or out of sync
    pinned: str | None = None
    suspended: bool = False
    retries: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AgentHandle(Protocol):
    def ready(self) -> bool: ...
    def apps(self) -> list[AppStatus]: ...
    def request_fetch(self, reason: str) -> None: ...
    def repository_urls(self) -> list[str]: ...
    def updates(self) -> list[dict[str, Any]]: ...
