"""Debian's Chromium under Playwright, launched the one way that works on these machines."""
from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and no background calls to Google's hosts, which the closed network refuses.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch_chromium(playwright):
    """Playwright's Chromium API on the system browser; `playwright install` is never needed."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
