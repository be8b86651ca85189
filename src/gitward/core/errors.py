"""Errors a user can meet, one type per cause.

Every message names the file and line, the field, or the resource at fault and
says what to do. The CLI prints `str(error)` on one line and exits 1; nothing
is applied after one of these is raised.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DependencyCycleError",
    "DuplicateResourceError",
    "EmptyRenderError",
    "GitwardError",
    "ManifestError",
    "PathEscapeError",
    "SourceError",
    "StoreError",
    "TemplateError",
    "UnknownDependencyError",
    "ValuesFileError",
    "WaveOrderError",
]


class GitwardError(Exception):
    """Base of every error caused by input or environment, not by a bug."""


class ManifestError(GitwardError):
    """A manifest that cannot be read or does not fit its kind's schema."""

    def __init__(self, path: str, message: str, line: int | None = None,
                 field: str | None = None) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else path
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class TemplateError(ManifestError):
    """A Jinja2 template that does not render (syntax, undefined variable, sandbox)."""


class ValuesFileError(ManifestError):
    """A values file that is missing or not a mapping."""


class DuplicateResourceError(GitwardError):
    """The same Kind/name@target declared twice, in one app or across apps."""


class ConflictError(GitwardError):
    """Two resources own the same thing on a target (e.g. the same path)."""


class DependencyCycleError(GitwardError):
    """Resources or apps that depend on each other in a loop."""

    def __init__(self, cycle: list[str], what: str = "resources") -> None:
        self.cycle = cycle
        super().__init__(f"dependency cycle between {what}: {' -> '.join(cycle)}; "
                         "remove one of these depends_on entries")


class UnknownDependencyError(GitwardError):
    """`depends_on` names something that is not declared."""


class WaveOrderError(GitwardError):
    """A resource depends on one that is applied in a later wave."""


class EmptyRenderError(GitwardError):
    """An app rendered no resources while its inventory is not empty."""


class PathEscapeError(GitwardError):
    """A path that would leave its root (repository or target)."""


class SourceError(GitwardError):
    """The repository cannot be fetched or a ref does not exist."""


class StoreError(GitwardError):
    """The store cannot be opened or migrated."""
