"""Webhook deliveries: signatures checked, payloads read, repositories matched, retries merged."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gitward.agent.webhooks import (
    Delivery,
    DeliveryLog,
    WebhookError,
    repository_matches,
    verify_and_parse,
)

from .fakes import SECRET, payload, signed_headers

# provider, payload fixture, extra headers, expected delivery, a managed URL it must match
PUSHES = [
    ("github", "github_push", {},
     Delivery("github", "push", "delivery-1", (
         "https://github.com/acme/ops.git", "git@github.com:acme/ops.git",
         "git://github.com/acme/ops.git", "https://github.com/acme/ops", "acme/ops"),
         "refs/heads/main", True),
     "ssh://git@github.com/acme/ops"),
    ("gitlab", "gitlab_push", {},
     Delivery("gitlab", "Push Hook", "delivery-1", (
         "https://gitlab.example.com/acme/ops.git", "git@gitlab.example.com:acme/ops.git",
         "https://gitlab.example.com/acme/ops", "acme/ops"),
         "refs/heads/main", True),
     "https://deploy:glpat-xyz@gitlab.example.com/acme/ops.git"),
    ("gitea", "gitea_push", {},
     Delivery("gitea", "push", "delivery-1", (
         "https://forgejo.example.com/acme/ops.git",
         "ssh://git@forgejo.example.com:2222/acme/ops.git",
         "https://forgejo.example.com/acme/ops", "acme/ops"),
         "refs/heads/main", True),
     "git@forgejo.example.com:acme/ops.git"),
    ("bitbucket", "bitbucket_cloud_push", {"X-Hook-UUID": "hook-7"},
     Delivery("bitbucket", "repo:push", "hook-7:delivery-1", (
         "https://bitbucket.org/acme/ops", "acme/ops"),
         "refs/heads/main", True),
     "git@bitbucket.org:acme/ops.git"),
    ("bitbucket", "bitbucket_server_push", {"X-Event-Key": "repo:refs_changed"},
     Delivery("bitbucket", "repo:refs_changed", "delivery-1", (
         "ssh://git@bitbucket.example.com:7999/acme/ops.git",
         "https://bitbucket.example.com/scm/acme/ops.git",
         "https://bitbucket.example.com/projects/ACME/repos/ops/browse", "ACME/ops"),
         "refs/heads/main", True),
     "https://bitbucket.example.com/scm/acme/ops.git"),
    ("generic", "generic_push", {},
     Delivery("generic", "push", "delivery-1", ("https://git.example.com/acme/ops.git",),
              "refs/heads/main", True),
     "git@git.example.com:acme/ops"),
]


@pytest.mark.parametrize(("provider", "fixture", "extra", "expected", "managed"), PUSHES,
                         ids=[case[1] for case in PUSHES])
def test_a_signed_push_is_read_into_a_delivery(provider: str, fixture: str,
                                               extra: dict[str, str], expected: Delivery,
                                               managed: str) -> None:
    body = payload(fixture)
    headers = signed_headers(provider, body) | extra

    delivery = verify_and_parse(provider, headers, body, SECRET)

    assert delivery == expected
    assert repository_matches(delivery.repositories, managed)
    assert not repository_matches(delivery.repositories, "https://github.com/acme/other.git")


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "bitbucket", "generic"])
def test_a_wrong_secret_is_refused_without_echoing_either_secret(provider: str) -> None:
    body = payload("generic_push")
    headers = signed_headers(provider, body, secret="attacker-guess")

    with pytest.raises(WebhookError) as refused:
        verify_and_parse(provider, headers, body, SECRET)

    assert refused.value.status == 401
    assert SECRET not in str(refused.value) and "attacker-guess" not in str(refused.value)


SIGNATURE_HEADERS = {
    "github": ["X-Hub-Signature-256"], "gitlab": ["X-Gitlab-Token"],
    "gitea": ["X-Gitea-Signature", "X-Forgejo-Signature"], "bitbucket": ["X-Hub-Signature"],
    "generic": ["X-Gitward-Signature"],
}


@pytest.mark.parametrize("provider", sorted(SIGNATURE_HEADERS))
def test_a_missing_signature_is_refused(provider: str) -> None:
    body = payload("generic_push")
    headers = signed_headers(provider, body)
    for name in SIGNATURE_HEADERS[provider]:
        del headers[name]

    with pytest.raises(WebhookError, match="missing") as refused:
        verify_and_parse(provider, headers, body, SECRET)
    assert refused.value.status == 401


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_configured_secret_every_delivery_is_refused(secret: str | None) -> None:
    body = payload("github_push")

    with pytest.raises(WebhookError, match="webhook secret not configured") as refused:
        verify_and_parse("github", signed_headers("github", body, secret="x"), body, secret)
    assert refused.value.status == 401


def test_a_body_changed_after_signing_is_refused() -> None:
    body = payload("github_push")
    headers = signed_headers("github", body)

    with pytest.raises(WebhookError, match="does not match the body"):
        verify_and_parse("github", headers, body.replace(b"acme/ops", b"evil/ops"), SECRET)


def test_a_signature_without_its_sha256_prefix_is_refused() -> None:
    body = payload("github_push")
    headers = signed_headers("github", body)
    headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].removeprefix("sha256=")

    with pytest.raises(WebhookError, match="sha256=") as refused:
        verify_and_parse("github", headers, body, SECRET)
    assert refused.value.status == 401


def test_a_non_ascii_signature_is_refused_not_crashed_on() -> None:
    body = payload("github_push")
    headers = signed_headers("github", body) | {"X-Hub-Signature-256": "sha256=\u00e9\u00e9"}

    with pytest.raises(WebhookError) as refused:
        verify_and_parse("github", headers, body, SECRET)
    assert refused.value.status == 401


def test_header_names_are_case_insensitive() -> None:
    body = payload("github_push")
    headers = {name.lower(): value for name, value in signed_headers("github", body).items()}

    assert verify_and_parse("github", headers, body, SECRET).delivery_id == "delivery-1"


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'["a", "list"]', "must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),  # deep enough to hit the recursion limit
])
def test_a_malformed_body_is_a_bad_request(body: bytes, message: str) -> None:
    with pytest.raises(WebhookError, match=message) as refused:
        verify_and_parse("github", signed_headers("github", body), body, SECRET)
    assert refused.value.status == 400


def test_a_generic_body_must_name_the_repository() -> None:
    body = b'{"ref": "refs/heads/main"}'

    with pytest.raises(WebhookError, match='"repository"') as refused:
        verify_and_parse("generic", signed_headers("generic", body), body, SECRET)
    assert refused.value.status == 400


def test_an_unknown_provider_is_not_found() -> None:
    with pytest.raises(WebhookError, match="unknown webhook provider 'svn'") as refused:
        verify_and_parse("svn", {}, b"{}", SECRET)
    assert refused.value.status == 404


@pytest.mark.parametrize(("provider", "event"), [
    ("github", "ping"), ("github", "pull_request"), ("gitlab", "Merge Request Hook"),
    ("gitea", "create"), ("bitbucket", "pullrequest:created"),
])
def test_events_other_than_pushes_are_read_as_not_pushes(provider: str, event: str) -> None:
    body = payload("github_push")

    delivery = verify_and_parse(provider, signed_headers(provider, body, event=event), body,
                                SECRET)

    assert delivery.event == event and not delivery.is_push


def test_gitlab_tag_pushes_and_system_hook_pushes_are_pushes() -> None:
    body = payload("gitlab_push")
    tag = verify_and_parse("gitlab", signed_headers("gitlab", body, event="Tag Push Hook"),
                           body, SECRET)
    system = verify_and_parse("gitlab", signed_headers("gitlab", body, event="System Hook"),
                              body, SECRET)
    assert tag.is_push and system.is_push


def test_gitlab_prefers_the_idempotency_key_that_survives_retries() -> None:
    body = payload("gitlab_push")
    headers = signed_headers("gitlab", body) | {"Idempotency-Key": "retry-stable"}

    assert verify_and_parse("gitlab", headers, body, SECRET).delivery_id == "retry-stable"


def test_github_form_encoded_deliveries_are_read() -> None:
    from urllib.parse import quote

    body = b"payload=" + quote(payload("github_push").decode()).encode()
    headers = signed_headers("github", body) | {
        "Content-Type": "application/x-www-form-urlencoded"}

    assert verify_and_parse("github", headers, body, SECRET).ref == "refs/heads/main"


def test_odd_field_types_in_a_payload_are_skipped_not_crashed_on() -> None:
    body = json.dumps({"ref": 7, "repository": {"clone_url": ["x"], "full_name": "acme/ops",
                                                "links": "nope"}}).encode()

    delivery = verify_and_parse("github", signed_headers("github", body), body, SECRET)

    assert delivery.ref is None and delivery.repositories == ("acme/ops",)


@pytest.mark.parametrize(("candidate", "managed", "expected"), [
    ("https://github.com/acme/ops.git", "git@github.com:acme/ops.git", True),
    ("git@github.com:acme/ops.git", "ssh://git@github.com/acme/ops", True),
    ("ssh://git@GitHub.com:22/acme/ops.git/", "https://user:token@GITHUB.COM/acme/ops/", True),
    ("https://github.com/Acme/Ops", "https://github.com/acme/ops.git", True),
    ("acme/ops", "https://github.com/acme/ops.git", True),
    ("acme/ops", "git@gitlab.example.com:group/acme/ops.git", True),
    ("https://github.com/acme/ops.git", "acme/ops", True),
    ("https://github.com/acme/ops.git", "https://gitlab.com/acme/ops.git", False),
    ("https://github.com/acme/ops.git", "https://github.com/acme/ops-staging.git", False),
    ("cme/ops", "https://github.com/acme/ops.git", False),
    ("acme/ops", "https://github.com/other-acme/ops.git", False),
    ("", "https://github.com/acme/ops.git", False),
])
def test_repository_urls_match_across_their_spellings(candidate: str, managed: str,
                                                      expected: bool) -> None:
    assert repository_matches([candidate], managed) is expected


def test_local_paths_and_file_urls_match_by_absolute_path(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "ops.git"
    monkeypatch.chdir(tmp_path)

    assert repository_matches([f"file://{repo}"], str(repo))
    assert repository_matches(["./ops.git/"], f"file://{repo}")
    assert not repository_matches([f"file://{tmp_path / 'other.git'}"], str(repo))
    assert not repository_matches(["ops.git"], f"https://example.com{repo}")


def test_a_repeated_delivery_id_is_seen_once() -> None:
    log = DeliveryLog()

    assert [log.first_time(i) for i in ("a", "b", "a", None, None)] == [
        True, True, False, True, True]


def test_the_delivery_log_forgets_the_oldest_ids_beyond_its_capacity() -> None:
    log = DeliveryLog(capacity=2)
    for delivery_id in ("a", "b", "c"):
        log.first_time(delivery_id)

    assert log.first_time("a")  # evicted, so new again
    assert not log.first_time("c")


def test_concurrent_redeliveries_are_acted_on_exactly_once() -> None:
    log = DeliveryLog()
    firsts: list[bool] = []
    start = threading.Barrier(16)

    def deliver() -> None:
        start.wait()
        firsts.append(log.first_time("same-id"))

    threads = [threading.Thread(target=deliver) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert firsts.count(True) == 1
