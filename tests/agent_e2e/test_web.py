"""The web UI of a real agent process, in Debian's chromium: log in, see drift,
press Sync and watch the target heal, roll back through Git from the browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.agent_e2e.conftest import AgentProcess, wait_for
from tests.e2e.conftest import SYSTEM, Env, file_manifest, git

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs pip install playwright")
expect = sync_api.expect
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_sync_and_rollback_from_the_browser(env: Env, agent: AgentProcess,
                                            browser: Browser) -> None:
    from gitward.server.admin import user_add

    first = env.commit({"gitward.yaml": SYSTEM + "    sync: {interval: 1h}\n",
                        "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "First")
    user_add(env.store, "ada", "admin", "*", "correct horse battery")
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/a"), what="first converge")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "v2\n")}, "Second")
    wait_for(lambda: env.read("/srv/a") == "v2\n", what="second converge")
    (env.target / "srv/a").write_text("edited by hand\n")

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(agent.url + "/apps/web")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="web", exact=True)).to_be_visible()
    expect(page.locator("pre.diff .l-del")).to_contain_text(["-edited by hand"])

    page.get_by_role("button", name="Sync").click()
    expect(page.locator(".flash-ok")).to_contain_text("Sync of web requested")
    wait_for(lambda: env.read("/srv/a") == "v2\n", what="sync from the browser")
    assert "api" in [r["trigger"] for r in env.history("web")]

    page.goto(agent.url + "/apps/web")
    page.get_by_role("link", name="Rollback…").click()
    page.get_by_label(re.compile("First")).check()
    page.get_by_role("button", name="Show what changes").click()
    expect(page.locator("pre.diff .l-add")).to_contain_text(["+v1"])
    page.get_by_label("Reason").fill("v2 is broken")
    page.get_by_role("button", name=re.compile("^Roll back to")).click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Rolled back web to {first[:7]}")
    wait_for(lambda: env.read("/srv/a") == "v1\n", what="rollback applied")
    message = git(env.origin, "log", "-1", "--format=%B", "main")
    assert "Roll back web" in message and "v2 is broken" in message
    audit = [e for e in agent.events("web") if e["kind"] == "audit"]
    assert any("ada" in e["message"] and "rollback" in e["message"] for e in audit)
