"""The jinja renderer: values layering and template errors with their lines."""

from __future__ import annotations

import pytest

from gitward.core.errors import ManifestError, TemplateError, ValuesFileError

from .conftest import Render, file_manifest

MOTD = file_manifest("motd",
                     extra='  content: "{{ greeting }} from {{ app }}@{{ revision[:7] }}"')


def content(render: Render, files: dict[str, str], **app_fields: object) -> str:
    [res] = render(files, renderer="jinja", **app_fields)
    return str(res.spec["content"])


def test_values_files_layer_in_order_and_vars_win_last(render: Render) -> None:
    text = file_manifest("motd", extra="  content: \"{{ db.host }}:{{ db.port }} {{ env }}\"")
    files = {"apps/web/motd.yaml.j2": text,
             "values/common.yaml": "db: {host: common, port: 5432}\nenv: dev\n",
             "values/prod.yaml": "db: {host: prod}\nenv: prod\n"}
    assert content(render, files, values=["values/common.yaml", "values/prod.yaml"]) == (
        "prod:5432 prod")
    assert content(render, files, values=["values/common.yaml", "values/prod.yaml"],
                   vars={"env": "staging"}) == "prod:5432 staging"


def test_app_name_and_revision_are_variables(render: Render) -> None:
    assert content(render, {"apps/web/motd.yaml": MOTD}, vars={"greeting": "hello"}) == (
        "hello from web@abc1234")


def test_values_file_inside_the_app_path_is_not_a_manifest(render: Render) -> None:
    files = {"apps/web/motd.yaml": MOTD, "apps/web/values.yaml": "greeting: hey\n"}
    assert content(render, files, values=["apps/web/values.yaml"]).startswith("hey from")


def test_undefined_variable_names_the_variable_and_template_line(render: Render) -> None:
    with pytest.raises(TemplateError, match=r"^apps/web/motd\.yaml:7: undefined variable "
                                            r"'greeting'; define it in the app's values"):
        render({"apps/web/motd.yaml": MOTD}, renderer="jinja")


def test_undefined_variable_inside_a_loop_names_the_loop_line(render: Render) -> None:
    text = ("{% for user in users %}\n---\n"
            + file_manifest("u{{ loop.index }}", path="/home/{{ user.nmae }}") + "{% endfor %}\n")
    with pytest.raises(TemplateError, match=r"^apps/web/u\.yaml:8: undefined value: .* has no "
                                            r"attribute 'nmae'"):
        render({"apps/web/u.yaml": text}, renderer="jinja", vars={"users": [{"name": "ann"}]})


def test_template_syntax_error_names_the_line(render: Render) -> None:
    text = file_manifest("motd", extra="  content: \"{{ greeting }\"")
    with pytest.raises(TemplateError, match=r"^apps/web/motd\.yaml:7: template syntax error"):
        render({"apps/web/motd.yaml": text}, renderer="jinja", vars={"greeting": "x"})


def test_sandbox_refuses_python_internals(render: Render) -> None:
    text = file_manifest("motd", extra="  content: \"{{ greeting.__class__.__mro__ }}\"")
    with pytest.raises(TemplateError, match=r"motd\.yaml:7: not allowed in a template"):
        render({"apps/web/motd.yaml": text}, renderer="jinja", vars={"greeting": "x"})


def test_missing_values_file_names_file_and_app(render: Render) -> None:
    with pytest.raises(ValuesFileError, match=r"^values/prod\.yaml: values file of app web does "
                                              r"not exist at revision abc1234"):
        render({"apps/web/motd.yaml": MOTD}, renderer="jinja", values=["values/prod.yaml"])


def test_values_file_must_be_a_mapping(render: Render) -> None:
    files = {"apps/web/motd.yaml": MOTD, "values.yaml": "- a\n- b\n"}
    with pytest.raises(ValuesFileError, match=r"^values\.yaml:1: values file of app web must "
                                              r"hold one YAML mapping"):
        render(files, renderer="jinja", values=["values.yaml"])


def test_invalid_yaml_after_rendering_says_so(render: Render) -> None:
    text = file_manifest("motd", extra="  content: {{ greeting }}")
    with pytest.raises(ManifestError, match=r"^apps/web/motd\.yaml:7: not valid YAML: .*\(in the "
                                            r"text the template rendered\)$"):
        render({"apps/web/motd.yaml": text}, renderer="jinja", vars={"greeting": "a: b"})


def test_templates_render_j2_files_and_ignore_other_files(render: Render) -> None:
    files = {"apps/web/a.yaml.j2": file_manifest("a"), "apps/web/b.yml": file_manifest("b"),
             "apps/web/README.md": "{{ not a template }}", "apps/web/c.json": "{}"}
    assert [r.key.name for r in render(files, renderer="jinja")] == ["a", "b"]
