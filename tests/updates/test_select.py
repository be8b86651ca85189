"""Choosing a version: tables of listed tags -> the version a policy takes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gitward.updates.policy import Selection, UpdatePolicy
from gitward.updates.select import choose_version, is_newer, parse_range

TAGS = ["1.4.2", "v1.5.0", "1.5.1-rc.1", "2.0.0", "latest", "sha-3f2c1a", "1.10.0"]


@pytest.mark.parametrize(("selection", "ignore", "chosen"), [
    (Selection(), [], "2.0.0"),
    (Selection(semver=">=1.4 <2"), [], "1.10.0"),
    (Selection(semver=">=1.4, <2"), [], "1.10.0"),
    (Selection(semver="^1.4"), [], "1.10.0"),
    (Selection(semver="~1.5.0"), [], "v1.5.0"),
    (Selection(semver="~1.5.0", prerelease=True), [], "1.5.1-rc.1"),
    (Selection(semver="<2"), ["1.10.*"], "v1.5.0"),
    (Selection(sort="alphabetical", regex=r"^sha-"), [], "sha-3f2c1a"),
])
def test_choose(selection: Selection, ignore: list[str], chosen: str) -> None:
    assert choose_version(TAGS, selection, ignore).chosen == chosen


def test_unparsable_tags_are_skipped_and_counted() -> None:
    choice = choose_version(TAGS, Selection())
    assert choice.skipped == 2  # latest, sha-3f2c1a
    assert choice.listed == len(TAGS)


def test_a_range_matching_nothing_is_reported_not_raised() -> None:
    choice = choose_version(TAGS, Selection(semver=">=3"))
    assert choice.chosen is None
    assert "matched none of 7 listed versions" in choice.note


def test_regex_group_is_what_is_sorted() -> None:
    tags = ["1.9-alpine", "1.10-alpine", "1.11-debian", "2.0"]
    selection = Selection(regex=r"^(?P<version>[\d.]+)-alpine$", sort="semver")
    assert choose_version(tags, selection).chosen == "1.10-alpine"


@pytest.mark.parametrize(("sort", "tags", "chosen"), [
    ("numerical", ["9", "10", "100", "x"], "100"),
    ("alphabetical", ["b", "a", "c"], "c"),
    ("calver", ["2024.01.15", "2023.12.31", "2024.1.2", "24.x"], "2024.01.15"),
    ("calver", ["v2024.3", "v2024.10"], "v2024.10"),
])
def test_sort_orders(sort: str, tags: list[str], chosen: str) -> None:
    assert choose_version(tags, Selection(sort=sort)).chosen == chosen  # type: ignore[arg-type]


def test_never_downgrades_and_replaces_unreadable_values() -> None:
    assert not is_newer("1.5.0", "1.6.0", Selection())
    assert is_newer("1.5.0", "1.4.2", Selection())
    assert is_newer("1.5.0", "latest", Selection())


@pytest.mark.parametrize("text", ["banana", ">=1.2 lol", "^x"])
def test_bad_ranges_are_refused_when_the_policy_loads(text: str) -> None:
    with pytest.raises(ValueError, match="semver range"):
        parse_range(text)
    with pytest.raises(ValidationError, match="semver range"):
        UpdatePolicy.model_validate({"name": "p", "source": {"git": {"url": "."}},
                                     "select": {"semver": text}})
