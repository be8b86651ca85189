"""``spec.source``: File content read from the repository at render time."""

from __future__ import annotations

import base64

import pytest

from gitward.core.errors import ManifestError, PathEscapeError, TemplateError

from .conftest import Render, file_manifest


def sourced(source: str, *more: str) -> str:
    return file_manifest("conf", extra="\n".join([f"  source: {source}", *more]))


def test_source_is_relative_to_the_manifest_directory(render: Render) -> None:
    files = {"apps/web/nginx/conf.yaml": sourced("nginx.conf"),
             "apps/web/nginx/nginx.conf": "worker_processes 4;\n"}
    [res] = render(files)
    assert res.spec["content"] == "worker_processes 4;\n"
    assert res.spec["source"] == "nginx.conf"


def test_a_leading_slash_means_the_repository_root(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("/shared/motd"), "shared/motd": "welcome\n"}
    assert render(files)[0].spec["content"] == "welcome\n"


def test_parent_directories_inside_the_repository_are_fine(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("../../shared/motd"), "shared/motd": "welcome\n"}
    assert render(files)[0].spec["content"] == "welcome\n"


@pytest.mark.parametrize("source", ["../../../etc/passwd", "/../etc/passwd", "a/../../../.."])
def test_source_leaving_the_repository_is_refused(render: Render, source: str) -> None:
    with pytest.raises(PathEscapeError, match=r"^apps/web/conf\.yaml:7: spec\.source .* leaves "
                                              r"the repository"):
        render({"apps/web/conf.yaml": sourced(source)})


def test_missing_source_names_manifest_line_and_missing_path(render: Render) -> None:
    with pytest.raises(ManifestError, match=r"^apps/web/conf\.yaml:7: spec\.source: "
                                            r"apps/web/nope\.conf does not exist at revision "
                                            r"abc1234"):
        render({"apps/web/conf.yaml": sourced("nope.conf")})


def test_templated_source_renders_with_the_apps_values(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("app.ini", "  template: true"),
             "apps/web/app.ini": "[db]\nhost = {{ db_host }}\n",
             "values.yaml": "db_host: db1\n"}
    [res] = render(files, values=["values.yaml"])
    assert res.spec["content"] == "[db]\nhost = db1\n"
    assert "template" not in res.spec


def test_templated_source_errors_name_the_source_file_and_line(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("app.ini", "  template: true"),
             "apps/web/app.ini": "[db]\nhost = {{ db_host }}\n"}
    with pytest.raises(TemplateError, match=r"^apps/web/app\.ini:2: undefined variable "
                                            r"'db_host'"):
        render(files)


def test_binary_source_becomes_base64(render: Render) -> None:
    logo = b"\x89PNG\r\n\x1a\n\x00\xff"
    [res] = render({"apps/web/conf.yaml": sourced("logo.png"), "apps/web/logo.png": logo})
    assert base64.b64decode(res.spec["content_base64"]) == logo
    assert "content" not in res.spec


def test_a_yaml_file_used_as_source_is_content_not_a_manifest(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("config.yaml"),
             "apps/web/config.yaml": "listen: 8080\nbad: [yaml\n"}
    [res] = render(files)
    assert res.spec["content"] == "listen: 8080\nbad: [yaml\n"


def test_source_and_inline_content_together_are_refused(render: Render) -> None:
    files = {"apps/web/conf.yaml": sourced("a.txt", "  content: hi"), "apps/web/a.txt": "x"}
    with pytest.raises(ManifestError, match=r"conf\.yaml:8: spec\.content: set either source "
                                            r"or content, not both"):
        render(files)
