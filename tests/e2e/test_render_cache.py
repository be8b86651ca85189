"""The render cache never serves stale resources: whatever a manifest reads
(its own bytes, a source file, values, a symlink's target) invalidates it."""

from __future__ import annotations

import os

from tests.e2e.conftest import SYSTEM, Env, file_manifest

SOURCED = ("apiVersion: gitward/v1\nkind: File\nmetadata: {name: page}\n"
           "spec: {path: /srv/page, source: files/page.txt, template: true}\n")


def test_changing_only_a_source_file_updates_the_target(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/page.yaml": SOURCED,
                "apps/web/files/page.txt": "one\n",
                "apps/web/other.yaml": file_manifest("other", "/srv/other", "o\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/files/page.txt": "two\n"}, "Only the source")
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/page") == "two\n"
    assert env.read("/srv/other") == "o\n"


def test_changing_values_rerenders_templated_sources_of_a_plain_app(env: Env) -> None:
    system = SYSTEM + "    values: [values.yaml]\n"
    env.commit({"gitward.yaml": system, "values.yaml": "colour: red\n",
                "apps/web/page.yaml": SOURCED, "apps/web/files/page.txt": "{{ colour }}\n"})
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/page") == "red\n"
    env.commit({"values.yaml": "colour: blue\n"}, "Blue")
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/page") == "blue\n"


def test_symlinked_manifest_follows_its_target(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "shared/a.yaml": file_manifest("a", "/srv/a", "first\n")})
    (env.work / "apps/web").mkdir(parents=True)
    os.symlink("../../shared/a.yaml", env.work / "apps/web/a.yaml")
    env.commit({}, "Link a")
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/a") == "first\n"
    env.commit({"shared/a.yaml": file_manifest("a", "/srv/a", "second\n")}, "Change target")
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/a") == "second\n"


def test_a_manifest_that_becomes_a_source_is_no_longer_a_manifest(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/conf.yaml": file_manifest("conf", "/srv/conf", "c\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/deploy.yaml": (
        "apiVersion: gitward/v1\nkind: File\nmetadata: {name: deployed}\n"
        "spec: {path: /srv/deployed.yaml, source: conf.yaml}\n")}, "Ship conf.yaml as content")
    result = env.cli("sync", "web")
    assert result.code == 0, result.stderr
    assert not env.exists("/srv/conf")
    assert "kind: File" in env.read("/srv/deployed.yaml")
