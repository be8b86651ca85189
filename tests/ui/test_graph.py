"""The dependency graph: layered by depends_on depth, coloured by health, escaped."""

from __future__ import annotations

import re

from gitward.server.graph import dependency_svg, layers

SYSTEM = {"db": [], "cache": [], "web": ["db", "cache"], "edge": ["web"], "jobs": ["db"]}


def test_layers_follow_dependency_depth() -> None:
    assert layers(SYSTEM) == [["cache", "db"], ["jobs", "web"], ["edge"]]


def test_an_unknown_dependency_and_a_cycle_still_draw() -> None:
    assert layers({"web": ["ghost"]}) == [["ghost"], ["web"]]
    assert sorted(n for row in layers({"a": ["b"], "b": ["a"]}) for n in row) == ["a", "b"]


def test_svg_has_a_box_per_app_an_arrow_per_dependency_and_health_classes() -> None:
    svg = dependency_svg(SYSTEM, {"web": "degraded", "db": "healthy"}, current="web",
                         link=lambda name: f"/apps/{name}")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 5
    assert svg.count('class="edge"') == 4
    assert 'class="node health-degraded current"' in svg
    assert 'class="node health-healthy"' in svg
    assert 'class="node health-unknown"' in svg          # no health known for cache
    assert '<a href="/apps/edge" aria-label="edge">' in svg


def test_dependencies_sit_above_their_dependents() -> None:
    svg = dependency_svg(SYSTEM, {})
    tops = {name: float(y) for y, name in re.findall(
        r'<rect x="[\d.]+" y="([\d.]+)".*?<text[^>]*>([^<]+)</text>', svg)}
    assert tops["db"] < tops["web"] < tops["edge"]
    assert tops["db"] == tops["cache"]


def test_names_are_escaped_and_a_missing_dependency_is_marked() -> None:
    svg = dependency_svg({"x<y>": ["gone"]}, {}, link=lambda name: f"/apps/{name}")
    assert "x<y>" not in svg and "x&lt;y&gt;" in svg
    assert 'class="node health-missing"' in svg
    assert 'href="/apps/gone"' not in svg                # no page for an app that is not there


def test_no_apps_no_svg() -> None:
    assert dependency_svg({}, {}) == ""
