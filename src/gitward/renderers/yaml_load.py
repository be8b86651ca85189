"""Turn the bytes of one YAML file into `Document`s, refusing anything unsafe.

Every renderer ends here: plain files are loaded as they are, templates after
Jinja has rendered them, values files before templates run. The file comes
from a Git commit, so it is untrusted input: it may be huge, not UTF-8, use
tags that build Python objects (``!!python/object/apply:os.system``), or hide
an alias bomb (a few lines of ``&a``/``*a`` that expand to billions of values)
or nesting deep enough to crash the C parser. Each of these is refused with a
`ManifestError` naming the file and line.

The fast path is libyaml's safe loader (``yaml.CSafeLoader``), one pass per
file, with a leaner constructor for the text, mappings and lists that make
up most manifests. The slower checks run only when they can matter: the alias and depth
pass (an event stream, which never recurses) only when the file contains
``*`` or could nest deeper than the limit, and `find_line` (which composes the
file again) only after a field has been found wrong.

>>> [d.data for d in load_documents(b"a: 1\\n---\\nb: 2\\n", "x.yaml")]
[{'a': 1}, {'b': 2}]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward.core.document import Document
from gitward.core.errors import ManifestError

__all__ = ["ParsedDocument", "decode_text", "field_line", "find_line", "load_documents"]

MAX_BYTES = 1_048_576
MAX_ALIASES = 100
MAX_DEPTH = 64
MAX_NODES = 250_000  # a 1 MiB file of one-character list items has about this many

_UNKNOWN_TAG = re.compile(r"could not determine a constructor for the tag '([^']*)'")


@dataclass(frozen=True, slots=True)
class ParsedDocument(Document):
    """A `Document` that keeps the text it was parsed from and its position
    among the documents `load_documents` returned for it, so that an error
    found later (a field that does not fit its schema) can be traced back to
    the field's own line with `find_line`."""

    text: str = field(default="", repr=False, compare=False)
    index: int = 0


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


class _ManifestLoader(yaml.CSafeLoader):
    """libyaml's safe loader, plus a quicker way to build a document.

    Dates stay text, as Kubernetes tools keep them, so a spec is plain
    JSON-like data.
    """

    def construct_manifest(self, node: yaml.Node) -> Any:
        """What `construct_document` returns, in about half the time."""
        try:
            return self._construct(node)
        finally:
            self.constructed_objects = {}
            self.recursive_objects = {}

    def _construct(self, node: yaml.Node) -> Any:
        # Text, mappings with text keys and lists make up nearly all of a
        # manifest: build those directly instead of through the safe
        # constructor's generators. Anything else (numbers, booleans, merge
        # keys, non-text keys) takes the safe constructor's own path.
        # Recursion is safe: nesting was bounded before composing.
        kind = node.__class__
        if kind is yaml.ScalarNode and node.tag == _STR_TAG:
            return node.value
        if kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
            return [self._construct(item) for item in node.value]
        if kind is yaml.MappingNode and node.tag == _MAP_TAG:
            mapping = {}
            for key, value in node.value:
                if key.__class__ is not yaml.ScalarNode or key.tag != _STR_TAG:
                    return self.construct_object(node, deep=True)
                mapping[key.value] = self._construct(value)
            return mapping
        return self.construct_object(node, deep=True)


_ManifestLoader.add_constructor(  # type: ignore[type-var]  # the stubs miss CSafeLoader
    "tag:yaml.org,2002:timestamp", _ManifestLoader.construct_yaml_str)


def load_documents(data: bytes, path: str, *, max_bytes: int = MAX_BYTES,
                   max_aliases: int = MAX_ALIASES, max_depth: int = MAX_DEPTH
                   ) -> list[Document]:
    """Parse every non-empty YAML document in `data` (the file at `path`).

    Raises `ManifestError` for a file over `max_bytes`, invalid UTF-8,
    malformed YAML, tags beyond plain YAML, more than `max_aliases` aliases
    (or aliases expanding to more than 250,000 values) and nesting deeper
    than `max_depth`.
    """
    text = decode_text(data, path, max_bytes=max_bytes)
    if b"*" in data or _nesting_bound(data) > max_depth:
        _check_structure(text, path, max_aliases=max_aliases, max_depth=max_depth)
    return _construct_documents(text, path)


def decode_text(data: bytes, path: str, *, max_bytes: int = MAX_BYTES) -> str:
    """`data` as text; `ManifestError` if over `max_bytes` or not UTF-8."""
    if len(data) > max_bytes:
        raise ManifestError(path, f"file is {len(data):,} bytes, over the limit of "
                                  f"{max_bytes:,}; split it into smaller files")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise ManifestError(path, f"not valid UTF-8 at byte offset {err.start} (column "
                                  f"{column}, {data[err.start:err.start + 1]!r}); save the file "
                                  "as UTF-8", line=line) from None


def find_line(data: bytes | str, path_in_doc: Sequence[str | int], doc_index: int
              ) -> int | None:
    """The 1-based line of a field, e.g. ``["spec", "mode"]``, in document
    number `doc_index` of `data`, counted as in `load_documents`'s result
    (0-based, empty documents skipped).

    If the field itself is absent (a required field not written), the line of
    the closest enclosing field is given. None if the document is not there.
    Slower than loading: call it only to report an error, and only on data
    that `load_documents` accepted (its limits keep the composer safe).
    """
    loader = _ManifestLoader(data)
    try:
        seen = -1
        while loader.check_node():
            node = loader.get_node()
            if node is not None and not _is_empty(node):
                seen += 1
                if seen == doc_index:
                    return _line_of(node, path_in_doc)
        return None
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


