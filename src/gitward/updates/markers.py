"""Markers: the values in the repository that a policy keeps current.

A value is kept current when its line carries a comment naming the policy::

    image: registry.local/web:1.4.2   # gitward:update web-image
    tag: "1.4.2"                      # gitward:update web-image:tag

Without a suffix the whole value is written (for a registry policy, the
policy's image reference and the tag); ``:tag`` writes only the tag, after the
reference's last ``:``. Every ``*.yaml``/``*.yml`` file is searched, and the
text files a policy lists in ``files:`` (a marker in any comment, ``#``,
``//``, ``--`` or ``;``; the value is the last word before it).

An edit must change nothing but the value: a reviewer reads the diff, and a
re-serialised file (PyYAML rewrote 34 lines of a 40-line manifest to bump one
tag) hides the change. So YAML is composed with ruamel.yaml's round-trip
parser only to find where each marked scalar is written (its exact span, its
quoting, after any ``&anchor`` or ``!tag``); the new value replaces that span
and nothing else, in the same quoting style, quoted when a plain value would
read back as something other than text (``1.10`` as a number). The result is
composed again and each value checked. Comments, anchors, key order and
indentation stay byte for byte, so the diff is exactly the changed lines.

>>> markers_in_yaml("a: 1.2.3  # gitward:update p\\n", "x.yaml", {"p"})[0].value
'1.2.3'
"""

from __future__ import annotations

import fnmatch
import io
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitward.core.seams import Snapshot
from gitward.renderers.yaml_load import decode_text, load_documents
from gitward.updates.errors import MarkerError
from gitward.updates.policy import UpdatePolicy

__all__ = ["MARKER_TEXT", "Marker", "apply_edits", "find_markers", "markers_in_text",
           "markers_in_yaml", "new_value_for", "version_of"]

MARKER_TEXT = "gitward:update"
_YAML_MARKER = re.compile(r"#\s*gitward:update\s+(?P<name>[^\s:#]+)(?::(?P<part>\S+))?")
_TEXT_MARKER = re.compile(
    r"(?P<lead>#|//|--|;)\s*gitward:update\s+(?P<name>[^\s:#]+)(?::(?P<part>\S+))?")
_TEXT_VALUE = re.compile(r"""(?P<q>["']?)(?P<value>[^\s"'=,();]+)(?P=q)[;,)]*\s*$""")
_PROPERTIES = re.compile(r"^(?:[&!]\S*\s+)+")
_MAX_DEPTH = 64
_PARTS = ("tag",)
_PYYAML_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True, slots=True)
class Marker:
    """A marked value: where it is written, what it says, which policy keeps it."""

    path: str
    line: int  # 1-based
    policy: str
    part: Literal["value", "tag"]
    value: str  # as read, without quotes
    start: int  # character offsets of the written value (quotes included) in the file
    end: int
    style: str  # '"', "'" or "" (plain)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def find_markers(snapshot: Snapshot, policies: Mapping[str, UpdatePolicy]) -> list[Marker]:
    """Every marker in the snapshot, in path and line order.

    Raises `MarkerError` (file:line) for a marker naming no policy, or placed on
    a line whose value is not a single-line scalar.
    """
    globs = sorted({glob for policy in policies.values() for glob in policy.files})
    found: list[Marker] = []
    for path in snapshot.walk(""):
        is_yaml = path.endswith((".yaml", ".yml"))
        if not is_yaml and not any(fnmatch.fnmatchcase(path, glob) for glob in globs):
            continue
        data = snapshot.read(path)
        if MARKER_TEXT.encode() not in data:
            continue
        if is_yaml:
            load_documents(data, path)  # the safety limits and a clear error for bad YAML
            found += markers_in_yaml(decode_text(data, path), path, policies)
        else:
            found += markers_in_text(decode_text(data, path), path, policies)
    return found


def markers_in_yaml(text: str, path: str, known: Collection[str]) -> list[Marker]:
    """The markers of one YAML file; `known` are the policy names."""
    wanted = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _YAML_MARKER.search(line)
        if match:
            wanted[number] = match
    if not wanted:
        return []
    values = _values_by_line(text, path)
    found = []
    for number, match in wanted.items():
        node = values.get(number)
        line_start = _line_offset(text, number)
        if isinstance(node, ScalarNode) and node.end_mark.line + 1 == number \
                and node.end_mark.index > line_start + match.start():
            continue  # the marker text is inside a value, not a comment
        name, part = _check_marker(match, path, number, known)
        if node is None:
            raise MarkerError(path, f"marker for {name} is on a line without a value; put it "
                              "at the end of the line of the value to update", line=number)
        if not isinstance(node, ScalarNode) or node.end_mark.line + 1 != number \
                or node.style in ("|", ">"):
            raise MarkerError(path, f"marker for {name} is on a value that is not a one-line "
                              "scalar (a list, mapping or block text); mark a single value",
                              line=number)
        start = node.start_mark.index
        written = text[start:node.end_mark.index]
        properties = _PROPERTIES.match(written)
        if properties:
            start += properties.end()
        style = node.style if node.style in ('"', "'") else ""
        found.append(Marker(path, number, name, part, str(node.value), start,
                            node.end_mark.index, style))
    return found


