"""Which repository URLs are accepted, and how their credentials are hidden."""

from __future__ import annotations

import pytest

from gitward.sources.urls import parse_repo_url, redact_url_credentials


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:s3cret@git.example/ops.git", "https://user:***@git.example/ops.git"),
    ("https://user:p@ss@git.example/ops.git", "https://user:***@git.example/ops.git"),
    ("https://ghp_token123@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("ssh://git@git.example:2222/ops.git", "ssh://git@git.example:2222/ops.git"),
    ("git@github.com:o/r.git", "git@github.com:o/r.git"),
    ("file:///srv/git/ops.git", "file:///srv/git/ops.git"),
])
def test_accepted_urls_are_shown_without_secrets(url: str, shown: str) -> None:
    parsed = parse_repo_url(url)
    assert parsed.for_git == url
    assert parsed.display == shown


def test_git_output_is_scrubbed_of_raw_and_decoded_secrets() -> None:
    parsed = parse_repo_url("https://bot:to%2Fken99@git.example/ops.git")
    text = "fatal: auth failed for bot:to/ken99 at https://bot:to%2Fken99@git.example/ops.git"
    assert "ken99" not in parsed.redact(text)


def test_rotating_a_token_keeps_the_same_mirror() -> None:
    first = parse_repo_url("https://bot:old-token@git.example/ops.git")
    second = parse_repo_url("https://bot:new-token@git.example/ops.git")
    assert first.mirror_name == second.mirror_name
    assert first.mirror_name.startswith("ops-") and first.mirror_name.endswith(".git")
    assert parse_repo_url("https://git.example/other/ops.git").mirror_name != first.mirror_name


def test_redaction_leaves_plain_text_alone() -> None:
    assert redact_url_credentials("mail t@t about https://host/x") == \
        "mail t@t about https://host/x"
