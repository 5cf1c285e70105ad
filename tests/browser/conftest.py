"""The console's browser tests: Debian's chromium driven by Playwright for Python against the
real server (started by tests/sdk/conftest.py's launcher). Set up by scripts/browser-setup.sh.

Environment (besides tests/sdk/conftest.py's): PLUGBOARD_CHROMIUM (default /usr/bin/chromium).
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SDK = REPO / "tests" / "sdk"
sys.path.insert(0, str(SDK))

_spec = importlib.util.spec_from_file_location("sdk_conftest", SDK / "conftest.py")
sdk_conftest = importlib.util.module_from_spec(_spec)
sys.modules["sdk_conftest"] = sdk_conftest
_spec.loader.exec_module(sdk_conftest)
plugboard_launcher = sdk_conftest.plugboard_launcher  # noqa: F401  (a fixture)

from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("PLUGBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
# Every section's screenshot goes to target/console-screenshots/ (so a test run leaves the
# tracked files alone); PLUGBOARD_SCREENSHOTS=docs/console refreshes the ones docs/console.md shows.
SCREENSHOTS = REPO / os.environ.get("PLUGBOARD_SCREENSHOTS", "target/console-screenshots")


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run scripts/browser-setup.sh", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Session:
    """A browser context on one server, with every request it made."""

    def __init__(self, browser, server, **kw):
        self.server = server
        self.requests = []
        self.context = browser.new_context(base_url=server.base_url, **kw)
        self.context.set_default_timeout(30_000)
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()

    def foreign_requests(self):
        """Requests to anything but the server on 127.0.0.1."""
        return [u for u in self.requests if not u.startswith(self.server.base_url + "/")
                and not u.startswith("data:") and not u.startswith("about:")]

    def close(self):
        self.context.close()


@pytest.fixture
def new_session(browser):
    """Factory: new_session(server, **context options) → Session; closed at the end, and
    checked to have made no request that leaves 127.0.0.1."""
    made = []

    def _new(server, **kw):
        s = Session(browser, server, **kw)
        made.append(s)
        return s

    yield _new
    for s in made:
        assert s.foreign_requests() == [], f"requests left the server: {s.foreign_requests()}"
        s.close()
