"""What a store gives back has the types it was given, on every store.

SQLite keeps a flag as 0 or 1; an API client reading a run, an app or a user
must still see ``true`` or ``false``.
"""

from __future__ import annotations

import json
from typing import cast

from gitward.core.model import Health, Result
from gitward.core.seams import AuthStore, Store

from .builders import applied, create, plan_of, resource


def test_flags_come_back_as_bools(store: Store) -> None:
    a, b = resource("a"), resource("b")
    plan = plan_of(create(a), create(b))
    run = store.begin("web", plan.revision, plan, dry_run=True)
    store.result(run, applied(plan.changes[0]))
    store.result(run, Result(plan.changes[1], ok=False, error="a failed", skipped=True))
    store.finish(run, "partial", Health.degraded)
    accounts = cast(AuthStore, store)
    accounts.set_suspended("web", True)
    accounts.add_user("ada", "scrypt$hash", "viewer")

    recorded = store.run(run)
    assert recorded is not None
    user = accounts.user("ada")
    assert user is not None
    seen = {"dry_run": [recorded.dry_run, store.history("web")[0].dry_run],
            "ok, skipped": [[r.ok, r.skipped] for r in recorded.results],
            "suspended": [store.app_state("web").suspended, store.apps()[0].suspended],
            "disabled": [user["disabled"], accounts.users()[0]["disabled"]]}
    assert json.dumps(seen) == json.dumps({"dry_run": [True, True],
                                           "ok, skipped": [[True, False], [False, True]],
                                           "suspended": [True, True],
                                           "disabled": [False, False]})
