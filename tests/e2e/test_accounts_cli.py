"""`gitward user` and `gitward token`: accounts for the web UI and the API."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gitward.cli import app


def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'store.db'}"
    added = runner.invoke(app, ["user", "add", "alice", "--role", "operator", "--apps", "web*",
                                "--password-stdin", "--store", store], input="correct horse\n")
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["user", "add", "alice", "--role", "admin", "--password-stdin",
                                "--store", store], input="another pass\n")
    assert again.exit_code == 1 and "alice" in again.stderr
    users = json.loads(runner.invoke(app, ["user", "list", "--store", store,
                                           "--output", "json"]).stdout)
    assert users == [{**users[0], "name": "alice", "role": "operator", "apps": "web*"}]
    assert "correct horse" not in (tmp_path / "store.db").read_bytes().decode("latin-1")

    made = runner.invoke(app, ["token", "create", "--name", "ci", "--role", "viewer",
                               "--store", store])
    assert made.exit_code == 0
    secret = made.stdout.strip()
    assert secret.startswith("gw_") and "shown once" in made.stderr
    listed = json.loads(runner.invoke(app, ["token", "list", "--store", store,
                                            "--output", "json"]).stdout)
    assert listed[0]["state"] == "active" and secret not in json.dumps(listed)
    assert runner.invoke(app, ["token", "revoke", str(listed[0]["id"]),
                               "--store", store]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["token", "list", "--store", store,
                                            "--output", "json"]).stdout)
    assert listed[0]["state"] == "revoked"
