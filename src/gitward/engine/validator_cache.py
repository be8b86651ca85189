"""Compiled validators kept between processes, per user (`core.validation`).

Pydantic generates a spec class's validator in Python (~80 ms for the system
map and the manifest envelope, plus importing its machinery); pydantic-core
rebuilds the same validator from a pickle in about 0.1 ms. So a command
keeps each validator it built in ``$XDG_CACHE_HOME/gitward/validators``
(~/.cache/gitward/validators), in a folder per pydantic-core and Python
version, one file per class.

Like bytecode, an entry depends on installed code only, never on a repository
or a host. It records the size and mtime of every source file it came from:
the modules of the class's package loaded when it was built, and those of
every class and function its schema names. When any of them differs, or the
entry cannot be read, the validator is built again and the entry replaced.
A cache that cannot be written is not an error: validators are then built
once per process, as without one.

>>> use_cache(FileValidatorCache())   # the console script does this  # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitward.core.validation import use_cache
from gitward.xdg import base_dir

__all__ = ["FileValidatorCache", "use_default_cache"]

_Sources = dict[str, tuple[int, int]]   # file -> (mtime_ns, size)


class FileValidatorCache:
    """A `core.validation.ValidatorCache` in `folder`, or (None) in the user's
    cache folder for this pydantic-core and Python, found when first used: a
    command that validates nothing never imports pydantic-core."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        if self._folder is None:
            import pydantic_core

            version = f"{pydantic_core.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
            self._folder = base_dir("XDG_CACHE_HOME", ".cache") / "gitward" / "validators" / version
        return self._folder

    def load(self, model: type[Any]) -> Any:
        try:
            sources, packed = pickle.loads(self._path(model).read_bytes())
            if not _unchanged(sources):
                return None
            return pickle.loads(packed)
        except Exception:  # a missing, torn or stale entry: build it again
            return None

    def save(self, model: type[Any], validator: Any) -> None:
        if getattr(sys.modules.get(model.__module__), model.__qualname__, None) is not model:
            return   # a class pickle could not find again by its name
        import tempfile  # only a command that built a validator writes one

        try:
            packed = pickle.dumps(validator, protocol=pickle.HIGHEST_PROTOCOL)
            sources = _sources(model, validator.__reduce__()[1][0])
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".tmp-", delete=False) as f:
                f.write(pickle.dumps((sources, packed), protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(f.name, self._path(model))
        except Exception:  # no home, no room, a schema pickle cannot hold: only a shortcut
            return

    def _path(self, model: type[Any]) -> Path:
        return self.folder / f"{model.__module__}.{model.__qualname__}.pickle"


def use_default_cache() -> None:
    """Keep this process's validators in the user's cache folder."""
    use_cache(FileValidatorCache())


def _unchanged(sources: _Sources) -> bool:
    for file, facts in sources.items():
        st = os.stat(file)
        if (st.st_mtime_ns, st.st_size) != facts:
            return False
    return True


def _sources(model: type[Any], schema: Any) -> _Sources:
    package = model.__module__.partition(".")[0]
    names = {name for name in sys.modules if name == package or name.startswith(package + ".")}
    names.update(_modules_named(schema))
    sources: _Sources = {}
    for name in sorted(names):
        file = getattr(sys.modules.get(name), "__file__", None)
        if file:
            st = os.stat(file)
            sources[file] = (st.st_mtime_ns, st.st_size)
    return sources


def _modules_named(schema: Any) -> Iterator[str]:
    """The modules of the classes and functions a core schema holds."""
    if isinstance(schema, dict):
        for value in schema.values():
            yield from _modules_named(value)
    elif isinstance(schema, list | tuple):
        for value in schema:
            yield from _modules_named(value)
    elif callable(schema):
        inner = getattr(schema, "func", schema)   # a functools.partial
        module = getattr(inner, "__module__", None)
        if isinstance(module, str):
            yield module
