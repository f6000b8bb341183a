"""Shared helpers of the browser tests (tests/test_web.py, tests/test_study.py): a static folder
served from 127.0.0.1 and opened in headless Chromium through Playwright, offline: every
non-local request is blocked and recorded (a test then fails on it).

They need ``/usr/bin/chromium`` (or $KERAS_SR_CHROMIUM; `apt-get install chromium`) and the
``playwright`` Python package (no browser download); :func:`need_browser` skips naming what is
missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("KERAS_SR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# LiteRT's C++ log lines reach the console as errors ("INFO: ...", "WARNING: ..."); anything else fails
NATIVE_LOG = ("INFO: ", "WARNING: ")


def need_browser():
    """Skip the calling test unless Chromium and the playwright package are there."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KERAS_SR_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed "
                        "(pip install playwright; no browser download is needed)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Page:
    """``folder`` served from 127.0.0.1 and opened at ``path``, every other request blocked (and
    recorded); waits for the JavaScript promise ``ready`` (e.g. ``window.kerasSR.ready``).
    ``page_options``: keyword arguments of Playwright's ``new_page`` (e.g. device_scale_factor)."""

    def __init__(self, folder: Path, ready: str, path: str = "", **page_options):
        from playwright.sync_api import sync_playwright

        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/"
        self.blocked, self.console, self.errors = [], [], []
        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(**page_options)
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(self.base + path)
        self.page.evaluate(ready)

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def problems(self) -> list:
        bad = [t for kind, t in self.console if kind == "error" and not t.startswith(NATIVE_LOG)]
        return self.blocked + self.errors + bad

    def close(self):
        self.browser.close()
        self.pw.stop()
        self.server.shutdown()
