"""The two object databases give the same answers, object by object and path by path,
including on objects git itself would not write."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from gitward.core.errors import PathEscapeError
from gitward.sources import MirrorReadError
from gitward.sources.catfile import CatFileObjects
from gitward.sources.objects import BLOB, BLOB_EXECUTABLE, GITLINK, LINK, TREE, ObjectDatabase
from gitward.sources.pygit2_objects import Pygit2Objects
from gitward.sources.trees import TreeReader

from .conftest import Link, Origin, git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbe4904b"


def _write(repository: Path, kind: str, content: bytes) -> str:
    done = subprocess.run(["git", "-C", str(repository), "hash-object", "-w", "-t", kind,
                           "--literally", "--stdin"], input=content, check=True,
                          capture_output=True)
    return done.stdout.decode().strip()


@pytest.fixture
def both(origin: Origin) -> Iterator[tuple[ObjectDatabase, ObjectDatabase]]:
    """(pygit2, cat-file) databases over the origin itself."""
    cat_file = CatFileObjects(origin.bare)
    yield Pygit2Objects(pygit2.Repository(str(origin.bare))), cat_file
    cat_file.close()


@pytest.mark.parametrize("header", [
    b"author J\xc3\xa9r\xc3\xb4me <j@x> 5 +0200\ncommitter C <c@x> 7 -0100\n\n"
    b"\n  Subject line  \n\nBody\n",
    # Latin-1 declared: decoded with it, as libgit2 does.
    b"author J\xe9r <j@x> 5 +0000\ncommitter C <c@x> 7 +0100\nencoding ISO-8859-1\n\n"
    b"Caf\xe9\n",
    # Undeclared invalid UTF-8, an unknown encoding: replacement characters.
    b"author J\xe9r <j@x> 5 +0000\ncommitter C <c@x> 7 +0100\n\nCaf\xe9\n",
    b"author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0100\nencoding bogus-9\n\nCaf\xe9\n",
    # libgit2 splits at the last '<' and '>'; times may be absent or negative.
    b"author A <b> <c@d> 5 +0000\ncommitter  C  < c@x >  -9 +0000\n\nm\n",
    b"author A <a@x>\ncommitter C <c@x>\n\nm\n",
    b"author 'Jane, Jr.' <;j@x.;> 5 +0000\ncommitter C <c@x>x5\n\nm\n",
    b"author A <a@x> 5\ncommitter C <c@x>  \t+5z\n\nm\n",
    # A signed commit: the signature's continuation lines are not headers.
    b"author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n"
    b" tree 0000000000000000000000000000000000000000\n \n -----END PGP SIGNATURE-----\n\nsigned\n",
    b"author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\n",
    b"author A <a@x> 5 +0000\ncommitter C <c@x> 7 +0000\nauthor B <b@x> 6 +0000\n\n \n\n",
])
def test_commit_headers_are_read_alike(origin: Origin, both: tuple[ObjectDatabase, ...],
                                       header: bytes) -> None:
    sha = _write(origin.bare, "commit", f"tree {EMPTY_TREE}\n".encode() + header)
    libgit2, cat_file = (objects.commit(sha) for objects in both)
    assert cat_file == libgit2
    assert cat_file.tree_id == EMPTY_TREE


@pytest.mark.parametrize("header", [
    b"author A <a@x> x\ncommitter C <c@x> 7 +0000\n\nm\n",
    b"author A <a@x> 99999999999999999999\ncommitter C <c@x> 7 +0000\n\nm\n",
    b"author A a@x> 5\ncommitter C <c@x> 7 +0000\n\nm\n",
    b"author A <a@x> 5 +0000\n\nno committer\n",
])
def test_unparsable_commits_are_refused_alike(origin: Origin, both: tuple[ObjectDatabase, ...],
                                              header: bytes) -> None:
    sha = _write(origin.bare, "commit", f"tree {EMPTY_TREE}\n".encode() + header)
    for objects in both:
        with pytest.raises(MirrorReadError, match=f"{sha} .* corrupt or crafted"):
            objects.commit(sha)


def test_tree_modes_are_normalised_alike(origin: Origin,
                                         both: tuple[ObjectDatabase, ...]) -> None:
    blob = bytes.fromhex(_write(origin.bare, "blob", b"x\n"))
    modes = {b"644": BLOB, b"100664": BLOB, b"100755": BLOB_EXECUTABLE, b"120755": BLOB_EXECUTABLE,
             b"120000": LINK, b"40000": TREE, b"40755": TREE, b"160644": GITLINK}
    tree = _write(origin.bare, "tree", b"".join(mode + b" m" + mode + b"\0" + blob
                                                for mode in modes))
    libgit2, cat_file = (objects.entries(tree) for objects in both)
    assert cat_file == libgit2
    assert {name: mode for name, (mode, _) in cat_file.items()} == \
        {f"m{mode.decode()}": normal for mode, normal in modes.items()}


def test_names_that_are_not_utf8_are_kept_apart(origin: Origin,
                                                both: tuple[ObjectDatabase, ...]) -> None:
    blob = bytes.fromhex(_write(origin.bare, "blob", b"x\n"))
    tree = _write(origin.bare, "tree", b"100644 caf\xc3\xa9\0" + blob + b"100644 caf\xe9\0" + blob)
    libgit2, cat_file = (objects.entries(tree) for objects in both)
    assert cat_file == libgit2
    assert sorted(cat_file) == ["café", "caf\udce9"]


def test_every_path_reads_alike(origin: Origin, both: tuple[ObjectDatabase, ...]) -> None:
    first = origin.commit({
        "apps/web/a.yaml": "a\n", "apps/web/deep/b.yaml": "b\n", "shared/base.yaml": "base\n",
        "apps/web/base.yaml": Link("../../shared/base.yaml"),
        "apps/web/again.yaml": Link("base.yaml"),
        "apps/prod": Link("web"), "apps/web/dangling.yaml": Link("nope.yaml"),
        "apps/web/evil.yaml": Link("../../../outside"), "apps/web/abs.yaml": Link("/etc/passwd"),
        "loop/a": Link("b"), "loop/b": Link("a"), "root": Link("."), "up": Link("apps/.."),
    })
    (origin.work / "run.sh").write_text("#!/bin/sh\n")
    (origin.work / "run.sh").chmod(0o755)
    git(origin.work, "update-index", "--add", "--cacheinfo", f"160000,{first},apps/web/vendor")
    sha = origin.commit({}, "with a submodule and an executable")
    paths = ["", "apps", "apps/web", "apps/web/a.yaml", "apps/prod", "apps/prod/deep/b.yaml",
             "apps/web/base.yaml", "apps/web/again.yaml", "apps/web/dangling.yaml",
             "apps/web/evil.yaml", "apps/web/abs.yaml", "apps/web/vendor", "apps/web/vendor/x",
             "loop", "loop/a", "root", "root/apps/web/a.yaml", "up/shared/base.yaml", "run.sh",
             "nope", "apps/web/a.yaml/x"]

    def answers(objects: ObjectDatabase) -> dict[str, list[object]]:
        reader = TreeReader(objects, sha)
        found: dict[str, list[object]] = {}
        for path in paths:
            for ask in (reader.node, reader.read, reader.walk):
                try:
                    found.setdefault(path, []).append(ask(path))
                except (FileNotFoundError, PathEscapeError) as error:
                    found.setdefault(path, []).append(f"{type(error).__name__}: {error}")
        return found

    libgit2, cat_file = (answers(objects) for objects in both)
    assert cat_file == libgit2
    assert cat_file["apps/web/vendor"][0] is None
    assert cat_file["run.sh"][:2] == [(origin.at(sha, "run.sh"), False), b"#!/bin/sh\n"]
    assert cat_file["loop/a"][1] == "PathEscapeError: symlink 'loop/a' at " \
        f"{sha[:12]} is part of a chain longer than 8 links (a loop?); point it at the file itself"
