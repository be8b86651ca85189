"""Editing one manifest file re-validates only the documents that changed; the
others keep their resources, at their new lines."""

from __future__ import annotations

from gitward.engine.render import render_apps
from gitward.engine.workspace import Workspace
from gitward.stores import open_store

from .conftest import SYSTEM, Env, file_manifest


def _origins(env: Env) -> dict[str, str]:
    ws = Workspace(repo=str(env.origin), store=open_store(env.store), state_dir=env.state,
                   root_overrides={"local": str(env.target)}, objects="git")
    try:
        rendered = render_apps(ws.snapshot(), ws.system(), ["web"], ws.state_dir)
        return {r.key.name: str(r.origin) for r in rendered["web"]}
    finally:
        ws.close()


def test_removing_a_document_moves_the_others_origins(env: Env) -> None:
    docs = [file_manifest(f"f{i}", f"/etc/f{i}", f"{i}\n") for i in range(3)]
    env.commit({"gitward.yaml": SYSTEM, "apps/web/files.yaml": "---\n".join(docs)})
    before = _origins(env)
    assert before == {"f0": "apps/web/files.yaml:1", "f1": "apps/web/files.yaml:10",
                      "f2": "apps/web/files.yaml:19"}
    env.commit({"apps/web/files.yaml": "---\n".join(docs[1:])})
    assert _origins(env) == {"f1": "apps/web/files.yaml:1", "f2": "apps/web/files.yaml:10"}


def test_a_bad_edit_of_one_document_is_still_refused(env: Env) -> None:
    docs = [file_manifest(f"f{i}", f"/etc/f{i}", f"{i}\n") for i in range(2)]
    env.commit({"gitward.yaml": SYSTEM, "apps/web/files.yaml": "---\n".join(docs)})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/files.yaml": docs[0] + "---\n" + docs[1].replace('"0644"', '"9999"')})
    result = env.cli("sync", "web")
    assert result.code == 1 and "apps/web/files.yaml" in result.stderr + result.stdout
