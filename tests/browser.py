"""Shared helpers of the browser tests (tests/test_web.py, tests/test_study.py): the page driver is
the library's :mod:`keras_sr.export.web_page` (a static folder served from 127.0.0.1 and opened in
headless Chromium through Playwright, offline: every non-local request is blocked and recorded,
and a test then fails on it).

They need ``/usr/bin/chromium`` (or $KERAS_SR_CHROMIUM; `apt-get install chromium`) and the
``playwright`` Python package (no browser download); :func:`need_browser` skips naming what is
missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_sr.export.web_page import CHROMIUM, CHROMIUM_ARGS, NATIVE_LOG, Page  # noqa: F401 (re-exported)


def need_browser():
    """Skip the calling test unless Chromium and the playwright package are there."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KERAS_SR_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed "
                        "(pip install playwright; no browser download is needed)")
