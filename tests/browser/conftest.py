"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)
against pytest-django's live server on 127.0.0.1. Skipped cleanly when Chromium or
Playwright is absent; a failing test leaves a screenshot in ``tests/browser/screenshots/``
(git-ignored)."""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# The live server on the loopback address the assertions below check.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

SCREENSHOTS = Path(__file__).parent / "screenshots"
STATIC_PREFIX = "/static/"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{item.name}.png"), full_page=True)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium through Playwright, for one test module.

    Playwright's sync API runs an event loop in the test's thread; the test's own ORM calls
    (setting up data) are still synchronous, which Django's guard cannot tell. So sync ORM
    calls are allowed for the module's duration only: left set, the variable would leak
    into the ``check --deploy`` subprocesses other tests run (async.E001)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    """A fresh page; every request it makes is recorded, and any that would leave
    127.0.0.1 is aborted (and fails the test at the end).

    Routing requests turns Chromium's HTTP cache off (Playwright's rule), so each admin
    page would fetch its ~30 static files again from the one live-server process: the
    walk spent most of its time there. The guard keeps each static file it fetched (from
    127.0.0.1, once) and answers later requests for it from memory."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.outside = []
    page.fetched = []
    static: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def guard(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            page.outside.append(url)
            route.abort()
            return
        if route.request.method == "GET" and parts.path.startswith(STATIC_PREFIX):
            if url not in static:
                response = route.fetch()
                static[url] = (response.status, response.headers, response.body())
            status, headers, body = static[url]
            route.fulfill(status=status, headers=headers, body=body)
            return
        page.fetched.append(url)
        route.continue_()

    page.route("**/*", guard)
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert page.outside == [], f"requests left 127.0.0.1: {page.outside}"
