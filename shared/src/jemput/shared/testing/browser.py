"""Debian's Chromium for the browser tests, headless and without its calls home (this
machine's network is closed, and each refused call costs time)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# `make test` installs it (deploy/browser/chromium.sh); in CI a missing browser fails.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="/usr/bin/chromium is missing (deploy/browser/chromium.sh ensure)",
)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched browser (playwright's `Browser`), closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
