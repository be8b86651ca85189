"""The system map: which apps exist, where they render from, where they go.

It lives in Git, in ``gitward.yaml`` at the repository root (a mapping with
``apps:`` and ``targets:``, or a stream of ``kind: Application`` / ``kind:
Target`` documents) and in any ``*.yaml`` under ``gitward.d/``. An agent is
started with only the repository; everything here comes from the commit.

The specs are plain dataclasses, so that a command whose map comes from the
cache (a pickle of these) never imports pydantic. They are checked only when a
map is read from Git, through `validate_spec` (a validator pydantic compiles
once, see `core.validation`): pydantic takes a field's
constraints and description from its ``metadata`` and the class's settings
from ``__pydantic_config__``, and reports a ``ValueError`` raised in
``__post_init__`` as a validation error at the spec that raised it.

>>> AppSpec(name="web", path="apps/web").sync.prune
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from gitward.core.document import NAME_PATTERN
from gitward.core.validation import validate, validator

if TYPE_CHECKING:
    from pydantic import ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = ["AppSpec", "HttpProbe", "ProbeSpec", "RetryPolicy", "SyncPolicy", "SystemSpec",
           "TargetSpec", "TcpProbe", "build_validators", "parse_duration", "validate_spec"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_STRICT: ConfigDict = {"extra": "forbid"}
_Spec = TypeVar("_Spec")


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


class _Seconds:
    """How pydantic reads a `Duration`: through `parse_duration`, then as a float
    (so that constraints such as ``gt`` still apply); in JSON Schema, a number or
    text such as ``30s``."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(parse_duration, handler(source))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        text = {"type": "string", "pattern": _DURATION.pattern,
                "description": "Seconds, or a number with ms, s, m, h or d, e.g. 30s."}
        return {"anyOf": [handler(schema), text]}


Duration = Annotated[float, _Seconds]


def validate_spec(spec: type[_Spec], data: Any) -> _Spec:
    """`data` (parsed YAML) checked and converted into a `spec`; a bad value
    raises pydantic's ``ValidationError``, every problem with its field.

    >>> validate_spec(SyncPolicy, {"interval": "5m"}).interval
    300.0
    """
    return validate(spec, data)


def build_validators() -> None:
    """Build (or take from the cache) the system map's validators now: a command
    that knows it will read the map from Git does it while it waits for the fetch."""
    for spec in (AppSpec, TargetSpec):
        validator(spec)


@dataclass(kw_only=True)
class RetryPolicy:
    __pydantic_config__ = _STRICT

    limit: int = field(default=0, metadata={
        "ge": 0, "description": "Retries after a failed sync; 0 = none."})
    backoff: Duration = field(default=5.0, metadata={
        "description": "Wait before the first retry."})
    factor: float = field(default=2.0, metadata={
        "ge": 1.0, "description": "Each retry waits this much longer."})
    max: Duration = field(default=180.0, metadata={
        "description": "Longest wait between retries."})

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        return float(min(self.max, self.backoff * self.factor ** max(0, attempt - 1)))


@dataclass(kw_only=True)
class SyncPolicy:
    __pydantic_config__ = _STRICT

    auto: bool = field(default=True, metadata={
        "description": "Sync on every new revision (agent)."})
    prune: bool = field(default=True, metadata={
        "description": "Delete what was removed from Git."})
    self_heal: bool = field(default=False, metadata={
        "description": "Re-apply when the target drifts."})
    interval: Duration = field(default=60.0, metadata={
        "description": "How often the agent checks for drift."})
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: Duration | None = field(default=None, metadata={
        "description": "Give up a sync after this long."})
    suspend: bool = field(default=False, metadata={
        "description": "Hold all automatic syncs of this app."})
    allow_empty: bool = field(default=False, metadata={
        "description": "Allow a render of zero resources to prune all."})


@dataclass(kw_only=True)
class TargetSpec:
    __pydantic_config__ = _STRICT

    name: str = field(metadata={"pattern": NAME_PATTERN})
    type: Literal["local"] = "local"
    root: str = field(default="/", metadata={
        "description": "Directory that stands for / on this target. Absolute."})

    def __post_init__(self) -> None:
        if not (self.root.startswith("/") or self.root.startswith("~")):
            raise ValueError(f"root {self.root!r} must be an absolute path")


@dataclass(kw_only=True)
class HttpProbe:
    __pydantic_config__ = _STRICT

    url: str = field(metadata={
        "description": "URL to GET, e.g. http://127.0.0.1:8080/healthz."})
    status: int = field(default=200, metadata={
        "ge": 100, "le": 599, "description": "Status code that means healthy."})


@dataclass(kw_only=True)
class TcpProbe:
    __pydantic_config__ = _STRICT

    host: str = field(metadata={"description": "Host to connect to."})
    port: int = field(metadata={"ge": 1, "le": 65535})


@dataclass(kw_only=True)
class ProbeSpec:
    """A check of the running thing, beyond the resources' own health.

    Exactly one of `http`, `tcp` or `command`; it passes when any of
    1 + `retries` attempts, `delay` apart, succeeds within `timeout`."""

    __pydantic_config__ = _STRICT

    http: HttpProbe | None = None
    tcp: TcpProbe | None = None
    command: str | None = field(default=None, metadata={
        "description": "Shell command; exit 0 means healthy."})
    timeout: Duration = field(default=5.0, metadata={
        "description": "Each attempt's time limit."})
    retries: int = field(default=2, metadata={"ge": 0, "le": 20})
    delay: Duration = field(default=1.0, metadata={"description": "Wait between attempts."})

    def __post_init__(self) -> None:
        chosen = [k for k in ("http", "tcp", "command") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of http, tcp or command")


@dataclass(kw_only=True)
class AppSpec:
    __pydantic_config__ = _STRICT

    name: str = field(metadata={"pattern": NAME_PATTERN})
    path: str = field(metadata={
        "description": "Directory of the app's manifests, relative to the repo root."})
    target: str = field(default="local", metadata={
        "description": "Name of the target the resources go to."})
    renderer: Literal["plain", "jinja", "overlay"] = "plain"
    values: list[str] = field(default_factory=list, metadata={
        "description": "Values files (repo paths), later ones win."})
    vars: dict[str, Any] = field(default_factory=dict, metadata={
        "description": "Inline values, win last."})
    base: str | None = field(default=None, metadata={
        "description": "Overlay renderer: the base directory."})
    template: bool = field(default=False, metadata={
        "description": "Overlay renderer: render base and overlay through Jinja2 with "
                       "the values."})
    sync: SyncPolicy = field(default_factory=SyncPolicy)
    depends_on: list[str] = field(default_factory=list, metadata={
        "description": "Apps synced before this one."})
    probe: ProbeSpec | None = field(default=None, metadata={
        "description": "Health check of the app as a whole."})

    def __post_init__(self) -> None:
        if self.renderer == "overlay" and not self.base:
            raise ValueError("renderer overlay needs base: the directory it patches")

    @property
    def watched_paths(self) -> list[str]:
        """Repository paths whose change means this app must be re-rendered."""
        return [p for p in [self.path, self.base, *self.values] if p]


@dataclass(kw_only=True)
class SystemSpec:
    __pydantic_config__ = _STRICT

    apps: dict[str, AppSpec] = field(default_factory=dict)
    targets: dict[str, TargetSpec] = field(default_factory=dict)
