"""The user's cache of compiled validators: what it keeps checks as a fresh
build does, and an entry whose source changed, or that cannot be read, is
built again rather than trusted."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from pydantic_core import ValidationError

from gitward.engine.validator_cache import FileValidatorCache
from gitward.providers.file_specs import FileSpec

_PET = '''
from dataclasses import dataclass, field

@dataclass
class Pet:
    __pydantic_config__ = {{"extra": "forbid"}}
    name: str = field(metadata={{"min_length": {least}}})
'''


@pytest.fixture
def pets(tmp_path: Path) -> Iterator[Path]:
    """A module of spec classes of this test's own, importable as `pets_spec`."""
    folder = tmp_path / "src"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    yield folder / "pets_spec.py"
    sys.path.remove(str(folder))
    sys.modules.pop("pets_spec", None)


def _pet_module(path: Path, least: int) -> Any:
    path.write_text(_PET.format(least=least))
    sys.modules.pop("pets_spec", None)
    importlib.invalidate_caches()
    return importlib.import_module("pets_spec")


def _errors(validator: Any, data: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        validator.validate_python(data)
    return caught.value.errors(include_url=False, include_context=False)


def test_a_kept_validator_checks_as_the_one_built(tmp_path: Path) -> None:
    cache = FileValidatorCache(tmp_path / "cache")
    built = TypeAdapter(FileSpec).validator
    assert cache.load(FileSpec) is None
    cache.save(FileSpec, built)
    kept = cache.load(FileSpec)
    assert kept is not None and kept is not built
    good = {"path": "/etc//motd", "content": "hi\n", "mode": "644"}
    assert kept.validate_python(good) == built.validate_python(good)
    assert kept.validate_python(good).path == "/etc/motd"
    for bad in ({"path": "/etc/motd", "mode": 420, "content": "x"},
                {"path": "/etc/motd"}, {"path": "relative", "content": "x", "colour": 1}):
        assert _errors(kept, bad) == _errors(built, bad)


def test_an_entry_whose_source_changed_is_built_again(tmp_path: Path, pets: Path) -> None:
    cache = FileValidatorCache(tmp_path / "cache")
    module = _pet_module(pets, least=3)
    cache.save(module.Pet, TypeAdapter(module.Pet).validator)
    assert cache.load(module.Pet) is not None
    module = _pet_module(pets, least=10)   # the class now asks more of a name
    assert cache.load(module.Pet) is None
    fresh = TypeAdapter(module.Pet).validator
    assert _errors(fresh, {"name": "Rex"})[0]["type"] == "string_too_short"
    cache.save(module.Pet, fresh)
    assert _errors(cache.load(module.Pet), {"name": "Rex"})[0]["type"] == "string_too_short"


def test_a_source_touched_without_change_is_built_again_too(tmp_path: Path,
                                                          pets: Path) -> None:
    cache = FileValidatorCache(tmp_path / "cache")
    module = _pet_module(pets, least=3)
    cache.save(module.Pet, TypeAdapter(module.Pet).validator)
    later = os.stat(pets).st_mtime_ns + 5_000_000_000
    os.utime(pets, ns=(later, later))
    assert cache.load(module.Pet) is None


def test_a_torn_entry_is_not_trusted_and_is_replaced(tmp_path: Path) -> None:
    cache = FileValidatorCache(tmp_path / "cache")
    cache.save(FileSpec, TypeAdapter(FileSpec).validator)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(entry.read_bytes()[:40])
    assert cache.load(FileSpec) is None
    cache.save(FileSpec, TypeAdapter(FileSpec).validator)
    assert cache.load(FileSpec) is not None
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [entry.name]   # no temp left


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder\n")
    cache = FileValidatorCache(tmp_path / "plain-file" / "validators")
    cache.save(FileSpec, TypeAdapter(FileSpec).validator)
    assert cache.load(FileSpec) is None


def test_a_class_pickle_could_not_find_by_name_is_not_kept(tmp_path: Path) -> None:
    from dataclasses import dataclass

    @dataclass
    class Local:
        name: str

    cache = FileValidatorCache(tmp_path / "cache")
    cache.save(Local, TypeAdapter(Local).validator)
    assert not (tmp_path / "cache").exists()


def test_the_default_folder_follows_xdg_cache_home(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert FileValidatorCache().folder.parent == tmp_path / "gitward" / "validators"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert FileValidatorCache().folder.parent == (
        tmp_path / "home" / ".cache" / "gitward" / "validators")


def test_a_user_without_a_home_folder_still_validates(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    def no_entry(uid: int) -> Any:
        raise KeyError(uid)

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    cache = FileValidatorCache()
    cache.save(FileSpec, TypeAdapter(FileSpec).validator)
    assert cache.load(FileSpec) is None