def field_line(doc: Document, path_in_doc: Sequence[str | int]) -> int:
    """The line of a field of `doc` for an error message: found again in the
    text when `doc` kept it (a `ParsedDocument`), else the document's line."""
    if isinstance(doc, ParsedDocument):
        return find_line(doc.text, path_in_doc, doc.index) or doc.line
    return doc.line


def _is_empty(node: yaml.Node) -> bool:
    """A document that loads as None, which `load_documents` leaves out."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _line_of(node: yaml.Node, path_in_doc: Sequence[str | int]) -> int:
    line: int = node.start_mark.line + 1
    for part in path_in_doc:
        child = _child(node, part)
        if child is None:
            break
        line, node = child
    return line


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    """The line where `part` of `node` is written, and its value node."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key.start_mark.line + 1, value
    elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
          and 0 <= part < len(node.value)):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


# A line starting a new document: no collection stays open across it (YAML
# forbids such a line inside any content), so each document nests on its own.
_DOCUMENT_START = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def _nesting_bound(data: bytes) -> int:
    """An upper bound of how deep a file without aliases can nest: every
    collection has an indicator character of its own (block sequence ``-``,
    block mapping ``:`` or ``?``, flow ``[`` and ``{``), within its document."""
    return max(_indicators(document) for document in _DOCUMENT_START.split(data)) + 1


def _indicators(data: bytes) -> int:
    return (data.count(b"-") + data.count(b":") + data.count(b"?") + data.count(b"[")
            + data.count(b"{"))


def _construct_documents(text: str, path: str) -> list[Document]:
    # get_node + construct is what yaml.load_all does, but keeps the node,
    # whose mark gives each document's first line at no extra cost.
    documents: list[Document] = []
    loader = _ManifestLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            value = loader.construct_manifest(node)
            if value is not None:
                documents.append(ParsedDocument(value, path, node.start_mark.line + 1,
                                                text=text, index=len(documents)))
    except yaml.YAMLError as err:
        raise _yaml_problem(err, text, path) from None
    except RecursionError:
        raise ManifestError(path, "nesting is too deep to load") from None
    finally:
        loader.dispose()
    return documents


@dataclass(slots=True)
class _Open:
    """A collection whose end event has not come yet."""

    anchor: str | None
    nodes: int = 1
    height: int = 0


def _check_structure(text: str, path: str, *, max_aliases: int, max_depth: int) -> None:
    """Walk the event stream (which never recurses) and refuse alias bombs,
    aliases to themselves and nesting deeper than `max_depth`.

    For each node it adds up how many values it stands for once aliases are
    expanded, and how deep it is; an alias counts as its anchor's whole node.
    """
    extents: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height) once closed
    stack: list[_Open] = []
    aliases = 0
    try:
        for event in yaml.parse(text, Loader=_ManifestLoader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.DocumentStartEvent):
                extents.clear()
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append(_Open(event.anchor))
                if len(stack) > max_depth:
                    raise _too_deep(path, line, max_depth)
            elif isinstance(event, yaml.CollectionEndEvent):
                done = stack.pop()
                _close(stack, extents, done.anchor, done.nodes, done.height + 1)
            elif isinstance(event, yaml.ScalarEvent):
                _close(stack, extents, event.anchor, 1, 1)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > max_aliases:
                    raise ManifestError(path, f"more than {max_aliases} aliases (*name); "
                                              "write the values out instead", line=line)
                if any(frame.anchor == event.anchor for frame in stack):
                    raise ManifestError(path, f"alias *{event.anchor} refers to a value that "
                                              "contains it; specs must not loop", line=line)
                nodes, height = extents.get(str(event.anchor), (1, 1))
                if len(stack) + height > max_depth:
                    raise _too_deep(path, line, max_depth)
                _close(stack, extents, None, nodes, height)
            if stack and stack[-1].nodes > MAX_NODES:
                raise ManifestError(path, f"aliases expand to more than {MAX_NODES:,} values "
                                          "(an alias bomb?); write the values out instead",
                                    line=line)
    except yaml.YAMLError as err:
        raise _yaml_problem(err, text, path) from None


def _close(stack: list[_Open], extents: dict[str, tuple[int, int]], anchor: str | None,
           nodes: int, height: int) -> None:
    """Account a finished node (or an alias) to the collection holding it."""
    if anchor is not None:
        extents[anchor] = (nodes, height)
    if stack:
        parent = stack[-1]
        parent.nodes += nodes
        parent.height = max(parent.height, height)


def _too_deep(path: str, line: int | None, max_depth: int) -> ManifestError:
    return ManifestError(path, f"nested deeper than {max_depth} levels; flatten the data",
                         line=line)


def _yaml_problem(err: yaml.YAMLError, text: str, path: str) -> ManifestError:
    """A user-facing error for what libyaml or the safe constructor refused."""
    if isinstance(err, yaml.reader.ReaderError):
        return ManifestError(path, f"not valid YAML: character {chr(err.character)!r} is not "
                                   "allowed; remove it",
                             line=text.count("\n", 0, err.position) + 1)
    if not isinstance(err, yaml.MarkedYAMLError):
        return ManifestError(path, f"not valid YAML: {err}")
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = err.problem or "cannot be parsed"
    unknown_tag = _UNKNOWN_TAG.search(problem)
    if unknown_tag:
        tag = unknown_tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return ManifestError(path, f"tag {tag} is refused: tags like !!python/... are not "
                                   "allowed; write plain YAML values", line=line)
    if problem == "found unhashable key":
        return ManifestError(path, "a mapping key must be a plain value, not a list or "
                                   "mapping", line=line)
    message = f"not valid YAML: {problem}"
    context_mark = err.context_mark
    if err.context and context_mark is not None and context_mark.line + 1 != line:
        message += f" ({err.context} that starts on line {context_mark.line + 1})"
    return ManifestError(path, message, line=line)
