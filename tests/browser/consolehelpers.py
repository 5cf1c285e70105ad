"""What the console's browser tests share: signing in through the form, marking a document to tell
an in-place update from a reload, axe-core, screenshots."""

import re

from playwright.sync_api import expect

from conftest import AXE, SCREENSHOTS


def sign_in(page, account, user, password):
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.get_by_label("Account").fill(account)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_admin(page, pb):
    b = pb.bootstrap
    sign_in(page, b["domain_name"], b["user_name"], b["password"])
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()


def mark(page):
    """Mark the document: a reload or navigation loses the mark."""
    page.evaluate("window.__plugboardMark = 'still here'")


def still_marked(page):
    return page.evaluate("window.__plugboardMark") == "still here"


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
