"""What a person does on the dashboard, in the UI contract's selectors: shared by the tests and the
draw benchmark."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support import VTEST

# The street video played at 10 fps into the people queue.
STREET = {"source_kind": "file", "source": str(VTEST), "queue": "people", "target_fps": 10}
# Chromium's own console lines for requests refused while the server (or what it needs) is away.
SERVER_DOWN = r"net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE)|WebSocket connection to .* failed"


def log_in(page: Page, username: str, password: str) -> None:
    """Through the login form; returns once the header names the user."""
    page.goto("/#/login")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("[data-testid=login-submit]")
    expect(page.get_by_test_id("current-user")).to_have_text(username, timeout=30_000)


def tile_canvas(stream: str, *, large: bool = False) -> str:
    """The selector of a stream's canvas on the live grid, or of the large view's."""
    container = "[data-testid=stream-large]" if large else f'[data-testid=stream-tile][data-stream="{stream}"]'
    return f"{container} canvas"


def frames_drawn(page: Page, canvas: str) -> int:
    return int(page.locator(canvas).get_attribute("data-frames-drawn") or 0)


def picture_width(page: Page, canvas: str) -> int:
    """The width of the last JPEG drawn on the canvas."""
    return int(page.locator(canvas).get_attribute("data-picture-width") or 0)


def wait_for_drawing(page: Page, canvas: str, *, more_than: int, with_boxes: bool = False, timeout: float = 90) -> None:
    """Until the canvas has drawn more than ``more_than`` frames (and its last one had boxes)."""
    page.wait_for_function(
        """([selector, frames, boxes]) => {
            const canvas = document.querySelector(selector);
            return canvas && +canvas.dataset.framesDrawn > frames && (!boxes || +canvas.dataset.boxesDrawn > 0);
        }""",
        arg=[canvas, more_than, with_boxes], polling=100, timeout=timeout * 1000,
    )
