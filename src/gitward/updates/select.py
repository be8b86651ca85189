"""Choosing a version: from every tag a source lists, the one a policy wants.

Pure and table-tested. Tags pass, in order: the ignore list (globs), the regex
(whose ``version`` group, if any, is what is compared), the parse of the sort
order (a tag that does not parse is skipped and counted, never an error), the
pre-release rule and the semver range. The highest remaining one is chosen.

Semver parsing uses `packaging.version` with a leading ``v`` dropped, so
``v1.4.2``, ``1.4`` and ``1.5.0-rc.1`` (a pre-release) all parse. Ranges are
written as operators separated by spaces or commas (``>=1.2 <2``), or npm's
caret and tilde (``^1.4`` is ``>=1.4,<2``; ``~1.4.2`` is ``>=1.4.2,<1.5``).

>>> choose_version(["1.4.2", "1.5.0", "2.0.0", "latest"], Selection(semver="<2")).chosen
'1.5.0'
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from gitward.updates.policy import Selection

__all__ = ["Choice", "choose_version", "is_newer", "parse_range", "sort_key"]

_CALVER_PART = re.compile(r"\d+")
_CALVER = re.compile(r"^\d{2,4}(?:[._-]\d{1,2}){0,2}(?:[._-]\d+)?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_RANGE_PART = re.compile(r"(~=|===|==|!=|<=|>=|<|>|=|\^|~)\s*([^\s,]+)")


@dataclass(frozen=True, slots=True)
class Choice:
    """The outcome of choosing: the version (None if none qualified) and the counts."""

    chosen: str | None
    candidates: int  # tags that passed every filter
    listed: int
    skipped: int  # tags that did not parse in the sort order
    ignored: int
    note: str = ""  # why nothing was chosen, for people


def parse_range(text: str) -> SpecifierSet:
    """A `SpecifierSet` from ``>=1.2 <2``, ``>=1.2,<2``, ``^1.4`` or ``~1.4.2``.

    >>> str(parse_range("^1.4"))
    '<2,>=1.4'
    """
    parts: list[str] = []
    found = _RANGE_PART.findall(text)
    rest = _RANGE_PART.sub("", text).replace(",", "").strip()
    if not found or rest:
        raise ValueError(f"semver range {text!r} is not understood; write e.g. \">=1.2 <2\"")
    for operator, raw in found:
        version = _parse_semver(raw)
        if version is None:
            raise ValueError(f"semver range {text!r}: {raw!r} is not a version")
        if operator == "^":
            upper = _caret_upper(version)
            parts += [f">={version}", f"<{upper}"]
        elif operator == "~":
            parts += [f">={version}", f"<{version.major}.{version.minor + 1}"]
        else:
            parts.append(f"{'==' if operator == '=' else operator}{version}")
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier as error:
        raise ValueError(f"semver range {text!r} is not understood: {error}") from None


def _caret_upper(version: Version) -> str:
    # npm: ^1.2.3 <2.0.0, ^0.2.3 <0.3.0, ^0.0.3 <0.0.4
    release = (*version.release, 0, 0)[:3]
    if release[0]:
        return f"{release[0] + 1}"
    if release[1]:
        return f"0.{release[1] + 1}"
    return f"0.0.{release[2] + 1}"


def _parse_semver(text: str) -> Version | None:
    try:
        return Version(text[1:] if text[:1] in ("v", "V") else text)
    except InvalidVersion:
        return None


def sort_key(version: str, sort: str) -> Any:
    """What `version` is compared by in the `sort` order; None if it does not parse."""
    if sort == "semver":
        return _parse_semver(version)
    if sort == "numerical":
        return float(version) if _NUMBER.match(version) else None
    if sort == "calver":
        text = version[1:] if version[:1] in ("v", "V") else version
        if not _CALVER.match(text):
            return None
        return tuple(int(part) for part in _CALVER_PART.findall(text))
    return version  # alphabetical


def _compared(tag: str, selection: Selection, pattern: re.Pattern[str] | None) -> str | None:
    """The part of `tag` that is compared, or None if the regex filters it out."""
    if pattern is None:
        return tag
    match = pattern.search(tag)
    if match is None:
        return None
    return match.group("version") if "version" in pattern.groupindex else tag


def is_newer(candidate: str, current: str, selection: Selection) -> bool:
    """Whether `candidate` sorts after `current`; True when `current` does not parse.

    A value that the policy cannot read (e.g. ``latest``) is replaced; one that
    is already ahead of what the policy chose is never downgraded.
    """
    pattern = re.compile(selection.regex) if selection.regex else None
    old = _compared(current, selection, pattern)
    new = _compared(candidate, selection, pattern)
    old_key = sort_key(old, selection.sort) if old is not None else None
    new_key = sort_key(new, selection.sort) if new is not None else None
    if old_key is None or new_key is None:
        return candidate != current
    return bool(new_key > old_key)


def choose_version(tags: Iterable[str], selection: Selection,
                   ignore: Iterable[str] = ()) -> Choice:
    """The highest of `tags` that `selection` allows, with counts for the report."""
    listed = sorted(set(tags))
    pattern = re.compile(selection.regex) if selection.regex else None
    spec = parse_range(selection.semver) if selection.semver else None
    ignore_globs = list(ignore)
    best: tuple[Any, str] | None = None
    candidates = skipped = ignored = 0
    for tag in listed:
        if any(fnmatch.fnmatchcase(tag, glob) for glob in ignore_globs):
            ignored += 1
            continue
        compared = _compared(tag, selection, pattern)
        if compared is None:
            ignored += 1
            continue
        key = sort_key(compared, selection.sort)
        if key is None:
            skipped += 1
            continue
        if isinstance(key, Version):
            if key.is_prerelease and not selection.prerelease:
                ignored += 1
                continue
            if spec is not None and not spec.contains(key, prereleases=selection.prerelease):
                ignored += 1
                continue
        candidates += 1
        if best is None or key > best[0] or (key == best[0] and tag > best[1]):
            best = (key, tag)
    note = ""
    if best is None:
        what = f"range {selection.semver!r}" if selection.semver else "the selection"
        note = (f"{what} matched none of {len(listed)} listed versions "
                f"({skipped} unparsable, {ignored} filtered out)")
    return Choice(best[1] if best else None, candidates, len(listed), skipped, ignored, note)
