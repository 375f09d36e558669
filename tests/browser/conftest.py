"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test in this folder gets the ``browser`` marker. One Chromium is launched per session;
each test gets a fresh phone-sized context (``page``). A test fails if the page tried to
load anything from a host other than the live server (nothing may come from a CDN), and a
screenshot of a failing test is saved to ``var/screenshots/<test name>.png``.

Playwright's sync API keeps an asyncio loop running in the test thread from the moment it
starts, which would make Django refuse ORM calls and ``async_to_sync`` misbehave in every
test that runs afterwards; so browser tests are moved to the end of the run, and
``DJANGO_ALLOW_ASYNC_UNSAFE`` is set just before Playwright starts.
"""

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect, sync_playwright

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# A phone (iPhone 12–15 CSS size): the pages are mobile first, so the tests see that layout.
PHONE_VIEWPORT = {"width": 390, "height": 844}
DEFAULT_TIMEOUT_MS = 10_000
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Schemes that never reach the network.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome-error"})

HERE = Path(__file__).resolve().parent
SCREENSHOT_DIR = HERE.parent.parent / "var" / "screenshots"


def _in_this_folder(item: pytest.Item) -> bool:
    return Path(item.path).resolve().is_relative_to(HERE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_items = [item for item in items if _in_this_folder(item)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    # Run last, so the running Playwright loop and DJANGO_ALLOW_ASYNC_UNSAFE touch no other test.
    if browser_items:
        ids = {id(item) for item in browser_items}
        items[:] = [item for item in items if id(item) not in ids] + browser_items


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # A browser test that tried to load from a non-local host fails. A failing browser test
    # saves a screenshot while its page is still open, and its report lists what the page
    # logged (blocked requests, failed requests, console errors).
    report = yield
    if report.when != "call" or not _in_this_folder(item):
        return report
    funcargs = getattr(item, "funcargs", {})
    page, log = funcargs.get("page"), funcargs.get("page_log")
    if page is None:
        return report
    if report.passed and log is not None and log.external_requests:
        report.outcome = "failed"
        report.longrepr = (
            "The page tried to load from non-local hosts (nothing may come from a CDN):\n  "
            + "\n  ".join(log.external_requests)
        )
    if report.failed:
        try:
            path = save_screenshot(page, item.name)
            report.sections.append(("browser screenshot", str(path)))
        except Exception as exc:  # a crashed page must not hide the real failure
            report.sections.append(("browser screenshot", f"could not be taken: {exc}"))
        if log is not None and log.summary():
            report.sections.append(("browser log", log.summary()))
    return report


def screenshot_path(name: str) -> Path:
    """Where the screenshot named ``name`` goes: var/screenshots/<name>.png (var/ is gitignored)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    return SCREENSHOT_DIR / f"{safe}.png"


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` to var/screenshots/<name>.png and return its path."""
    path = screenshot_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class PageLog:
    """What a page did that a test may want to assert on or see in a failure message."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for title, entries in (
            ("Requests to non-local hosts (blocked)", self.external_requests),
            ("Failed requests", self.failed_requests),
            ("Console errors", self.console_errors),
            ("Uncaught page errors", self.page_errors),
        ):
            if entries:
                lines.append(f"{title}:")
                lines.extend(f"  {entry}" for entry in entries)
        return "\n".join(lines)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    if not os.path.exists(CHROMIUM_PATH):
        message = (
            f"Browser tests need Chromium at {CHROMIUM_PATH}: install Debian's chromium; "
            "make test does this with apt (`apt-get install chromium`)."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} CI must run the browser tests, not skip them.", pytrace=False)
        pytest.skip(message)

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``screenshot(page, "step")`` saves var/screenshots/<test name>[-step].png and returns the path."""

    def take(page: Page, step: str = "", *, full_page: bool = True) -> Path:
        name = f"{request.node.name}-{step}" if step else request.node.name
        return save_screenshot(page, name, full_page=full_page)

    return take


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page_factory(chromium_browser: Browser, live_server, page_log: PageLog) -> Iterator[Callable[..., Page]]:
    """``page_factory(**context_options)``: a fresh phone-sized page in its own context (another
    time zone, say: ``timezone_id="America/Los_Angeles"``), guarded and logged like ``page``."""
    contexts = []

    def make(**options) -> Page:
        settings = {
            "viewport": PHONE_VIEWPORT,
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
            "locale": "en-US",
            "service_workers": "block",
            **options,
        }
        context = chromium_browser.new_context(**settings)
        contexts.append(context)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)

        def guard(route: Route, req: Request) -> None:
            if is_local_url(req.url):
                route.continue_()
            else:
                page_log.external_requests.append(f"{req.resource_type} {req.url}")
                route.abort("blockedbyclient")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                page_log.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

        def on_request_failed(req: Request) -> None:
            # A request the browser itself abandoned (the page navigated on, or a download took
            # over) is not a failure of ours; anything else on our origin is.
            if is_local_url(req.url) and req.failure != "net::ERR_ABORTED":
                page_log.failed_requests.append(f"{req.resource_type} {req.url}: {req.failure}")

        context.route("**/*", guard)
        new_page = context.new_page()
        new_page.on("console", on_console)
        new_page.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
        new_page.on("requestfailed", on_request_failed)
        return new_page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(page_factory: Callable[..., Page]) -> Page:
    """A fresh phone-sized page, in its own context.

    Requests to hosts other than 127.0.0.1/localhost are blocked and recorded in ``page_log``;
    the test then fails (see ``pytest_runtest_makereport``).
    """
    return page_factory()
