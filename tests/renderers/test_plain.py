"""The plain renderer, renderer lookup, and the cost of rendering many files."""

from __future__ import annotations

import time

import pytest

from gitward.core.errors import GitwardError, ManifestError
from gitward.core.system import AppSpec
from gitward.renderers import renderer_for
from gitward.renderers.build import to_resources
from gitward.renderers.jinja import JinjaRenderer
from gitward.testing import FakeSnapshot

from .conftest import KINDS, Render, file_manifest


def test_manifests_load_recursively_in_sorted_order_ignoring_other_files(render: Render) -> None:
    files = {"apps/web/z.yaml": file_manifest("z"), "apps/web/a/b.yml": file_manifest("b"),
             "apps/web/a.yaml": file_manifest("a") + "---\n" + file_manifest("a2"),
             "apps/web/notes.txt": "not yaml: [", "apps/web/t.yaml.j2": "{{ x }",
             "apps/other/o.yaml": file_manifest("o")}
    assert [r.key.name for r in render(files)] == ["a", "a2", "b", "z"]


def test_path_may_name_a_single_file(render: Render) -> None:
    files = {"apps/web.yaml": file_manifest("one")}
    assert [r.key.name for r in render(files, path="apps/web.yaml")] == ["one"]


def test_missing_app_path_names_app_path_and_revision(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"^app web: path apps/web does not exist at "
                                            r"revision abc1234"):
        render({"apps/other/a.yaml": file_manifest("a")})


def test_an_error_in_one_file_names_that_file(render: Render) -> None:
    files = {"apps/web/a.yaml": file_manifest("a"), "apps/web/b.yaml": "kind: [File\n"}
    with pytest.raises(ManifestError, match=r"^apps/web/b\.yaml:2: not valid YAML"):
        render(files)


def test_renderers_are_found_by_name() -> None:
    assert isinstance(renderer_for("jinja"), JinjaRenderer)
    with pytest.raises(GitwardError, match=r"unknown renderer 'kustomize'; known renderers: "
                                           r"jinja, overlay, plain"):
        renderer_for("kustomize")


def test_rendering_a_thousand_files() -> None:
    files = {f"apps/web/f{i:04}.yaml": file_manifest(
        f"f{i}", extra='  content: "hello\\n"\n  mode: "0644"',
        annotations='    gitward/wave: "1"\n') for i in range(1000)}
    app = AppSpec(name="web", path="apps/web")
    snapshot = FakeSnapshot(files)
    started = time.perf_counter()
    documents = renderer_for("plain").render(snapshot, app)
    rendered = time.perf_counter()
    resources = to_resources(documents, app, KINDS)
    built = time.perf_counter()
    assert len(resources) == 1000
    print(f"\nplain: 1,000 files rendered in {rendered - started:.3f} s, "
          f"built in {built - rendered:.3f} s")
