"""A property-based fuzz of the API from its own OpenAPI document: no input makes a 500."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.server import admin
from gitward.server.auth import hash_token

from .conftest import Served

MAX_EXAMPLES = 20


def test_no_request_the_openapi_allows_or_forbids_makes_a_server_error(served: Served) -> None:
    document = httpx.get(f"{served.url}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {served.tokens['admin']}"}
    revoked: list[str] = []

    def keep_a_working_token(token: str) -> None:
        """The fuzz may revoke its own token (DELETE /tokens/{id}): then it takes a new one."""
        found = served.store.token_by_hash(hash_token(token))
        if found is None or found["revoked_at"] is not None:
            fresh = admin.token_create(served.store_url, "fuzz", "admin", expires="1d")
            headers["Authorization"] = f"Bearer {fresh['token']}"
            revoked.append(token)

    checked = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events/stream"):  # never ends by itself
            continue
        cases = st.one_of(operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                          operation.as_strategy(schemathesis.GenerationMode.NEGATIVE))

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases)
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=served.url, headers=headers)
            calls.append(response.status_code)
            keep_a_working_token(headers["Authorization"].removeprefix("Bearer "))
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} answered {response.status_code}: "
                f"{response.text[:500]}")

        no_server_error()
        checked += 1
    assert checked >= 15
    assert len(calls) >= checked * 5  # the fuzz ran, and it reached the routes:
    assert {200, 201, 202, 404, 409, 422} <= set(calls)
    assert revoked  # it reached DELETE /tokens/{id} with a token it was using


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/apps/%00", 422), ("/api/v1/apps/" + "a" * 5000, 422),
    ("/api/v1/runs/99999999999999999999999", 422), ("/api/v1/events?since=-1", 422),
    ("/api/v1/apps?q=%ff%fe", 200),  # undecodable bytes are replaced, and match nothing
])
def test_hostile_paths_and_queries_answer_without_a_server_error(served: Served, path: str,
                                                                 status: int) -> None:
    with served.client("admin") as client:
        assert client.get(path).status_code == status
