"""Apply order and the batches of changes that may run at the same time."""

from __future__ import annotations

import pytest

from gitward.core.errors import DependencyCycleError, UnknownDependencyError, WaveOrderError
from gitward.core.model import Key, Resource
from gitward.core.order import batches, order_resources


def res(name: str, *deps: str, wave: int = 0, kind: str = "File") -> Resource:
    return Resource(Key(kind, "local", name), {}, wave=wave,
                    depends_on=tuple(Key("File", "local", d) for d in deps))


def names(groups: list[list[Resource]]) -> list[list[str]]:
    return [[r.key.name for r in group] for group in groups]


def group(resources: list[Resource]) -> list[list[str]]:
    ordered = order_resources(resources)
    return names(batches(ordered, lambda r: r.key, lambda r: r.wave, lambda r: r.depends_on))


def test_independent_resources_run_together() -> None:
    assert group([res("c"), res("a"), res("b")]) == [["a", "b", "c"]]


def test_a_dependent_runs_in_a_later_batch_than_what_it_needs() -> None:
    assert group([res("app", "dir"), res("dir"), res("other")]) == [["dir", "other"], ["app"]]


def test_a_chain_runs_one_by_one() -> None:
    assert group([res("c", "b"), res("b", "a"), res("a")]) == [["a"], ["b"], ["c"]]


def test_a_diamond_joins_after_both_branches() -> None:
    diamond = [res("top"), res("left", "top"), res("right", "top"), res("bottom", "left", "right")]
    assert group(diamond) == [["top"], ["left", "right"], ["bottom"]]


def test_batches_never_mix_waves() -> None:
    resources = [res("a", wave=0), res("b", wave=1), res("c", wave=1), res("d", wave=2)]
    assert group(resources) == [["a"], ["b", "c"], ["d"]]


def test_a_dependency_on_an_earlier_wave_adds_no_extra_batch() -> None:
    resources = [res("base", wave=0), res("x", "base", wave=1), res("y", wave=1)]
    assert group(resources) == [["base"], ["x", "y"]]


def test_levels_start_over_in_each_wave() -> None:
    resources = [res("a"), res("b", "a"), res("c", wave=1), res("d", "c", wave=1)]
    assert group(resources) == [["a"], ["b"], ["c"], ["d"]]


def test_nothing_to_batch_is_no_batch() -> None:
    assert batches([], lambda r: r.key, lambda r: r.wave, lambda r: r.depends_on) == []


def test_a_known_key_may_be_depended_on_without_being_ordered() -> None:
    converged = Key("File", "local", "converged")
    ordered = order_resources([res("app", "converged"), res("lib")], known=[converged])
    assert [r.key.name for r in ordered] == ["app", "lib"]


def test_without_known_keys_the_same_dependency_is_unknown() -> None:
    with pytest.raises(UnknownDependencyError, match="File/app@local depends on "
                                                     "File/converged@local"):
        order_resources([res("app", "converged")])


def test_a_cycle_error_carries_the_cycle_in_order() -> None:
    with pytest.raises(DependencyCycleError) as raised:
        order_resources([res("b", "c"), res("c", "a"), res("a", "b"), res("z")])
    assert raised.value.cycle == ["File/a@local", "File/b@local", "File/c@local", "File/a@local"]
    assert "remove one of these depends_on entries" in str(raised.value)


def test_a_wave_error_says_how_to_fix_it() -> None:
    with pytest.raises(WaveOrderError, match="same or a later wave"):
        order_resources([res("a", "b", wave=0), res("b", wave=3)])
