"""Marked values: found by line, edited in place, nothing else in the file touched."""

from __future__ import annotations

import difflib

import pytest
import yaml

from gitward.updates.errors import MarkerError
from gitward.updates.markers import apply_edits, markers_in_text, markers_in_yaml

MANIFEST = """\
# Web front end. Keep the tag current through the updater.
apiVersion: gitward/v1
kind: File
metadata:
  name: web-compose
  annotations: {gitward/wave: "1"}   # flow mapping, quoted value
spec:
  path: /srv/web/compose.yaml
  mode: '0644'
  defaults: &defaults
    restart: unless-stopped
    logging: {driver: journald}
  services:
    web:
      <<: *defaults
      image: registry.local/web:1.4.2  # gitward:update web-image
      ports:
        - "8080:80"
      environment:
        GREETING: >-
          hello
          world
    worker:
      image: registry.local/worker:1.4.2   # not marked: stays
      command: [run, --queue, "default"]
"""


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_bump_changes_exactly_the_marked_line() -> None:
    (marker,) = markers_in_yaml(MANIFEST, "apps/web/compose.yaml", {"web-image"})
    assert (marker.line, marker.value, marker.part) == (16, "registry.local/web:1.4.2", "value")
    edited = apply_edits(MANIFEST, "apps/web/compose.yaml",
                         [(marker, "registry.local/web:1.5.0")])
    assert _changed_lines(MANIFEST, edited) == [
        "-      image: registry.local/web:1.4.2  # gitward:update web-image",
        "+      image: registry.local/web:1.5.0  # gitward:update web-image",
    ]


def test_pyyaml_would_rewrite_most_of_the_file() -> None:
    # Why edits are made in place: a load/dump round trip loses comments,
    # quoting, flow style and anchors, and the diff hides the one real change.
    data = yaml.safe_load(MANIFEST)
    data["spec"]["services"]["web"]["image"] = "registry.local/web:1.5.0"
    assert len(_changed_lines(MANIFEST, yaml.safe_dump(data, sort_keys=False))) > 20


def test_quotes_anchors_and_tags_are_kept() -> None:
    text = ('base: &v "1.4.2"  # gitward:update p\n'
            "single: '1.4'  # gitward:update p\n"
            "tagged: !!str 1.4  # gitward:update p\n"
            "copy: *v\n")
    markers = markers_in_yaml(text, "v.yaml", {"p"})
    edited = apply_edits(text, "v.yaml", [(m, "1.10") for m in markers])
    assert edited == ('base: &v "1.10"  # gitward:update p\n'
                      "single: '1.10'  # gitward:update p\n"
                      'tagged: !!str "1.10"  # gitward:update p\n'
                      "copy: *v\n")


def test_a_plain_value_that_would_read_as_a_number_is_quoted() -> None:
    text = "version: 1.4.2  # gitward:update p\nflag: x  # gitward:update q\n"
    first, second = markers_in_yaml(text, "v.yaml", {"p", "q"})
    edited = apply_edits(text, "v.yaml", [(first, "1.10"), (second, "yes")])
    assert yaml.safe_load(edited) == {"version": "1.10", "flag": "yes"}
    assert edited.splitlines()[0] == 'version: "1.10"  # gitward:update p'


def test_tag_suffix_and_list_items() -> None:
    text = ("images:\n"
            "  - registry.local:5000/web:1.4.2  # gitward:update web:tag\n"
            "  - name: api\n"
            "    image: api:2.0  # gitward:update api:tag\n")
    web, api = markers_in_yaml(text, "i.yaml", {"web", "api"})
    assert (web.line, web.part, api.line, api.value) == (2, "tag", 4, "api:2.0")


@pytest.mark.parametrize(("text", "message"), [
    ("image: web:1.4.2  # gitward:update nope\n", "policy 'nope', which is not declared"),
    ("image:  # gitward:update p\n  name: web\n", "not a one-line scalar"),
    ("ports: [80, 443]  # gitward:update p\n", "not a one-line scalar"),
    ("text: |  # gitward:update p\n  1.4.2\n", "not a one-line scalar"),
    ("# gitward:update p\nimage: web:1\n", "line without a value"),
    ("image: web:1  # gitward:update p:digest\n", "suffix :digest is not known"),
])
def test_bad_markers_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(MarkerError, match=message) as caught:
        markers_in_yaml(text, "apps/web/a.yaml", {"p"})
    assert str(caught.value).startswith("apps/web/a.yaml:1: ")


def test_marker_text_inside_a_string_is_not_a_marker() -> None:
    assert markers_in_yaml('note: "see # gitward:update p"\n', "n.yaml", {"p"}) == []


def test_text_files_take_the_last_word_before_the_comment() -> None:
    text = ("FROM registry.local/web:1.4.2  # gitward:update web:tag\n"
            "web-tool==1.0.0 # gitward:update tool\n"
            'const VERSION = "1.0.0"; // gitward:update tool\n')
    markers = markers_in_text(text, "Dockerfile", {"web", "tool"})
    assert [m.value for m in markers] == ["registry.local/web:1.4.2", "1.0.0", "1.0.0"]
    edited = apply_edits(text, "Dockerfile", [(markers[0], "registry.local/web:1.5.0"),
                                              (markers[1], "1.2.0"), (markers[2], "1.2.0")])
    assert edited == ("FROM registry.local/web:1.5.0  # gitward:update web:tag\n"
                      "web-tool==1.2.0 # gitward:update tool\n"
                      'const VERSION = "1.2.0"; // gitward:update tool\n')
