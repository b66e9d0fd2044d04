"""Debian's Chromium, driven by Playwright (whose own browser download fails on these machines)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: containers and CI runners often lack the user namespaces it needs. No GPU, QUIC, first-run
# or background work: nothing but the page under test.
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make setup`")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
