"""Moved to tests/support/browser.py. This name stays only for bench/screenshots.py: delete it once
that imports tests.support.browser."""
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, launch_chromium  # noqa: F401
