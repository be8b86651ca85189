"""Safe YAML loading: every bad input is refused with the file and line."""

from __future__ import annotations

import pytest
import yaml

from gitward.core.errors import ManifestError
from gitward.renderers.yaml_load import find_line, load_documents

BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_documents_keep_their_first_line_and_empty_ones_are_skipped() -> None:
    data = b"# header\na: 1\n---\n---\n# nothing\n---\nb:\n  c: 2\n"
    docs = load_documents(data, "apps/web/x.yaml")
    assert [(d.data, d.path, d.line) for d in docs] == [
        ({"a": 1}, "apps/web/x.yaml", 2), ({"b": {"c": 2}}, "apps/web/x.yaml", 7)]


def test_dates_stay_text_and_aliases_within_limits_load() -> None:
    docs = load_documents(b"when: 2024-01-31\nbase: &b {x: 1}\ncopy: *b\n", "x.yaml")
    assert docs[0].data == {"when": "2024-01-31", "base": {"x": 1}, "copy": {"x": 1}}


def test_values_load_exactly_as_the_safe_loader_reads_them() -> None:
    data = (b"text: hello\nquoted: '1'\nnumber: 1\nhex: 0x1f\nfloat: 1.5\nyes: yes\nnull: ~\n"
            b"empty:\nbase: &b {a: 1, b: [x, 2]}\nmerged: {<<: *b, c: 3}\n1: int key\n"
            b"nested: [[a, {b: c}], []]\nblock: |\n  line\n")
    [doc] = load_documents(data, "x.yaml")
    assert doc.data == yaml.safe_load(data)


def test_malformed_yaml_names_file_and_line() -> None:
    with pytest.raises(ManifestError, match=r"^apps/a\.yaml:3: not valid YAML: .*expected"):
        load_documents(b"a: 1\nb: [1, 2\nc: 3\n", "apps/a.yaml")


def test_python_object_tag_is_refused() -> None:
    data = b"spec:\n  cmd: !!python/object/apply:os.system ['rm -rf /']\n"
    with pytest.raises(ManifestError, match=r"^x\.yaml:2: tag !!python/object/apply:os.system "
                                            r"is refused: tags like !!python/\.\.\. are not "):
        load_documents(data, "x.yaml")


def test_custom_tags_are_refused_too() -> None:
    with pytest.raises(ManifestError, match=r"x\.yaml:1: tag !vault is refused"):
        load_documents(b"password: !vault abc\n", "x.yaml")


def test_billion_laughs_is_refused_before_expanding() -> None:
    with pytest.raises(ManifestError, match=r"^bomb\.yaml:\d+: aliases expand to more than"):
        load_documents(BILLION_LAUGHS, "bomb.yaml")


def test_too_many_aliases_are_refused() -> None:
    data = b"a: &a 1\nlist:\n" + b"  - *a\n" * 101
    with pytest.raises(ManifestError, match=r"^x\.yaml:103: more than 100 aliases"):
        load_documents(data, "x.yaml")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(ManifestError, match=r"x\.yaml:1: alias \*a refers to a value that "
                                            r"contains it"):
        load_documents(b"a: &a [1, *a]\n", "x.yaml")


def test_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(ManifestError, match=r"^big\.yaml: file is 2,000 bytes, over the limit "
                                            r"of 1,000"):
        load_documents(b"#" * 2000, "big.yaml", max_bytes=1000)


def test_deep_nesting_is_refused_without_crashing_the_parser() -> None:
    # A million brackets would overflow the C stack of the node composer.
    data = b"[" * 500_000 + b"]" * 500_000
    with pytest.raises(ManifestError, match=r"^deep\.yaml:1: nested deeper than 64 levels"):
        load_documents(data, "deep.yaml")


def test_block_nesting_counts_too() -> None:
    data = "".join(f"{'  ' * level}k{level}:\n" for level in range(70)).encode() + b"  " * 70 + b"x"
    with pytest.raises(ManifestError, match=r"^deep\.yaml:65: nested deeper than 64"):
        load_documents(data, "deep.yaml")


def test_deep_nesting_after_many_shallow_documents_is_refused() -> None:
    # Each document is bounded on its own; the deep one must still be found.
    shallow = b"a: 1\n---\n" * 100
    deep = "".join(f"{'  ' * level}k{level}:\n" for level in range(70)).encode() + b"  " * 70
    with pytest.raises(ManifestError, match=r"^deep\.yaml:265: nested deeper than 64"):
        load_documents(shallow + deep + b"x\n---\nb: 2\n", "deep.yaml")


def test_invalid_utf8_names_line_and_byte() -> None:
    with pytest.raises(ManifestError, match=r"^x\.yaml:2: not valid UTF-8 at byte offset 8 "
                                            r"\(column 4, b'\\xff'\)"):
        load_documents(b"a: 1\nb: \xff\n", "x.yaml")


def test_control_characters_are_refused_with_line() -> None:
    with pytest.raises(ManifestError, match=r"^x\.yaml:2: not valid YAML: character '\\x07'"):
        load_documents(b"a: 1\nb: \x07\n", "x.yaml")


def test_find_line_locates_nested_fields_in_the_right_document() -> None:
    data = b"a: 1\n---\n---\nspec:\n  users:\n    - name: x\n    - name: y\n      id: 3\n"
    assert find_line(data, ["spec", "users", 1, "id"], 1) == 8
    assert find_line(data, ["spec", "users", 1, "missing"], 1) == 7  # closest enclosing
    assert find_line(data, ["a"], 0) == 1
    assert find_line(data, ["a"], 2) is None
