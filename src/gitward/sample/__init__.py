"""`gitward init`: a small, real GitOps repository to try gitward on.

Three apps show the three renderers and the ordering rules:

- ``base`` (plain YAML): directories, a file and a symlink, in waves;
- ``web`` (Jinja2 with layered values): a templated config and a page whose
  content comes from a file in the repository; depends on ``base``;
- ``jobs`` (base + overlay): a command guarded by ``creates`` and a file the
  overlay patches; depends on ``base``.

All of them converge into one `local` target whose root is chosen at init.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitward.core.errors import GitwardError

__all__ = ["SAMPLE_FILES", "scaffold"]

SAMPLE_FILES: dict[str, str] = {
    "gitward.yaml": """\
# The system map: which apps exist, how they render, where they go.
apiVersion: gitward/v1
kind: System
targets:
  local:
    root: "@ROOT@"   # the directory that stands for / on this target
apps:
  base:
    path: apps/base
  web:
    path: apps/web
    renderer: jinja
    values: [values/common.yaml, values/prod.yaml]
    depends_on: [base]
  jobs:
    path: apps/jobs/prod
    renderer: overlay
    base: apps/jobs/base
    depends_on: [base]
    sync:
      prune: true
      retry: {limit: 2, backoff: 5s}
""",
    "apps/base/dirs.yaml": """\
apiVersion: gitward/v1
kind: Directory
metadata:
  name: srv-demo
spec:
  path: /srv/demo
  mode: "0755"
---
apiVersion: gitward/v1
kind: Directory
metadata:
  name: srv-demo-etc
spec:
  path: /srv/demo/etc
""",
    "apps/base/motd.yaml": """\
apiVersion: gitward/v1
kind: File
metadata:
  name: motd
  annotations:
    gitward/wave: "1"
spec:
  path: /srv/demo/etc/motd
  content: |
    Welcome. This host is managed by gitward: edit the repository, not this file.
  mode: "0644"
---
apiVersion: gitward/v1
kind: Symlink
metadata:
  name: current-etc
  annotations:
    gitward/wave: "1"
spec:
  path: /srv/demo/current
  target: /srv/demo/etc
""",
    "apps/web/site.yaml": """\
apiVersion: gitward/v1
kind: File
metadata:
  name: site-conf
spec:
  path: /srv/demo/web/site.conf
  content: |
    # {{ app }} for {{ environment }}
    listen {{ web.port }};
    server_name {{ web.hostname }};
    workers {{ web.workers }};
  mode: "0640"
---
apiVersion: gitward/v1
kind: File
metadata:
  name: index-html
  annotations:
    gitward/depends-on: File/site-conf
spec:
  path: /srv/demo/web/index.html
  source: files/index.html
  template: true
""",
    "apps/web/files/index.html": """\
<!doctype html>
<title>{{ web.hostname }}</title>
<h1>Hello from {{ environment }}</h1>
""",
    "values/common.yaml": """\
environment: common
web:
  port: 8080
  hostname: demo.localhost
  workers: 2
""",
    "values/prod.yaml": """\
environment: production
web:
  workers: 4
""",
    "apps/jobs/base/jobs.yaml": """\
apiVersion: gitward/v1
kind: Directory
metadata:
  name: jobs-dir
spec:
  path: /srv/demo/jobs
---
apiVersion: gitward/v1
kind: File
metadata:
  name: schedule
  annotations:
    gitward/depends-on: Directory/jobs-dir
spec:
  path: /srv/demo/jobs/schedule
  content: "hourly cleanup\\n"
---
apiVersion: gitward/v1
kind: Command
metadata:
  name: first-run
  annotations:
    gitward/wave: "1"
spec:
  command: "date -u +%Y-%m-%dT%H:%M:%SZ > first-run.txt"
  cwd: /srv/demo/jobs
  creates: /srv/demo/jobs/first-run.txt
""",
    "apps/jobs/prod/patch.yaml": """\
# Patches merge onto the base by kind and name (JSON merge patch).
apiVersion: gitward/v1
kind: File
metadata:
  name: schedule
spec:
  content: "every 15 minutes: cleanup\\n"
  mode: "0600"
""",
    "README.md": """\
# A gitward repository

`gitward.yaml` lists the apps; each app's manifests live under `apps/`.
Change a file, commit, and run `gitward plan --repo . --all` then
`gitward sync --repo . --all`. Roll back with `gitward rollback APP`.
""",
}


def scaffold(directory: Path, target_root: Path) -> str:
    """Write the sample repository, commit it, and return the commit SHA."""
    if directory.exists() and any(directory.iterdir()):
        raise GitwardError(f"{directory} exists and is not empty; choose a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    for rel, text in SAMPLE_FILES.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("@ROOT@", str(target_root)))
    env = {**os.environ, "GIT_AUTHOR_NAME": "gitward", "GIT_AUTHOR_EMAIL": "gitward@localhost",
           "GIT_COMMITTER_NAME": "gitward", "GIT_COMMITTER_EMAIL": "gitward@localhost"}
    # updateInstead: pushes to the checked-out branch (e.g. a rollback commit)
    # are accepted and update this working copy, as a user trying gitward expects.
    for args in (["init", "-q", "-b", "main"],
                 ["config", "receive.denyCurrentBranch", "updateInstead"], ["add", "-A"],
                 ["commit", "-q", "-m", "Sample gitward repository"]):
        subprocess.run(["git", *args], cwd=directory, env=env, check=True,
                       capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, check=True,
                          capture_output=True, text=True)
    return head.stdout.strip()
