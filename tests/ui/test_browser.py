"""The web UI in a real browser: Debian's chromium driven by Playwright.

Screenshots of the main pages go to ``tests/ui/artifacts/`` for a person to
look at. Skipped when chromium or Playwright is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ui.conftest import LiveServer
from tests.ui.fakes import PASSWORDS, REV1

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="needs the playwright package (pip install playwright)")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def log_in(page: Page, server: LiveServer, user: str) -> None:
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url + "/")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_admin_reads_syncs_and_rolls_back(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, server, "admin")

    # The overview: every app, its state, its revision with subject and author.
    rows = page.locator("table.apps tbody tr")
    expect(rows).to_have_count(4)
    web = page.locator("tr[data-app=web]")
    expect(web).to_contain_text("out of sync")
    expect(web).to_contain_text("Bump nginx workers")
    expect(web).to_contain_text("Linus Torvalds")
    expect(page.locator("tr[data-app=worker]")).to_contain_text("probe <b>failed</b>")
    page.get_by_label("Search").fill("edge")
    expect(page.locator("table.apps tbody tr:visible")).to_have_count(1)
    page.get_by_label("Search").fill("")
    shot(page, "overview")

    # The app page: the pending diff, coloured, the secret only as its fingerprint.
    page.get_by_role("link", name="web", exact=True).click()
    expect(page.get_by_role("heading", name="web", exact=True)).to_be_visible()
    expect(page.locator("pre.diff .l-add")).to_contain_text(
        ["+  gzip on;", "+  server { listen 8080; }"])
    expect(page.locator("pre.diff .l-del")).to_contain_text(["-  server { listen 80; }"])
    expect(page.locator("code.secret").first).to_have_text("<redacted:1a2b3c4d>")
    expect(page.locator("svg.depgraph")).to_be_visible()
    expect(page.locator("table.resources tbody tr").nth(3)).to_contain_text("web")
    shot(page, "app")

    # Sync: confirm, see the result and the new run in the history.
    runs_before = page.locator(".timeline li").count()
    page.get_by_role("button", name="Sync").click()
    expect(page.locator(".flash-ok")).to_contain_text("Sync of web requested")
    expect(page.locator(".timeline li")).to_have_count(runs_before + 1)
    expect(page.locator(".timeline li").first).to_contain_text("Tune web config <gzip>")
    expect(page.locator("#diff-h + p")).to_contain_text("Nothing to change")

    # The run page: the commit and the per-resource results.
    page.locator(".timeline li").first.get_by_role("link", name=re.compile("^Run ")).click()
    expect(page.locator("#commit")).to_contain_text("Grace Hopper")
    expect(page.locator("article.change")).to_have_count(4)
    shot(page, "run")

    # Roll back: choose a revision, read what changes, confirm, see the revert commit.
    page.go_back()
    page.get_by_role("link", name="Rollback…").click()
    page.get_by_label(re.compile("Add web app")).check()
    page.get_by_role("button", name="Show what changes").click()
    expect(page.locator("pre.diff .l-add")).to_contain_text(["+worker_processes 2;"])
    shot(page, "rollback")
    page.get_by_label("Reason").fill("workers overload the box")
    page.get_by_role("button", name=re.compile("^Roll back to")).click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Rolled back web to {REV1[:7]}")
    expect(page.locator(".timeline li").first).to_contain_text(
        f"Roll back web to {REV1[:7]}: workers overload the box")
    expect(page.locator(".timeline li").first).to_contain_text("rollback")
    context.close()


def test_viewer_sees_no_buttons_and_api_refuses(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, server, "viewer")
    page.goto(server.url + "/apps/web")
    expect(page.get_by_role("heading", name="web", exact=True)).to_be_visible()
    expect(page.locator("form[action^='/apps/'] button")).to_have_count(0)
    expect(page.get_by_role("link", name="Rollback…")).to_have_count(0)
    answer = page.request.post(server.url + "/api/v1/apps/web/sync", data={})
    assert answer.status == 403
    assert answer.json()["error"]["code"] in ("forbidden", "csrf")
    context.close()


def test_phone_width_dark_mode(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800},
                                  color_scheme="dark")
    page = context.new_page()
    log_in(page, server, "operator")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 22)"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the overview scrolls sideways at 375 px ({width} px wide)"
    shot(page, "overview-phone-dark")
    page.goto(server.url + "/apps/web")
    shot(page, "app-phone-dark")
    context.close()


def test_keyboard_reaches_the_content(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server, "admin")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    context.close()
