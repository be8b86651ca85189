"""Update policies: where versions come from, which one to take, how to commit it.

A policy is a document in the repository's system map (``gitward.yaml`` or
``gitward.d/*.yaml``), next to the apps it keeps current::

    apiVersion: gitward/v1
    kind: UpdatePolicy
    metadata: {name: web-image}
    spec:
      source:
        registry: {url: https://registry.local, repository: web}
      select: {semver: ">=1.4 <2"}
      ignore: ["1.4.9"]
      commit: {mode: branch}

Files name the policy in a marker comment on the line of the value to keep
current (see `gitward.updates.markers`). Secrets never live in Git: a policy
names the environment variables that hold them (``password_env``,
``token_env``), read by the process that runs the updater.

>>> UpdatePolicy.model_validate({"name": "w", "source": {"git": {"url": "."}}}).interval
300.0
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gitward.core.document import NAME_PATTERN
from gitward.core.seams import Snapshot
from gitward.core.system import Duration
from gitward.renderers.yaml_load import field_line, load_documents
from gitward.updates.errors import UpdatePolicyError

__all__ = ["POLICY_KIND", "Auth", "CommitSettings", "GitTags", "HttpJson", "PypiPackage",
           "RegistryImage", "Selection", "UpdatePolicy", "VersionSourceSpec", "load_policies"]

POLICY_KIND = "UpdatePolicy"
SYSTEM_FILE = "gitward.yaml"
SYSTEM_DIR = "gitward.d"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Auth(_Strict):
    """Credentials, by reference: the variables are read when the source is asked."""

    username: str | None = Field(None, description="User name for basic or token auth.")
    password_env: str | None = Field(None, description="Environment variable with the password.")
    token_env: str | None = Field(None, description="Environment variable with a bearer token.")

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None

    def token(self) -> str | None:
        return os.environ.get(self.token_env) if self.token_env else None


class RegistryImage(_Strict):
    url: str = Field(description="Registry base URL, e.g. https://registry.local:5000.")
    repository: str = Field(description="Repository in the registry, e.g. team/web.")
    image: str | None = Field(None, description="Reference written in files before ':tag' "
                                                "(default: registry host/repository).")
    auth: Auth | None = None
    page_size: int = Field(100, ge=1, le=10_000, description="Tags asked per page (?n=).")

    @property
    def image_name(self) -> str:
        if self.image:
            return self.image
        host = re.sub(r"^[a-z]+://", "", self.url).rstrip("/")
        return f"{host}/{self.repository}"


class PypiPackage(_Strict):
    package: str = Field(description="Distribution name, e.g. requests.")
    index: str = Field("https://pypi.org/pypi", description="JSON API base (…/pypi) or a "
                                                             "simple index (…/simple).")
    auth: Auth | None = None


class GitTags(_Strict):
    url: str = Field(description="Repository whose tags are the versions.")


class HttpJson(_Strict):
    url: str = Field(description="URL answering JSON.")
    expression: str = Field(description="JMESPath giving a list of versions, e.g. "
                                        "releases[].tag_name.")
    auth: Auth | None = None


class VersionSourceSpec(_Strict):
    """Exactly one of registry, pypi, git or http."""

    registry: RegistryImage | None = None
    pypi: PypiPackage | None = None
    git: GitTags | None = None
    http: HttpJson | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VersionSourceSpec:
        chosen = [k for k in ("registry", "pypi", "git", "http") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of registry, pypi, git or http")
        return self


class Selection(_Strict):
    """Which of the source's versions to take: the highest that passes every filter."""

    semver: str | None = Field(None, description='Version range, e.g. ">=1.2 <2", "^1.4", '
                                                 '"~1.4.2"; implies sort semver.')
    prerelease: bool = Field(False, description="Allow pre-releases (1.5.0-rc.1).")
    regex: str | None = Field(None, description="Only versions matching this; a group named "
                                                "'version' is what is sorted.")
    sort: Literal["semver", "numerical", "alphabetical", "calver"] = "semver"

    @model_validator(mode="after")
    def _consistent(self) -> Selection:
        if self.semver is not None and self.sort != "semver":
            raise ValueError("a semver range needs sort: semver")
        if self.semver is not None:
            from gitward.updates.select import parse_range  # select builds on this module

            parse_range(self.semver)
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise ValueError(f"regex {self.regex!r} does not compile: {error}") from None
        return self


