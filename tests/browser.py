"""Debian's Chromium for the browser tests: where it is and how it is started. The
session's single `browser` fixture (Playwright's sync API allows one per thread) is in
tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("PARTAGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The player tests start playback from script, without a click.
    "--autoplay-policy=no-user-gesture-required",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
