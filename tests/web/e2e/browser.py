"""The browser tests' tools: Debian's Chromium driven by Playwright for Python, the two
screen sizes, what every page is checked for (no console error, axe-core's accessibility
rules, headings in order) and its screenshots.

A browser test module starts with ``pytestmark = E2E`` and takes the fixtures of
``tests/web/e2e/conftest.py``: ``page`` (a fresh page, once at each size), ``phone`` and
``desktop`` (browser contexts, each with cookies of its own: one person signed in),
``new_context(size)`` for more people, and ``browser_log`` (what the pages said).
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response

ROOT = Path(__file__).resolve().parents[3]
#: axe-core, vendored (web/VENDORED.md): injected into the page under test, never a CDN.
AXE = ROOT / "tests/web/vendor/axe.min.js"
#: Where the screenshots go: <SCREENSHOTS>/<size>/<name>.png (var/ is not committed).
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var/screenshots")

#: Debian's chromium runs as root in CI's container: no sandbox; nothing phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The browser contexts' options per size. Indonesian first, as a phone in Semarang asks.
SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
LOCALE = "id-ID"

#: The marks of a browser test: PostgreSQL, a real worker on Redis, and committed data
#: (the live server's threads read the database through connections of their own).
E2E = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

#: axe-core's rule sets run on every page; WCAG 2 A and AA, and the best practices
#: (landmarks, one main, headings in order, a level-one heading).
AXE_TAGS = ["wcag2a", "wcag2aa", "best-practice"]
#: Violations of these impacts fail the test (axe's "minor" ones are warnings).
FAILING_IMPACTS = ("critical", "serious", "moderate")

#: The browser's own favicon probe: the app has none, and that is not the page's fault.
_BROWSER_PROBES = ("/favicon.ico",)


@dataclass
class BrowserLog:
    """What the pages of one test said: console errors (and uncaught exceptions) fail the
    test; failed requests are recorded and shown with them. A test that expects an error
    (a page answering 400 to a refused form logs "Failed to load resource") allows it
    first with :meth:`allow`."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Console errors matching the regular expression ``pattern`` do not fail the test."""
        self.allowed.append(re.compile(pattern))

    def watch(self, context: BrowserContext, size: str) -> None:
        self.contexts.append(context)

        def console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            where = message.location.get("url", "") if message.location else ""
            if urlsplit(where).path in _BROWSER_PROBES:
                return
            self.console_errors.append(
                f"[{size}] {message.page.url if message.page else '?'}: {message.text} ({where})"
            )

        def page_error(error: Any) -> None:
            self.console_errors.append(f"[{size}] uncaught: {error.error}")

        def failed(request: Request) -> None:
            self.failed_requests.append(f"[{size}] {request.method} {request.url}: {request.failure}")

        def answered(response: Response) -> None:
            if response.status >= 400 and urlsplit(response.url).path not in _BROWSER_PROBES:
                self.failed_requests.append(f"[{size}] {response.request.method} {response.url}: {response.status}")

        context.on("console", console)
        context.on("weberror", page_error)
        context.on("requestfailed", failed)
        context.on("response", answered)

    def flush(self) -> None:
        """Let the browser's last messages arrive (they come between Playwright's calls)."""
        for context in self.contexts:
            for page in context.pages:
                if not page.is_closed():
                    page.evaluate("0")

    def problems(self) -> list[str]:
        return [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]

    def assert_clean(self) -> None:
        """Fail the running test if a page logged a console error not allowed."""
        self.flush()
        errors = self.problems()
        if errors:
            requests = "".join(f"\n  {line}" for line in self.failed_requests)
            pytest.fail(
                f"{len(errors)} console error(s) in the browser:"
                + "".join(f"\n  {line}" for line in errors)
                + (f"\nfailed requests:{requests}" if requests else ""),
                pytrace=False,
            )


def size_of(page: Page) -> str:
    """``phone`` or ``desktop``, by the page's viewport."""
    width = page.viewport_size["width"] if page.viewport_size else None
    for name, options in SIZES.items():
        if options["viewport"]["width"] == width:
            return name
    return f"w{width}"


def sign_in(page: Page, username: str, password: str, *, next: str | None = None, succeed: bool = True) -> None:
    """Sign in on /login/ as a person would (typing, then the button), optionally asking
    to come back to ``next``. Fails, with what the page said, when it should have
    succeeded and the sign-in form came back."""
    page.goto("/login/" + (f"?next={quote(next)}" if next else ""))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if succeed and urlsplit(page.url).path == "/login/":
        said = page.locator("main .error, main .error-box").all_inner_texts()
        raise AssertionError(f"signing in as {username} failed: {said}")


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot at ``<SCREENSHOTS>/<size>/<name>.png``; returns its path."""
    path = SCREENSHOTS / size_of(page) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


_AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    target: v.nodes.length ? v.nodes[0].target.join(" ") : "",
  }));
}"""

_HEADINGS = """() => Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"))
  .filter((h) => h.getClientRects().length > 0)
  .map((h) => ({level: Number(h.tagName[1]), text: h.textContent.trim().slice(0, 60)}))"""


_WIDTHS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def check_a11y(page: Page, *, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Run axe-core (WCAG 2 A and AA, best practices: labels, contrast, landmarks, ...)
    on the page as it is now, and check its headings (exactly one ``<h1>``, first, no
    level skipped on the way down) and that it reflows (WCAG 1.4.10: no sideways
    scrolling of the whole page; a wide table scrolls in its own ``<div class="scroll">``).
    Fails with one line per problem: rule, impact, how many elements, the first one."""
    __tracebackhide__ = True
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(_AXE_RUN, AXE_TAGS)
    lines = {
        v["id"]: f"{v['id']} ({v['impact']}, {v['count']} element(s), first: {v['target']}): {v['help']}"
        for v in violations
    }
    problems = [lines[v["id"]] for v in violations if v["impact"] in impacts]
    for v in violations:
        if v["impact"] not in impacts:
            warnings.warn(f"{page.url} at {size_of(page)} size: {lines[v['id']]}", UserWarning, stacklevel=2)
    wide, viewport = page.evaluate(_WIDTHS)
    if wide > viewport:
        problems.append(f"reflow: the page is {wide} px wide in a {viewport} px viewport (scrolls sideways)")
    headings = page.evaluate(_HEADINGS)
    levels = [h["level"] for h in headings]
    if levels.count(1) != 1 or levels[0] != 1:
        problems.append(f"headings: one <h1> expected first, found levels {levels}")
    for before, heading in itertools.pairwise(headings):
        if heading["level"] > before["level"] + 1:
            problems.append(f"headings: h{before['level']} followed by h{heading['level']} ({heading['text']!r})")
    if problems:
        raise AssertionError(
            f"{page.url} at {size_of(page)} size: {len(problems)} accessibility problem(s):\n  " + "\n  ".join(problems)
        )
