"""The peers' own virtual environment: bench/work/peers-venv.

`python3 -m venv`, then one `pip install` per peer, pinned, so that a peer
that will not install here is reported as "not installed" with pip's reason
while the others run. The pins are the newest releases that install on
Python 3.11 from PyPI here: ansible-core 2.20 and later need Python 3.12,
and salt 3008 needs a certifi newer than any the registry serves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

VENV = Path(__file__).resolve().parent / "work" / "peers-venv"
PINS = {"ansible-core": "ansible-core==2.19.14", "salt": "salt==3007.16",
        "pyinfra": "pyinfra==3.10.0"}


@dataclass
class PeerEnv:
    """Where the peers live, and which of them are there."""
    bin: Path
    versions: dict[str, str] = field(default_factory=dict)   # package -> version
    missing: dict[str, str] = field(default_factory=dict)    # package -> why


def probe(venv: Path = VENV) -> PeerEnv:
    """What the venv holds now; installs nothing."""
    env = PeerEnv(venv / "bin")
    python = env.bin / "python"
    if not python.exists():
        env.missing = dict.fromkeys(PINS, f"no virtual environment at {venv}")
        return env
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for p in sys.argv[1:]:\n"
            "    try: out[p] = m.version(p)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    done = subprocess.run([str(python), "-c", code, *PINS], capture_output=True, text=True,
                          check=True)
    env.versions = json.loads(done.stdout)
    env.missing = {p: f"{p} is not in {venv}" for p in PINS if p not in env.versions}
    return env


def ensure(venv: Path = VENV, log: Callable[[str], None] = print) -> PeerEnv:
    """Create the venv and install the pinned peers that are missing."""
    if not (venv / "bin" / "python").exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = probe(venv)
    for package in list(env.missing):
        log(f"pip install {PINS[package]} (into {venv})")
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                               "--disable-pip-version-check", PINS[package]],
                              capture_output=True, text=True)
        if done.returncode:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            env.missing[package] = f"pip install {PINS[package]} failed: " + (
                errors[-1] if errors else f"exit {done.returncode}")
            log(f"  {env.missing[package]}")
    found = probe(venv)
    found.missing.update({p: why for p, why in env.missing.items() if p in found.missing})
    return found
