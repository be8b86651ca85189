"""Reading the system map from a snapshot of the repository.

The map says which apps exist, where their manifests are, how they render,
which target each goes to and in what order apps sync. It comes from Git
only: ``gitward.yaml`` at the repository root plus any ``*.yaml`` under
``gitward.d/``. Both forms are accepted and may be mixed::

    # one mapping                          # or a stream of documents
    apiVersion: gitward/v1                 apiVersion: gitward/v1
    kind: System                           kind: Application
    targets:                               metadata: {name: web}
      local: {root: /srv/demo}             spec: {path: apps/web, target: local}
    apps:
      web: {path: apps/web}

A target `local` with root ``/`` exists unless the map declares targets. The
agent's own configuration may point a target somewhere else (``--root
local=/tmp/x``), which is how tests and trials keep away from ``/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gitward.core.document import Document
from gitward.core.errors import DependencyCycleError, GitwardError, ManifestError
from gitward.core.order import find_cycle
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec, SystemSpec, TargetSpec, validate_spec
from gitward.core.validation import fields_at, is_unknown_field, problem

__all__ = ["SYSTEM_FILE", "load_system", "system_files"]

SYSTEM_FILE = "gitward.yaml"
SYSTEM_DIR = "gitward.d"


def load_system(snapshot: Snapshot, *, root_overrides: Mapping[str, str] | None = None
                ) -> SystemSpec:
    """The validated system map at this snapshot, with target roots overridden."""
    from gitward.renderers.yaml_load import load_documents

    files = system_files(snapshot)
    if not files:
        raise ManifestError(SYSTEM_FILE, "not found at the repository root; run "
                            "`gitward init` for an example or add one listing your apps")
    apps: dict[str, AppSpec] = {}
    targets: dict[str, TargetSpec] = {}
    origins: dict[str, str] = {}
    for path in files:
        data = snapshot.read(path)
        for index, doc in enumerate(load_documents(data, path)):
            _read_document(doc, index, data, apps, targets, origins)
    if not targets:
        targets["local"] = TargetSpec(name="local")
    for name, root in (root_overrides or {}).items():
        try:
            targets[name] = replace(targets.get(name, TargetSpec(name=name)), root=root)
        except ValueError as error:  # from the operator (--root, agent config), not from Git
            raise GitwardError(f"root override of target {name}: {error}") from None
    _check_references(apps, targets, origins)
    return SystemSpec(apps=apps, targets=targets)


def system_files(snapshot: Snapshot) -> list[str]:
    """The files the system map is read from at this snapshot."""
    files = [SYSTEM_FILE] if snapshot.exists(SYSTEM_FILE) else []
    if snapshot.is_dir(SYSTEM_DIR):
        files += [p for p in snapshot.walk(SYSTEM_DIR) if p.endswith((".yaml", ".yml"))]
    return files


def _read_document(doc: Document, index: int, raw: bytes, apps: dict[str, AppSpec],
                   targets: dict[str, TargetSpec], origins: dict[str, str]) -> None:
    data = doc.data
    if not isinstance(data, dict):
        raise ManifestError(doc.path, "expected a mapping with apps: and targets:, or an "
                            "Application/Target manifest", line=doc.line)
    kind = data.get("kind", "System")
    if kind == "System":
        unknown = set(data) - {"apiVersion", "kind", "metadata", "apps", "targets"}
        if unknown:
            field = sorted(unknown)[0]
            raise ManifestError(doc.path, "unknown field; expected apps or targets",
                                line=_line(raw, [field], index, doc), field=field)
        for section, model, into in (("targets", TargetSpec, targets), ("apps", AppSpec, apps)):
            entries = data.get(section) or {}
            if not isinstance(entries, dict):
                raise ManifestError(doc.path, "must be a mapping of name to settings",
                                    line=_line(raw, [section], index, doc), field=section)
            for name, body in entries.items():
                spec = _validate(model, name, body, doc, raw, index, [section, name])
                _add(into, origins, str(name), spec, f"{doc.path}:{doc.line}", section)
    elif kind in ("Application", "Target"):
        meta = data.get("metadata") or {}
        name = meta.get("name") if isinstance(meta, dict) else None
        if not name:
            raise ManifestError(doc.path, "metadata.name is required", line=doc.line,
                                field="metadata.name")
        model = AppSpec if kind == "Application" else TargetSpec
        spec = _validate(model, name, data.get("spec") or {}, doc, raw, index, ["spec"])
        if kind == "Application":
            _add(apps, origins, str(name), spec, f"{doc.path}:{doc.line}", "apps")
        else:
            _add(targets, origins, str(name), spec, f"{doc.path}:{doc.line}", "targets")
    elif kind == "UpdatePolicy":
        return  # read by gitward.updates.policy.load_policies
    else:
        raise ManifestError(doc.path, f"kind {kind!r} does not belong in the system map; "
                            "use System, Application, Target or UpdatePolicy", line=doc.line,
                            field="kind")


def _add(into: dict[str, Any], origins: dict[str, str], name: str, spec: Any, where: str,
         section: str) -> None:
    label = f"{section}/{name}"
    if name in into:
        raise ManifestError(where.rsplit(":", 1)[0], f"{label} is declared twice (also at "
                            f"{origins[label]}); keep one", line=int(where.rsplit(":", 1)[1]))
    into[name] = spec
    origins[label] = where


def _validate(model: type[AppSpec] | type[TargetSpec], name: Any, body: Any, doc: Document,
              raw: bytes, index: int, at: list[str | int]) -> Any:
    # validation only here: a command whose map comes from the cache never loads it.
    from pydantic_core import ValidationError

    if not isinstance(body, dict):
        raise ManifestError(doc.path, "must be a mapping", line=_line(raw, at, index, doc),
                            field=".".join(map(str, at)))
    try:
        return validate_spec(model, {**body, "name": name})
    except ValidationError as error:
        first = error.errors()[0]
        loc = [p for p in first["loc"] if p != "name"] if first["loc"] != ("name",) else []
        field = ".".join(str(p) for p in [*at, *loc]) if loc or first["loc"] != ("name",) \
            else ".".join(map(str, at))
        message = problem(first)
        if is_unknown_field(first):
            known = ", ".join(f for f in fields_at(model, loc[:-1]) if f != "name")
            message = f"unknown field; known fields here: {known}" if known else "unknown field"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise ManifestError(doc.path, f"{message}{more}",
                            line=_line(raw, [*at, *loc], index, doc), field=field) from None


def _line(raw: bytes, at: list[str | int], index: int, doc: Document) -> int:
    from gitward.renderers.yaml_load import find_line

    return find_line(raw, at, index) or doc.line


def _check_references(apps: dict[str, AppSpec], targets: dict[str, TargetSpec],
                      origins: dict[str, str]) -> None:
    for app in apps.values():
        where = origins[f"apps/{app.name}"]
        path, line = where.rsplit(":", 1)
        if app.target not in targets:
            raise ManifestError(path, f"app {app.name}: target {app.target!r} is not declared;"
                                f" known targets: {', '.join(sorted(targets))}",
                                line=int(line), field="target")
        for dep in app.depends_on:
            if dep not in apps:
                raise ManifestError(path, f"app {app.name} depends on {dep!r}, which is not "
                                    "declared", line=int(line), field="depends_on")
    deps = {name: list(app.depends_on) for name, app in apps.items()}
    if _has_cycle(deps):
        raise DependencyCycleError([str(n) for n in find_cycle(deps, set(deps))], "apps")


def _has_cycle(deps: dict[str, list[str]]) -> bool:
    from graphlib import CycleError, TopologicalSorter

    try:
        tuple(TopologicalSorter(deps).static_order())
    except CycleError:
        return True
    return False
