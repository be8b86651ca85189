"""The seal's quick check of an lstat says what the providers' facts say."""

from __future__ import annotations

import os
from pathlib import Path

from gitward.providers.connection import file_stat
from gitward.providers.file_facts import lstat_matches, same_facts, stat_facts


def _recorded(path: Path) -> dict[str, object]:
    return stat_facts(str(path), file_stat(os.lstat(path)))


def test_the_quick_check_agrees_with_the_facts_as_each_thing_changes(tmp_path: Path) -> None:
    motd, conf, link = tmp_path / "motd", tmp_path / "conf.d", tmp_path / "link"
    motd.write_text("hello\n")
    conf.mkdir(mode=0o750)
    link.symlink_to(motd)
    file_was, dir_was, link_was = _recorded(motd), _recorded(conf), _recorded(link)

    def agree() -> list[bool]:
        out = []
        for path, was in ((motd, file_was), (conf, dir_was), (link, link_was)):
            quick = lstat_matches(was, os.lstat(path))
            assert quick == same_facts(was, _recorded(path)), path
            out.append(quick)
        return out

    assert agree() == [True, True, False]       # a symlink is never judged by its facts
    st = motd.stat()
    motd.write_text("HELLO\n")                   # same size, old mtime: the ctime moves
    os.utime(motd, ns=(st.st_atime_ns, st.st_mtime_ns))
    conf.chmod(0o777)
    assert agree() == [False, False, False]
    motd.unlink()
    motd.mkdir()                                 # a directory where the file was
    assert not lstat_matches(file_was, os.lstat(motd))
    assert not lstat_matches(dir_was, os.lstat(link))
