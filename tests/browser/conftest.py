"""One running system per module, one headless Chromium, and a fresh browser context per test whose
console must stay free of errors.

The sync Playwright API runs its own event loop, so these fixtures and the tests using them are plain
synchronous functions (pytest-asyncio's loop is never running around them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from harness.processes import REPO
from inference_worker.runtime import redis_client
from tests.browser.chromium import launch as chromium_launch
from tests.browser.system import System, running_system

SCREENSHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def system(redis_server, tmp_path_factory) -> Iterator[System]:
    redis_client(redis_server["url"]).flushall()
    with running_system(redis_server["url"], tmp_path_factory.mktemp("system")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = chromium_launch(playwright)
        yield chromium
        chromium.close()


class Console:
    """Errors a page logged (console errors and uncaught exceptions), less those a test said to expect,
    such as the browser's own line about a request refused on purpose."""

    def __init__(self):
        self.errors: list[str] = []
        self._expected: list[re.Pattern] = []

    def expect(self, pattern: str) -> None:
        self._expected.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error) -> None:
        self.errors.append(f"uncaught: {error}")

    def unexpected(self) -> list[str]:
        return [line for line in self.errors if not any(p.search(line) for p in self._expected)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser, system, console) -> Iterator[Page]:
    """A new page in a fresh context (no cookies, no storage) on the system's origin."""
    context = browser.new_context(base_url=system.base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    yield page
    context.close()
    print("browser console errors, the expected ones included:", *console.errors, sep="\n  ")
    assert not console.unexpected(), "the browser console had errors:\n" + "\n".join(console.unexpected())


@pytest.fixture
def screenshot(page, request):
    """Saves the page as artifacts/screenshots/<test>-<what>.png and prints the path."""

    def save(what: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{what}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return save

