"""Checking specs: dataclasses and BaseModels alike, checks declared without
pydantic, and the words an error is reported in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import pytest
from pydantic import BaseModel
from pydantic_core import ValidationError

from gitward.core.manifest import Manifest
from gitward.core.system import AppSpec
from gitward.core.validation import Check, as_data, fields_at, problem, validate


def _no_spaces(value: object) -> object:
    if isinstance(value, str) and " " in value:
        raise ValueError("no spaces, please")
    return value


@dataclass(kw_only=True)
class Tagged:
    __pydantic_config__ = {"extra": "forbid"}

    tag: Annotated[str, Check(before=_no_spaces, after=str.lower)]
    note: str | None = None
    size: int = field(default=1, metadata={"ge": 1})


class Modelled(BaseModel):
    tag: str
    note: str | None = None


def test_a_check_runs_before_and_after_the_type() -> None:
    assert validate(Tagged, {"tag": "ABC"}).tag == "abc"
    with pytest.raises(ValidationError) as caught:
        validate(Tagged, {"tag": "a b"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("tag",) and problem(error) == "no spaces, please"
    assert error["msg"].startswith("Value error, ")   # what pydantic alone would say


def test_field_constraints_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        validate(Tagged, {"tag": "a", "size": 0, "colour": "blue"})
    assert {e["type"] for e in caught.value.errors()} == {
        "greater_than_equal", "unexpected_keyword_argument"}


def test_a_basemodel_validates_itself() -> None:
    assert validate(Modelled, {"tag": "x"}) == Modelled(tag="x")


def test_as_data_leaves_out_unset_and_excluded_fields() -> None:
    assert as_data(validate(Tagged, {"tag": "A"})) == {"tag": "a", "size": 1}
    assert as_data(validate(Tagged, {"tag": "A", "note": "n"}), exclude=("size",)) == {
        "tag": "a", "note": "n"}
    assert as_data(Modelled(tag="x"), exclude=("tag",)) == {}


def test_fields_at_names_what_a_nested_spec_expects() -> None:
    assert fields_at(AppSpec, ["sync", "retry"]) == ["limit", "backoff", "factor", "max"]
    assert fields_at(Manifest, ["metadata"]) == ["name", "labels", "annotations"]
    assert fields_at(Modelled, []) == ["tag", "note"]
    assert fields_at(AppSpec, ["vars"]) == []   # a mapping of anything: no fields to tell
