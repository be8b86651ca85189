"""The system map: which apps exist, where they render from, where they go.

It lives in Git, in ``gitward.yaml`` at the repository root (a mapping with
``apps:`` and ``targets:``, or a stream of ``kind: Application`` / ``kind:
Target`` documents) and in any ``*.yaml`` under ``gitward.d/``. An agent is
started with only the repository; everything here comes from the commit.

>>> AppSpec(name="web", path="apps/web").sync.prune
True
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gitward.core.document import NAME_PATTERN

__all__ = ["AppSpec", "HttpProbe", "ProbeSpec", "RetryPolicy", "SyncPolicy", "SystemSpec",
           "TargetSpec", "TcpProbe", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"1.5m"``, ``"2h"`` or ``"250ms"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 30s, 5m, 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 5m, 1h")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not 0 <= seconds < float("inf"):
        raise ValueError("a duration cannot be negative and must be finite")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    # Built on first validation: a command whose system map comes from the cache
    # never validates, so it should not pay ~40 ms for building validators.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class RetryPolicy(_Strict):
    limit: int = Field(0, ge=0, description="Retries after a failed sync; 0 = none.")
    backoff: Duration = Field(5.0, description="Wait before the first retry.")
    factor: float = Field(2.0, ge=1.0, description="Each retry waits this much longer.")
    max: Duration = Field(180.0, description="Longest wait between retries.")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        return float(min(self.max, self.backoff * self.factor ** max(0, attempt - 1)))


class SyncPolicy(_Strict):
    auto: bool = Field(True, description="Sync on every new revision (agent).")
    prune: bool = Field(True, description="Delete what was removed from Git.")
    self_heal: bool = Field(False, description="Re-apply when the target drifts.")
    interval: Duration = Field(60.0, description="How often the agent checks for drift.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: Duration | None = Field(None, description="Give up a sync after this long.")
    suspend: bool = Field(False, description="Hold all automatic syncs of this app.")
    allow_empty: bool = Field(False, description="Allow a render of zero resources to prune all.")


class TargetSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    type: Literal["local"] = "local"
    root: str = Field("/", description="Directory that stands for / on this target. Absolute.")

    @model_validator(mode="after")
    def _root_is_absolute(self) -> TargetSpec:
        if not (self.root.startswith("/") or self.root.startswith("~")):
            raise ValueError(f"root {self.root!r} must be an absolute path")
        return self


class HttpProbe(_Strict):
    url: str = Field(description="URL to GET, e.g. http://127.0.0.1:8080/healthz.")
    status: int = Field(200, ge=100, le=599, description="Status code that means healthy.")


class TcpProbe(_Strict):
    host: str = Field(description="Host to connect to.")
    port: int = Field(ge=1, le=65535)


class ProbeSpec(_Strict):
    """A check of the running thing, beyond the resources' own health.

    Exactly one of `http`, `tcp` or `command`; it passes when any of
    1 + `retries` attempts, `delay` apart, succeeds within `timeout`."""

    http: HttpProbe | None = None
    tcp: TcpProbe | None = None
    command: str | None = Field(None, description="Shell command; exit 0 means healthy.")
    timeout: Duration = Field(5.0, description="Each attempt's time limit.")
    retries: int = Field(2, ge=0, le=20)
    delay: Duration = Field(1.0, description="Wait between attempts.")

    @model_validator(mode="after")
    def _exactly_one(self) -> ProbeSpec:
        chosen = [k for k in ("http", "tcp", "command") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of http, tcp or command")
        return self


class AppSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    path: str = Field(description="Directory of the app's manifests, relative to the repo root.")
    target: str = Field("local", description="Name of the target the resources go to.")
    renderer: Literal["plain", "jinja", "overlay"] = "plain"
    values: list[str] = Field(default_factory=list,
                              description="Values files (repo paths), later ones win.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Inline values, win last.")
    base: str | None = Field(None, description="Overlay renderer: the base directory.")
    template: bool = Field(False, description="Overlay renderer: render base and overlay "
                                              "through Jinja2 with the values.")
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    depends_on: list[str] = Field(default_factory=list, description="Apps synced before this one.")
    probe: ProbeSpec | None = Field(None, description="Health check of the app as a whole.")

    @model_validator(mode="after")
    def _overlay_has_base(self) -> AppSpec:
        if self.renderer == "overlay" and not self.base:
            raise ValueError("renderer overlay needs base: the directory it patches")
        return self

    @property
    def watched_paths(self) -> list[str]:
        """Repository paths whose change means this app must be re-rendered."""
        return [p for p in [self.path, self.base, *self.values] if p]


class SystemSpec(_Strict):
    apps: dict[str, AppSpec] = Field(default_factory=dict)
    targets: dict[str, TargetSpec] = Field(default_factory=dict)
