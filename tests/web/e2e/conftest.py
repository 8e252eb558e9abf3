"""Fixtures of the browser tests (tools and marks in tests/web/e2e/browser.py).

* ``browser``: Debian's Chromium (``shutil.which("chromium")``) through Playwright, one
  for the whole package. Missing: the tests fail with REQUIRE_SERVICES=1 (CI), else skip.
* ``new_context(size="desktop")``: a browser context (cookies of its own: one person)
  on the app served by ``live_server`` on 127.0.0.1, with a real Celery worker running;
  its pages' console errors fail the test (``browser_log``).
* ``phone`` (390x844, mobile, touch) and ``desktop`` (1280x900): one context each.
* ``page``: a page of a fresh context, the test run once at each size (``size``).
* ``browser_log``: what this test's pages said (``.allow(pattern)`` for an expected error).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.services import REQUIRED
from tests.web.e2e.browser import CHROMIUM_ARGS, LOCALE, SIZES, BrowserLog

LOG = pytest.StashKey[BrowserLog]()
#: Playwright's calls wait this long at most (ms): generous for a busy machine.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        message = "Chromium not found: install Debian's chromium (apt-get install chromium)"
        if REQUIRED:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    # Playwright's sync API marks its event loop as running in this thread between its
    # calls; Django then takes the test's own database work for async code and refuses
    # it. Allowed while the browser runs (this package's tests), never beyond.
    with pytest.MonkeyPatch.context() as environ:
        environ.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                yield launched
            finally:
                launched.close()


@pytest.fixture
def browser_log(request: pytest.FixtureRequest) -> BrowserLog:
    log = BrowserLog()
    request.node.stash[LOG] = log
    return log


@pytest.fixture
def new_context(
    browser: Browser, live_server: Any, celery_worker: Any, browser_log: BrowserLog
) -> Iterator[Callable[..., BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_context(size: str = "desktop", **options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, locale=LOCALE, **{**SIZES[size], **options})
        context.set_default_timeout(TIMEOUT_MS)
        browser_log.watch(context, size)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def phone(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context("phone")


@pytest.fixture
def desktop(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context("desktop")


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(new_context: Callable[..., BrowserContext], size: str) -> Page:
    return new_context(size).new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose pages logged a console error fails, even if its assertions held."""
    result = yield
    log = item.stash.get(LOG, None)
    if log is not None:
        log.assert_clean()
    return result