def markers_in_text(text: str, path: str, known: Collection[str]) -> list[Marker]:
    """The markers of one plain text file: the value is the last word before the comment."""
    found = []
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        match = _TEXT_MARKER.search(line)
        if match:
            name, part = _check_marker(match, path, number, known)
            value = _TEXT_VALUE.search(line[:match.start()])
            if value is None:
                raise MarkerError(path, f"marker for {name} has no value before it on its "
                                  "line; write the version before the comment", line=number)
            found.append(Marker(path, number, name, part, value.group("value"),
                                offset + value.start("value"), offset + value.end("value"), ""))
        offset += len(line)
    return found


def _check_marker(match: re.Match[str], path: str, line: int, known: Collection[str]
                  ) -> tuple[str, Literal["value", "tag"]]:
    name, part = match.group("name"), match.group("part")
    if name not in known:
        names = ", ".join(sorted(known)) or "none are declared"
        raise MarkerError(path, f"marker names policy {name!r}, which is not declared "
                          f"(kind: UpdatePolicy; known: {names}); fix the name or add it",
                          line=line)
    if part is not None and part not in _PARTS:
        raise MarkerError(path, f"marker suffix :{part} is not known; use :tag or nothing",
                          line=line)
    return name, "tag" if part == "tag" else "value"


def _values_by_line(text: str, path: str) -> dict[int, Node]:
    """For each line, the outermost value written after a key on it (or a list item)."""
    parser = YAML(typ="rt")
    values: dict[int, Node] = {}
    try:
        for document in parser.compose_all(io.StringIO(text)):
            if document is not None:
                for line, node in _walk_values(document, 0):
                    values.setdefault(line, node)
    except RuamelError as error:
        raise MarkerError(path, f"cannot be parsed to find markers: {error}") from None
    return values


def _walk_values(node: Node, depth: int) -> Iterator[tuple[int, Node]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key.start_mark.line + 1, value
            yield from _walk_values(value, depth + 1)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            # A block mapping item (``- image: x``) is not itself the value of its line.
            if isinstance(item, ScalarNode) or getattr(item, "flow_style", False):
                yield item.start_mark.line + 1, item
            yield from _walk_values(item, depth + 1)


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def _split_tag(value: str) -> tuple[str, str] | None:
    """``("registry:5000/web", "1.4.2")`` from ``registry:5000/web:1.4.2``; None if no tag."""
    name, colon, tag = value.rpartition(":")
    if not colon or "/" in tag or "@" in value:
        return None
    return name, tag


def version_of(marker: Marker, policy: UpdatePolicy) -> str:
    """The version the marked value holds now, as the policy's versions are written."""
    image_like = marker.part == "tag" or policy.source.registry is not None
    if image_like:
        split = _split_tag(marker.value)
        if split is not None:
            return split[1]
    return marker.value


def new_value_for(marker: Marker, policy: UpdatePolicy, version: str) -> str:
    """The value `marker` gets for `version`."""
    if marker.part == "tag":
        split = _split_tag(marker.value)
        return f"{split[0]}:{version}" if split else version
    if policy.source.registry is not None:
        return f"{policy.source.registry.image_name}:{version}"
    return version


def apply_edits(text: str, path: str, edits: Sequence[tuple[Marker, str]]) -> str:
    """`text` with each marked value replaced by its new value, nothing else touched."""
    result = text
    for marker, value in sorted(edits, key=lambda edit: edit[0].start, reverse=True):
        token = _render(value, marker.style, path.endswith((".yaml", ".yml")))
        result = result[:marker.start] + token + result[marker.end:]
    if path.endswith((".yaml", ".yml")):
        _check_written(result, path, edits)
    return result


def _render(value: str, style: str, is_yaml: bool) -> str:
    if not is_yaml:
        return value
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _plain_is_text(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _plain_is_text(value: str) -> bool:
    """Whether `value` written unquoted reads back as the same text (YAML 1.1 and 1.2)."""
    if not value or value != value.strip() or re.search(r"[:#]\s|\s#|^[-?:,\[\]{}#&*!|>'\"%@`]",
                                                        value):
        return False
    resolved = _PYYAML_RESOLVER.resolve(  # type: ignore[no-untyped-call]
        yaml.ScalarNode, value, (True, False))
    if resolved != _STR_TAG:
        return False
    ruamel = YAML(typ="rt").resolver
    return bool(ruamel.resolve(ScalarNode, value, (True, False)) == _STR_TAG)


def _check_written(text: str, path: str, edits: Sequence[tuple[Marker, str]]) -> None:
    values = _values_by_line(text, path)
    for marker, value in edits:
        node = values.get(marker.line)
        if not isinstance(node, ScalarNode) or str(node.value) != value:
            raise MarkerError(path, f"writing {value!r} would not read back as that value; "
                              "report this with the line", line=marker.line)
