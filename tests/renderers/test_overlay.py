"""The overlay renderer: a base directory patched by an environment's overlay."""

from __future__ import annotations

import pytest

from gitward.core.errors import ManifestError
from gitward.core.model import Origin

from .conftest import Render, file_manifest

BASE = {
    "base/motd.yaml": file_manifest("motd", extra="  content: base\n  mode: '0600'"),
    "base/issue.yaml": file_manifest("issue"),
}


def overlay(render: Render, files: dict[str, str], **app_fields: object
            ) -> dict[str, dict[str, object]]:
    resources = render({**BASE, **files}, renderer="overlay", base="base",
                       path="overlays/prod", **app_fields)
    return {res.key.name: dict(res.spec) for res in resources}


def patch(name: str, spec: str, mode: str | None = None) -> str:
    annotation = f"  annotations: {{gitward/patch: {mode}}}\n" if mode else ""
    return f"kind: File\nmetadata:\n  name: {name}\n{annotation}spec:\n{spec}\n"


def test_patch_merges_fields_onto_the_base(render: Render) -> None:
    specs = overlay(render, {"overlays/prod/motd.yaml": patch("motd", "  content: prod")})
    assert specs["motd"] == {"path": "/etc/motd", "content": "prod", "mode": "0600"}
    assert specs["issue"]["content"] == "hi"


def test_null_in_a_patch_removes_the_field(render: Render) -> None:
    specs = overlay(render, {"overlays/prod/motd.yaml": patch("motd", "  mode: null")})
    assert specs["motd"] == {"path": "/etc/motd", "content": "base", "mode": "0644"}


def test_delete_drops_the_base_document(render: Render) -> None:
    specs = overlay(render, {"overlays/prod/x.yaml": patch("issue", "  {}", mode="delete")})
    assert sorted(specs) == ["motd"]


def test_replace_swaps_the_whole_document(render: Render) -> None:
    replacement = file_manifest("motd", path="/etc/motd", extra="  content: new")
    replacement = replacement.replace("  name: motd\n",
                                      "  name: motd\n  annotations: {gitward/patch: replace}\n")
    specs = overlay(render, {"overlays/prod/motd.yaml": replacement})
    assert specs["motd"] == {"path": "/etc/motd", "content": "new", "mode": "0644"}


def test_an_overlay_document_without_base_match_is_added(render: Render) -> None:
    specs = overlay(render, {"overlays/prod/extra.yaml": file_manifest("extra")})
    assert sorted(specs) == ["extra", "issue", "motd"]


def test_deleting_what_the_base_lacks_is_an_error(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"^overlays/prod/x\.yaml:4: metadata\.annotations\."
                                            r"gitward/patch: delete: the base has no File/nope"):
        overlay(render, {"overlays/prod/x.yaml": patch("nope", "  {}", mode="delete")})


def test_unknown_patch_mode_is_an_error(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"gitward/patch: 'merg' is not a patch mode"):
        overlay(render, {"overlays/prod/x.yaml": patch("motd", "  {}", mode="merg")})


def test_patched_resource_points_at_the_overlay_file(render: Render) -> None:
    files = {**BASE, "overlays/prod/motd.yaml": patch("motd", "  content: prod")}
    resources = render(files, renderer="overlay", base="base", path="overlays/prod")
    origins = {res.key.name: res.origin for res in resources}
    assert origins == {"issue": Origin("base/issue.yaml", 1),
                       "motd": Origin("overlays/prod/motd.yaml", 1)}


def test_new_source_in_a_patch_replaces_the_old_content(render: Render) -> None:
    files = {"overlays/prod/motd.yaml": patch("motd", "  source: motd.txt"),
             "overlays/prod/motd.txt": "from a file\n"}
    specs = overlay(render, files)
    assert specs["motd"]["content"] == "from a file\n"
    assert specs["motd"]["source"] == "motd.txt"


def test_templated_overlay_renders_base_and_overlay_with_values(render: Render) -> None:
    files = {"base/site.yaml": file_manifest("site", extra="  content: '{{ env }}'"),
             "overlays/prod/site.yaml.j2": patch("site", "  mode: '{{ mode }}'")}
    specs = overlay(render, files, template=True, vars={"env": "prod", "mode": "0640"})
    assert specs["site"] == {"path": "/etc/site", "content": "prod", "mode": "0640"}


def test_overlay_inside_the_base_directory_is_not_read_as_base(render: Render) -> None:
    files = {"base/motd.yaml": file_manifest("motd"),
             "base/prod/motd.yaml": patch("motd", "  content: prod")}
    resources = render(files, renderer="overlay", base="base", path="base/prod")
    assert [dict(res.spec)["content"] for res in resources] == ["prod"]
