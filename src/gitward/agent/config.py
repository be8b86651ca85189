"""The agent's own configuration: only how to reach the repository and where
to keep state. Everything about apps comes from Git.

Values come from, in order of precedence: command-line flags, environment
variables (``GITWARD_REPO``, ``GITWARD_REF``, ``GITWARD_STORE``,
``GITWARD_LISTEN``, ``GITWARD_WEBHOOK_SECRET``, ``GITWARD_POLL_INTERVAL``,
``GITWARD_LOG_FORMAT``, ``GITWARD_STATE_DIR``), an optional TOML file
(``--config``), then defaults::

    repo = "https://git.example.com/ops/infra.git"
    ref = "main"
    listen = "127.0.0.1:8080"
    poll_interval = "60s"
    webhook_secret = "..."
    [roots]
    local = "/"
    [[notifications]]
    url = "https://hooks.slack.com/services/..."
    format = "slack"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gitward.core.errors import GitwardError
from gitward.core.system import Duration

__all__ = ["AgentConfig", "ConfigError", "load_config"]

ENV_FIELDS = {"repo": "GITWARD_REPO", "ref": "GITWARD_REF", "store": "GITWARD_STORE",
              "listen": "GITWARD_LISTEN", "webhook_secret": "GITWARD_WEBHOOK_SECRET",
              "poll_interval": "GITWARD_POLL_INTERVAL", "log_format": "GITWARD_LOG_FORMAT",
              "state_dir": "GITWARD_STATE_DIR"}


class ConfigError(GitwardError):
    """The agent's own configuration is invalid."""


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(description="Repository URL or local path.")
    ref: str | None = Field(None, description="Branch, tag or SHA; default branch if unset.")
    store: str | None = Field(None, description="Store URL; SQLite in the state dir if unset.")
    state_dir: Path | None = None
    listen: str = Field("127.0.0.1:8080", description="HOST:PORT for health, metrics, hooks.")
    roots: dict[str, str] = Field(default_factory=dict, description="Target root overrides.")
    poll_interval: Duration = Field(60.0, description="How often to fetch.")
    jitter: float = Field(0.1, ge=0, le=0.5, description="Fraction of the interval to vary by.")
    webhook_secret: str | None = Field(None, description="Shared secret of the webhooks.")
    max_body: int = Field(1_048_576, ge=1024, description="Largest webhook body accepted.")
    log_format: Literal["text", "json"] = "text"
    workers: int = Field(4, ge=1, le=64, description="Apps operated on at the same time.")
    notifications: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    def listen_address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


def load_config(flags: Mapping[str, Any], env: Mapping[str, str],
                config_file: Path | None = None) -> AgentConfig:
    """Merge TOML file < environment < flags (flags given as None are unset)."""
    merged: dict[str, Any] = {}
    if config_file is not None:
        try:
            merged.update(tomllib.loads(config_file.read_text()))
        except OSError as error:
            raise ConfigError(f"{config_file}: cannot read: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_file}: not valid TOML: {error}") from None
    for name, variable in ENV_FIELDS.items():
        if env.get(variable):
            merged[name] = env[variable]
    merged.update({k: v for k, v in flags.items() if v not in (None, (), [], {})})
    if not merged.get("repo"):
        raise ConfigError("no repository: pass --repo URL, set GITWARD_REPO, or write "
                          "repo = \"...\" in the --config file")
    try:
        return AgentConfig.model_validate(merged)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        source = f"{config_file}: " if config_file else ""
        raise ConfigError(f"{source}{where}: {first['msg']}") from None
