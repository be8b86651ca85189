"""The peers, each given the same desired state in its own words.

- ansible-pull: `local.yml`, one `ansible.builtin.copy` of files/ (mode 0644),
  run by `ansible-pull -U file://ORIGIN -d CHECKOUT -i localhost, -c local`.
- Salt masterless: `top.sls` and `files.sls` (one `file.recurse`, file_mode
  0644, makedirs), run by `git pull` then `salt-call --local state.apply`.
- pyinfra: `deploy.py` (one `files.sync`, mode 644) and `deploy_put.py` (one
  `files.put` per file), run by `git pull` then `pyinfra @local ... -y`.

Each is configured as a careful operator would, and in its favour where that
is a documented option: no fact gathering in the playbook, an explicit
interpreter (no discovery), Salt's file server told to skip .git. Nothing is
written outside the run's workspace: HOME, TMPDIR, ANSIBLE_HOME and Salt's
root_dir all point into it. None of the peers prunes (`prune1` is for gitward
and the floor only).
"""

from __future__ import annotations

from typing import ClassVar

from bench.tools import Tool


class AnsiblePull(Tool):
    name = "ansible-pull"
    package, executable = "ansible-core", "ansible-pull"

    def describe(self) -> dict[str, str]:
        return {"local.yml": (
            "- hosts: localhost\n"
            "  gather_facts: false\n"
            "  tasks:\n"
            "    - name: the files\n"
            "      ansible.builtin.copy:\n"
            '        src: "{{ playbook_dir }}/files/"\n'
            f'        dest: "{self.target}/"\n'
            '        mode: "0644"\n')}

    def argv(self) -> list[str]:
        return self.peer("-U", f"file://{self.ws.origin}", "-d", str(self.checkout),
                         "-i", "localhost,", "-c", "local", "local.yml")

    def env(self) -> dict[str, str]:
        assert self.ws.peers_bin
        home = self.state / "ansible"
        return {**super().env(), "ANSIBLE_HOME": str(home),
                "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "ANSIBLE_REMOTE_TEMP": str(home / "tmp"),
                "ANSIBLE_PYTHON_INTERPRETER": str(self.ws.peers_bin / "python"),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_LOCALHOST_WARNING": "False",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False"}


class Salt(Tool):
    name = "salt"
    package, executable = "salt", "salt-call"

    def describe(self) -> dict[str, str]:
        return {"top.sls": "base:\n  '*':\n    - files\n",
                "files.sls": ("bench-files:\n"
                              "  file.recurse:\n"
                              f"    - name: {self.target}\n"
                              "    - source: salt://files\n"
                              "    - file_mode: '0644'\n"
                              "    - makedirs: True\n")}

    def prepare(self) -> None:
        super().prepare()
        root = self.state / "salt"   # wiped by reset(): every `first` has a cold cache
        conf = self.dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "minion").write_text(
            "id: bench\nfile_client: local\n"
            f"root_dir: {root}\nconf_file: {conf / 'minion'}\n"
            f"pki_dir: {root / 'pki'}\ncachedir: {root / 'cache'}\n"
            f"sock_dir: {root / 'sock'}\nlog_file: {root / 'log' / 'minion'}\n"
            f"pidfile: {root / 'run' / 'minion.pid'}\n"
            "file_ignore_regex:\n  - '/\\.git($|/)'\n")

    def argv(self) -> list[str]:
        return self.pull_then(self.peer("--local", "-c", str(self.dir / "conf"),
                                        f"--file-root={self.checkout}", "--retcode-passthrough",
                                        "--state-output=terse", "state.apply"))


class Pyinfra(Tool):
    name = "pyinfra"
    package, executable = "pyinfra", "pyinfra"
    deploy: ClassVar[str] = "deploy.py"

    def describe(self) -> dict[str, str]:
        return {self.deploy: (
            "from pyinfra.operations import files\n\n"
            f'files.sync(name="the files", src="files", dest="{self.target}", mode="644")\n')}

    def argv(self) -> list[str]:
        return self.pull_then(self.peer("@local", self.deploy, "-y"))


class PyinfraPut(Pyinfra):
    name = "pyinfra-put"
    deploy = "deploy_put.py"

    def describe(self) -> dict[str, str]:
        return {self.deploy: (
            "import os\n\n"
            "from pyinfra.operations import files\n\n"
            'for folder, _, names in sorted(os.walk("files")):\n'
            "    for name in sorted(names):\n"
            "        src = os.path.join(folder, name)\n"
            f'        dest = os.path.join("{self.target}", os.path.relpath(src, "files"))\n'
            '        files.put(name=src, src=src, dest=dest, mode="644")\n')}
