"""Commands run on a host: the Command kind, with exec-style guards.

A Command is not an end state but a way to reach one, so gitward treats it the
way Ansible's ``command`` and Puppet's ``exec`` do: it is *converged* when its
guards say there is nothing to do, and runs otherwise.

- ``creates: /path``: converged once that path exists on the target;
- ``unless: cmd``: converged when ``cmd`` exits 0;
- ``onlyif: cmd``: converged when ``cmd`` exits non-zero;
- no guard at all: converged when the last apply ran this same command (same
  ``command``, ``cwd`` and ``env``, the fields that change what runs), so a
  guard-less command runs once, then again each time one of those changes.

A rendered manifest's spec is checked by `CommandSpec` (`command_spec.py`).

`read` evaluates the guards (running guard commands through the
`Connection`), and returns no live resource when the command must run (the
plan says create), the desired spec when it is converged (noop), or, for a
guard-less command whose command changed, the spec it last ran with (update,
with the changed fields). `apply` runs it; a non-zero exit raises
`CommandFailedError` with the exit code and the last lines of its output.
`delete` (prune) runs ``undo`` if the spec has one. ``check``, if given, runs
during every read; its exit code says healthy (0) or degraded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gitward.core.diff import diff_specs
from gitward.core.model import Action, Change, Health, Key, Resource
from gitward.core.seams import Described
from gitward.providers.connection import CommandResult, Connection, ProviderError
from gitward.providers.spec_models import SpecModels

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["CommandFailedError", "CommandProvider"]

RUN_FIELDS = ("command", "cwd", "env")  # what a guard-less command's "same spec" means
ERROR_TAIL_LINES = 3


class CommandFailedError(ProviderError):
    """A command, undo or guard exited non-zero."""


class CommandProvider:
    """The Command kind on one target, through a `Connection`."""

    kinds: ClassVar[frozenset[str]] = frozenset({"Command"})
    spec_models: ClassVar[Mapping[str, type[BaseModel]]] = SpecModels(
        "gitward.providers.command_spec", {"Command": "CommandSpec"})

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @classmethod
    def describe(cls, kind: str, spec: BaseModel) -> Described:
        # A command claims nothing: two commands may well touch the same path.
        return Described(spec.model_dump(exclude_none=True))

    def read(self, resources: Collection[Resource],
             recorded: Mapping[Key, Resource] | None = None) -> dict[Key, Resource]:
        recorded = recorded or {}
        live: dict[Key, Resource] = {}
        for res in resources:
            ran_with = self._converged_spec(res, recorded.get(res.key))
            if ran_with is not None:
                live[res.key] = self._live(res, ran_with)
        return live

    def _converged_spec(self, res: Resource, before: Resource | None
                        ) -> Mapping[str, Any] | None:
        """The spec the target is converged to, or None when the command must run."""
        spec = res.spec
        if "creates" in spec or "unless" in spec or "onlyif" in spec:
            converged = (
                ("creates" in spec and self.connection.stat(spec["creates"]) is not None)
                or ("unless" in spec and self._exit_code(res, spec["unless"]) == 0)
                or ("onlyif" in spec and self._exit_code(res, spec["onlyif"]) != 0))
            return spec if converged else None
        if before is None:
            return None
        return spec if _what_runs(before.spec) == _what_runs(spec) else before.spec

    def _live(self, res: Resource, spec: Mapping[str, Any]) -> Resource:
        live = dict(spec)
        if "check" in res.spec:
            live["check_ok"] = self._exit_code(res, res.spec["check"]) == 0
        return Resource(res.key, live, claim=res.claim, sensitive=res.sensitive)

    def diff(self, desired: Resource, live: Resource | None) -> Change:
        if live is None:
            return Change(desired.key, Action.create, desired, None)
        fields = diff_specs(_what_runs(desired.spec), _what_runs(live.spec))
        return Change(desired.key, Action.update if fields else Action.noop, desired, live,
                      fields)

    def apply(self, change: Change) -> Resource:
        desired = change.desired
        if desired is None:
            raise ProviderError(f"{change.key}: apply needs a desired resource; use delete")
        self._run_checked(desired, desired.spec["command"], "")
        return self._live(desired, desired.spec)

    def delete(self, live: Resource) -> None:
        if "undo" in live.spec:
            self._run_checked(live, live.spec["undo"], "undo ")

    def health(self, live: Resource | None) -> Health:
        if live is None:
            return Health.missing
        return Health.degraded if live.spec.get("check_ok") is False else Health.healthy

    # -- running ---------------------------------------------------------------

    def _run(self, res: Resource, command: str | Sequence[str]) -> CommandResult:
        spec = res.spec
        return self.connection.run(command, cwd=spec.get("cwd"), env=spec.get("env"),
                                   timeout=spec.get("timeout", 300.0))

    def _exit_code(self, res: Resource, command: str | Sequence[str]) -> int:
        return self._run(res, command).returncode

    def _run_checked(self, res: Resource, command: str | Sequence[str], what: str) -> None:
        result = self._run(res, command)
        if result.returncode != 0:
            shown = command if isinstance(command, str) else " ".join(command)
            raise CommandFailedError(f"{res.key}: {what}command `{shown}` exited with "
                                     f"{result.returncode}: {_tail(result)}")


def _what_runs(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {name: spec[name] for name in RUN_FIELDS if spec.get(name)}


def _tail(result: CommandResult) -> str:
    """The last few non-empty lines of stderr (else stdout), on one line."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    tail = " | ".join([line for line in lines if line][-ERROR_TAIL_LINES:])
    return (tail[-400:] if len(tail) > 400 else tail) or "no output"