class CommitAuthor(_Strict):
    name: str = "gitward"
    email: str = "gitward@localhost"


class Signing(_Strict):
    format: Literal["ssh", "gpg"] = Field(description="ssh (ssh-keygen -Y sign) or gpg.")
    key: str = Field(description="ssh: private key file; gpg: key id. Read on the "
                                 "updater's machine.")


DEFAULT_MESSAGE = "Update {summary}\n\n{changes}"


class CommitSettings(_Strict):
    mode: Literal["push", "branch"] = Field(
        "push", description="push: to the branch itself; branch: to gitward/update/<policy>-"
                            "<version> for review.")
    per: Literal["run", "policy"] = Field("run", description="One commit per run or per policy.")
    message: str = Field(DEFAULT_MESSAGE, description="Template; {summary}, {changes}, "
                                                      "{policies}.")
    author: CommitAuthor = Field(default_factory=CommitAuthor)
    signing: Signing | None = None

    @model_validator(mode="after")
    def _template_fills(self) -> CommitSettings:
        try:
            self.message.format_map({"summary": "", "changes": "", "policies": ""})
        except (KeyError, ValueError, IndexError) as error:
            raise ValueError(f"message template {self.message!r} does not fill ({error}); "
                             "use {summary}, {changes} and {policies}, {{ for a brace") from None
        return self


class UpdatePolicy(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    source: VersionSourceSpec
    select: Selection = Field(default_factory=Selection)
    ignore: list[str] = Field(default_factory=list, description="Versions (globs) never taken.")
    files: list[str] = Field(default_factory=list,
                             description="Globs of non-YAML text files searched for markers.")
    commit: CommitSettings = Field(default_factory=CommitSettings)
    interval: Duration = Field(300.0, description="How often the agent checks (default 5m).")
    suspend: bool = Field(False, description="Hold automatic runs of this policy.")

    @property
    def per_policy(self) -> bool:
        """Whether this policy's bumps get commits of their own (always in branch mode)."""
        return self.commit.per == "policy" or self.commit.mode == "branch"


def load_policies(snapshot: Snapshot) -> dict[str, UpdatePolicy]:
    """Every ``kind: UpdatePolicy`` document of the system map files, by name.

    Other kinds in those files are left to `gitward.config`. Raises
    `UpdatePolicyError` with file and line for a policy that does not fit.
    """
    files = [SYSTEM_FILE] if snapshot.exists(SYSTEM_FILE) else []
    if snapshot.is_dir(SYSTEM_DIR):
        files += [p for p in snapshot.walk(SYSTEM_DIR) if p.endswith((".yaml", ".yml"))]
    policies: dict[str, UpdatePolicy] = {}
    origins: dict[str, str] = {}
    for path in files:
        for doc in load_documents(snapshot.read(path), path):
            data = doc.data
            if not isinstance(data, dict) or data.get("kind") != POLICY_KIND:
                continue
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            if not name:
                raise UpdatePolicyError(path, "metadata.name is required", line=doc.line,
                                        field="metadata.name")
            spec = data.get("spec")
            if not isinstance(spec, dict):
                raise UpdatePolicyError(path, "spec must be a mapping with source:",
                                        line=doc.line, field="spec")
            try:
                policy = UpdatePolicy.model_validate({**spec, "name": name})
            except ValidationError as error:
                first = error.errors()[0]
                loc = [str(p) for p in first["loc"]]
                at = ["spec", *loc] if loc != ["name"] else ["metadata", "name"]
                more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
                raise UpdatePolicyError(path, f"UpdatePolicy {name}: {first['msg']}{more}",
                                        line=field_line(doc, at), field=".".join(at)) from None
            if policy.name in policies:
                raise UpdatePolicyError(path, f"UpdatePolicy {name} is declared twice (also at "
                                        f"{origins[policy.name]}); keep one", line=doc.line)
            policies[policy.name] = policy
            origins[policy.name] = f"{path}:{doc.line}"
    return policies
