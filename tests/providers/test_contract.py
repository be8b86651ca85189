"""Every built-in kind passes the provider contract of `gitward.testing`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from gitward.core.model import Action
from gitward.core.seams import Provider
from gitward.providers.command import CommandProvider
from gitward.providers.files import FilesProvider
from gitward.testing import ContractSample, ProviderContract
from tests.providers.builders import a_command, a_file, desired


class _Files(ProviderContract):
    def make_provider(self, connection: Any) -> Provider:
        return FilesProvider(connection)


class TestTextFileContract(_Files):
    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(a_file("/etc/motd", "hello\n"),
                              a_file("/etc/motd", "goodbye\n", mode="0600"))


class TestBinaryFileContract(_Files):
    def sample(self, tmp_path: Path) -> ContractSample:
        blob = base64.b64encode(bytes(range(256))).decode()
        return ContractSample(
            desired("File", {"path": "/var/lib/blob.bin", "content_base64": blob}),
            desired("File", {"path": "/var/lib/blob.bin", "content_base64": blob[:8]}))


class TestSensitiveFileContract(_Files):
    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(a_file("/etc/app/token", "s3cret\n", sensitive=True),
                              a_file("/etc/app/token", "n3w-s3cret\n", sensitive=True))


class TestDirectoryContract(_Files):
    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(desired("Directory", {"path": "/srv/data"}),
                              desired("Directory", {"path": "/srv/data", "mode": "0700"}))


class TestSymlinkContract(_Files):
    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(
            desired("Symlink", {"path": "/etc/alternatives/editor", "target": "/usr/bin/vi"}),
            desired("Symlink", {"path": "/etc/alternatives/editor", "target": "/usr/bin/ed"}))


class _Commands(ProviderContract):
    def make_provider(self, connection: Any) -> Provider:
        return CommandProvider(connection)


class TestGuardedCommandContract(_Commands):
    """A command guarded by `creates`: a new guard path means "run again"."""

    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(
            a_command("echo made > made.txt", creates="/made.txt", undo="rm made.txt"),
            a_command("echo made > other.txt", creates="/other.txt", undo="rm other.txt"),
            changed_action=Action.create)


class TestGuardlessCommandContract(_Commands):
    """A command without guards: a changed command is an update that runs it again."""

    def sample(self, tmp_path: Path) -> ContractSample:
        return ContractSample(a_command(["sh", "-c", "echo one >> log.txt"]),
                              a_command(["sh", "-c", "echo two >> log.txt"]))
