"""The public API is explicit: these names are what other packages may use."""

from __future__ import annotations

import gitward.core
import gitward.testing


def test_core_public_api_is_pinned() -> None:
    assert sorted(gitward.core.__all__) == sorted([
        "Action", "Change", "DiffItem", "GitwardError", "Health", "Key", "Origin", "Outcome",
        "Plan", "RecordedResult", "Resource", "Result", "Run", "batches", "check_unique",
        "diff_specs", "order_resources", "plan_changes", "redact", "worst_health"])
    for name in gitward.core.__all__:
        assert getattr(gitward.core, name) is not None


def test_testing_exports_fakes_and_the_provider_contract() -> None:
    assert {"FakeSnapshot", "ProviderContract", "ContractSample"} <= set(gitward.testing.__all__)
