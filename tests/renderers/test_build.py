"""From documents to resources: envelope, kind, spec and annotations."""

from __future__ import annotations

import pytest

from gitward.core.errors import ConflictError, DuplicateResourceError, ManifestError
from gitward.core.model import Key, Origin

from .conftest import Render, file_manifest


def test_a_manifest_becomes_a_resource_with_key_spec_and_origin(render: Render) -> None:
    [motd] = render({"apps/web/motd.yaml": "# motd\n" + file_manifest("motd")})
    assert motd.key == Key("File", "local", "motd")
    assert motd.spec == {"path": "/etc/motd", "content": "hi", "mode": "0644"}
    assert motd.claim == "fs:/etc/motd"
    assert motd.origin == Origin("apps/web/motd.yaml", 2)
    assert (motd.wave, motd.depends_on, motd.prune) == (0, (), True)


def test_annotations_set_wave_dependencies_prune_and_target(render: Render) -> None:
    annotations = ('    gitward/wave: "2"\n'
                   '    gitward/depends-on: "Service/db, File/conf@edge"\n'
                   '    gitward/prune: "false"\n'
                   '    gitward/target: edge\n')
    [res] = render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})
    assert res.key == Key("File", "edge", "a")
    assert res.wave == 2
    assert res.depends_on == (Key("Service", "edge", "db"), Key("File", "edge", "conf"))
    assert res.prune is False


def test_depends_on_defaults_to_the_apps_target(render: Render) -> None:
    annotations = '    gitward/depends-on: "Service/db"\n'
    [res] = render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)},
                   target="prod")
    assert res.key.target == "prod"
    assert res.depends_on == (Key("Service", "prod", "db"),)


def test_bad_wave_names_file_line_and_annotation(render: Render) -> None:
    annotations = '    gitward/wave: "abc"\n'
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:6: metadata\.annotations\."
                                            r"gitward/wave: must be a whole number .* not 'abc'"):
        render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})


def test_unquoted_wave_asks_for_quotes(render: Render) -> None:
    annotations = "    gitward/wave: 1\n"
    with pytest.raises(ManifestError, match=r'a\.yaml:6: metadata\.annotations\.gitward/wave: '
                                            r'must be text; write it in quotes, e\.g\. "1"'):
        render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})


def test_bad_dependency_reference_is_refused(render: Render) -> None:
    annotations = '    gitward/depends-on: "db"\n'
    with pytest.raises(ManifestError, match=r"a\.yaml:6: metadata\.annotations\.gitward/"
                                            r"depends-on: 'db' is not a resource reference"):
        render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})


def test_bad_prune_value_is_refused(render: Render) -> None:
    annotations = '    gitward/prune: "no"\n'
    with pytest.raises(ManifestError, match=r'gitward/prune: must be "true" or "false"'):
        render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})


def test_misspelt_gitward_annotation_is_refused(render: Render) -> None:
    annotations = '    gitward/wav: "1"\n'
    with pytest.raises(ManifestError, match=r"a\.yaml:6: metadata\.annotations\.gitward/wav: "
                                            r"unknown gitward annotation; known ones: "
                                            r"gitward/wave"):
        render({"apps/web/a.yaml": file_manifest("a", annotations=annotations)})


def test_unknown_kind_lists_the_known_kinds(render: Render) -> None:
    text = file_manifest("a").replace("kind: File", "kind: Fiel")
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:2: kind: unknown kind 'Fiel'; "
                                            r"known kinds: File, Service$"):
        render({"apps/web/a.yaml": text})


def test_unknown_spec_field_names_its_own_line(render: Render) -> None:
    text = file_manifest("a", extra="  content: hi\n  mdoe: '0600'")
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:8: spec\.mdoe: unknown field; "
                                            r"known fields here: path, content, .*mode$"):
        render({"apps/web/a.yaml": text})


def test_invalid_spec_value_names_field_line_and_counts_other_problems(render: Render) -> None:
    text = file_manifest("a", path="etc/a", extra="  content: hi\n  mode: '999'")
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:6: spec\.path: String should "
                                            r"match pattern .* \(and 1 more problem\)$"):
        render({"apps/web/a.yaml": text})


def test_errors_in_a_later_document_of_a_file_name_its_line(render: Render) -> None:
    text = file_manifest("a") + "---\n" + file_manifest("b", extra="  colour: red")
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:15: spec\.colour: unknown"):
        render({"apps/web/a.yaml": text})


def test_missing_kind_is_reported(render: Render) -> None:
    text = "apiVersion: gitward/v1\nmetadata:\n  name: a\nspec: {}\n"
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:1: kind: is required; add it$"):
        render({"apps/web/a.yaml": text})


def test_wrong_api_version_is_reported(render: Render) -> None:
    text = file_manifest("a").replace("gitward/v1", "v1")
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:1: apiVersion: must be "
                                            r"gitward/v1$"):
        render({"apps/web/a.yaml": text})


def test_unknown_top_level_field_is_reported(render: Render) -> None:
    text = file_manifest("a") + "status: ok\n"
    with pytest.raises(ManifestError, match=r"a\.yaml:8: status: unknown field; known fields "
                                            r"here: apiVersion, kind, metadata, spec$"):
        render({"apps/web/a.yaml": text})


def test_bad_resource_name_is_explained(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"a\.yaml:4: metadata\.name: must be 1-253 letters"):
        render({"apps/web/a.yaml": file_manifest("-bad-")})


def test_a_document_that_is_not_a_mapping_is_reported(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"^apps/web/a\.yaml:2: a manifest is a mapping .* "
                                            r"not a list$"):
        render({"apps/web/a.yaml": "---\n- a\n- b\n"})


def test_duplicate_key_in_one_app_names_both_places(render: Render) -> None:
    files = {"apps/web/a.yaml": file_manifest("motd"),
             "apps/web/b.yaml": file_manifest("motd", path="/etc/other")}
    with pytest.raises(DuplicateResourceError, match=r"File/motd@local is declared twice: at "
                                                     r"apps/web/a\.yaml:1 and at "
                                                     r"apps/web/b\.yaml:1"):
        render(files)


def test_two_resources_claiming_one_path_conflict(render: Render) -> None:
    files = {"apps/web/a.yaml": file_manifest("one", path="/etc/motd"),
             "apps/web/b.yaml": file_manifest("two", path="/etc/motd")}
    with pytest.raises(ConflictError, match="both manage fs:/etc/motd"):
        render(files)
