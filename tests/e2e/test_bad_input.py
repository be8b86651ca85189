"""Every bad input: one clear line naming what is wrong, exit 1, nothing applied."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.e2e.conftest import SYSTEM, Env, file_manifest, git

GOOD = file_manifest("good", "/srv/good", "v1\n")
GOOD_V2 = file_manifest("good", "/srv/good", "v2\n")
TWO_APPS = SYSTEM + "  api:\n    path: apps/api\n"
JINJA = SYSTEM + "    renderer: jinja\n    values: [values/prod.yaml]\n"

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(8))

CASES = {
    "malformed yaml": ({"apps/web/bad.yaml": "kind: File\nmetadata: {name: x\n"},
                       "apps/web/bad.yaml:"),
    "unknown kind": ({"apps/web/bad.yaml": "apiVersion: gitward/v1\nkind: Teapot\n"
                      "metadata: {name: x}\nspec: {}\n"}, "Teapot"),
    "unknown field": ({"apps/web/bad.yaml": file_manifest("x", "/srv/x", "x").replace(
        "  mode:", "  colour: red\n  mode:")}, "colour"),
    "duplicate key in app": ({"apps/web/dup.yaml": file_manifest("good", "/srv/other", "x")},
                             "declared twice"),
    "duplicate key across apps": ({"gitward.yaml": TWO_APPS,
                                   "apps/api/a.yaml": file_manifest("good", "/srv/api", "x")},
                                  "declared twice"),
    "same path in two apps": ({"gitward.yaml": TWO_APPS,
                               "apps/api/a.yaml": file_manifest("other", "/srv/good", "x")},
                              "/srv/good"),
    "path with ..": ({"apps/web/bad.yaml": file_manifest("x", "/srv/../../etc/passwd", "x")},
                     ".."),
    "relative path": ({"apps/web/bad.yaml": file_manifest("x", "etc/passwd", "x")}, "path"),
    "alias bomb": ({"apps/web/bomb.yaml": BILLION_LAUGHS}, "apps/web/bomb.yaml"),
    "document too large": ({"apps/web/big.yaml": "a: " + "x" * 2_000_000 + "\n"},
                           "apps/web/big.yaml"),
    "python tag": ({"apps/web/evil.yaml": "!!python/object/apply:os.system ['touch /tmp/p']\n"},
                   "apps/web/evil.yaml"),
    "invalid utf-8": ({"apps/web/bin.yaml": "kind: File\nname: \udcff\n"}, "UTF-8"),
    "undefined template variable": ({"gitward.yaml": JINJA, "values/prod.yaml": "port: 1\n",
                                     "apps/web/t.yaml": file_manifest(
                                         "t", "/srv/t", "{{ missing_var }}")}, "missing_var"),
    "template syntax error": ({"gitward.yaml": JINJA, "values/prod.yaml": "port: 1\n",
                               "apps/web/t.yaml": file_manifest("t", "/srv/t", "{% if %}")},
                              "apps/web/t.yaml"),
    "missing values file": ({"gitward.yaml": JINJA}, "values/prod.yaml"),
    "dependency cycle": ({"apps/web/c.yaml": file_manifest(
        "c1", "/srv/c1", "x", annotations={"gitward/depends-on": "File/c2"}) + "---\n"
        + file_manifest("c2", "/srv/c2", "x", annotations={"gitward/depends-on": "File/c1"})},
        "File/c1@local -> File/c2@local -> File/c1@local"),
    "app dependency cycle": ({"gitward.yaml": "apps:\n  web: {path: apps/web, depends_on: [api]}"
                              "\n  api: {path: apps/api, depends_on: [web]}\n",
                              "apps/api/a.yaml": file_manifest("a", "/srv/a", "x")}, "cycle"),
    "unknown app field": ({"gitward.yaml": SYSTEM + "    colour: blue\n"},
                          "gitward.yaml:6: apps.web.colour: unknown field; known fields"),
    "unknown sync field": ({"gitward.yaml": SYSTEM + "    sync: {prunee: false}\n"},
                           "apps.web.sync.prunee: unknown field; known fields here: auto, prune"),
}


def _write_raw(env: Env, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = env.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_applies_nothing(env: Env, case: str) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    assert env.cli("sync", "--all").code == 0
    files, expected = CASES[case]
    _write_raw(env, {"apps/web/good.yaml": GOOD_V2, **files})
    env.commit({}, f"Bad: {case}")
    before = env.snapshot()
    runs_before = len(env.history("web"))

    result = env.cli("sync", "--all")

    assert result.code == 1, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert expected in lines[0], lines[0]
    assert env.snapshot() == before, "nothing may be applied after a bad input"
    assert len(env.history("web")) == runs_before


def test_symlink_in_repository_pointing_outside_is_refused(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    os.symlink("/etc/passwd", env.work / "apps/web/passwd")
    env.commit({"apps/web/f.yaml": "apiVersion: gitward/v1\nkind: File\nmetadata: {name: f}\n"
                                   "spec: {path: /srv/f, source: passwd}\n"}, "Link out")
    result = env.cli("sync", "web")
    assert result.code == 1 and "passwd" in result.stderr
    assert not env.exists("/srv/f") and not env.exists("/srv/good")


def test_symlink_on_target_leading_outside_root_is_refused(env: Env, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, env.target / "srv")
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    result = env.cli("sync", "web")
    assert result.code == 1
    assert "root" in (result.stdout + result.stderr)
    assert list(outside.iterdir()) == []


def test_unknown_ref_names_it(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    result = env.cli("plan", "--ref", "no-such-branch")
    assert result.code == 1 and "no-such-branch" in result.stderr
    assert "main" in result.stderr


def test_unreachable_repository_keeps_last_state_and_prunes_nothing(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    assert env.cli("sync", "web").code == 0
    before = env.snapshot()
    shutil.rmtree(env.origin)
    result = env.cli("sync", "web")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert str(env.origin) in result.stderr
    assert env.snapshot() == before


def test_cli_error_as_subprocess_has_no_traceback(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/bad.yaml": "kind: [\n"}, "Bad")
    done = env.subprocess(*env.args("sync", "web"))
    assert done.code == 1
    assert "Traceback" not in done.stderr and "apps/web/bad.yaml" in done.stderr
    git(env.work, "log", "-1")


def test_a_store_that_cannot_open_is_named_while_the_fetch_runs(env: Env) -> None:
    # The sync starts fetching before it opens the store: the store's error is the
    # one reported, and the fetch ends before the process does.
    env.commit({"gitward.yaml": SYSTEM, "apps/web/good.yaml": GOOD}, "Good")
    argv = env.args("sync", "web")
    argv[argv.index("--store") + 1] = "mysql://db/gitward"
    done = env.subprocess(*argv)
    assert done.code == 1 and "Traceback" not in done.stderr
    assert "mysql://db/gitward" in done.stderr and not env.exists("/srv/good")
    assert env.cli("sync", "web").code == 0   # the mirror the fetch left is sound
