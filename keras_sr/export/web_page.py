"""Open a static page in headless Chromium from Python: :class:`Page` serves a folder from
127.0.0.1 and blocks (and records) every other request; :class:`WebPage` is the page of
``keras-sr export --web`` with ``upscale`` (an image through ``window.kerasSR``).

Used by the browser tests (tests/test_web.py) and tools/bench_web.py. Needs a Chromium binary
(``/usr/bin/chromium`` or ``$KERAS_SR_CHROMIUM``; `apt-get install chromium`) and the
``playwright`` Python package (part of the ``test`` extra; no browser download), imported only
when a :class:`Page` opens.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import os
import threading
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("KERAS_SR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# LiteRT's C++ log lines reach the console as errors ("INFO: ...", "WARNING: "); anything else is a problem
NATIVE_LOG = ("INFO: ", "WARNING: ")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Page:
    """``folder`` served from 127.0.0.1 and opened at ``path``, every other request blocked (and
    recorded in ``blocked``); waits for the JavaScript promise ``ready`` (e.g.
    ``window.kerasSR.ready``). ``console`` and ``errors`` collect what the page logs.
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
        """Blocked requests, page errors and console errors other than LiteRT's native log lines."""
        bad = [t for kind, t in self.console if kind == "error" and not t.startswith(NATIVE_LOG)]
        return self.blocked + self.errors + bad

    def close(self):
        self.browser.close()
        self.pw.stop()
        self.server.shutdown()


class WebPage(Page):
    """The page of a ``keras-sr export --web`` folder, with :meth:`upscale`."""

    def __init__(self, folder: Path):
        super().__init__(folder, "window.kerasSR.ready")

    def upscale(self, image: np.ndarray, fmt="PNG", step=None, **save) -> np.ndarray:
        """``image`` (uint8) encoded as ``fmt`` (PIL ``save`` options) through the page's
        ``kerasSR.upscaleURL``; the result PNG decoded (RGBA)."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).save(buf, fmt, **save)
        url = f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()
        out = self.page.evaluate("([u, step]) => window.kerasSR.upscaleURL(u, {step})", [url, step])
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(out.split(",", 1)[1]))))
