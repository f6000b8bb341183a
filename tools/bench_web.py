#!/usr/bin/env python
"""Speed of the `keras-sr export --web` page in headless Chromium vs Python LiteRT, same machine,
same tile file, same tiling; optionally a screenshot of the page.

    python tools/bench_web.py [--model abpn-x2] [--size 512] [--runs 3] [--web DIR]
                              [--screenshot docs/web_export.png]

The page (served from 127.0.0.1) upscales a SIZE x SIZE LR photo (a crop of scikit-image's
astronaut) ``--runs`` times through ``window.kerasSR.upscaleURL``; its ``kerasSR.lastMs`` is the
tiling time (tiles in and out, LiteRT.js WASM with XNNPACK, one thread: the non-threaded build),
without decoding the photo or encoding the PNG. Python runs ``keras_sr.export.web.upscale_tiled``
with LiteRT on the same tile file, 1 and 2 threads. Reported: median ms per LR megapixel (and per
output megapixel). Needs what tests/test_web.py needs (chromium, playwright, web/node_modules).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="abpn-x2")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--web", help="an existing web export (default: export --model to a temp folder)")
    ap.add_argument("--screenshot", help="save a screenshot of the page (PNG, 256 colours) here")
    args = ap.parse_args()

    import skimage.data
    from PIL import Image

    from keras_sr.export import interpreter, run_tflite
    from keras_sr.export.web import upscale_tiled
    from keras_sr.export.web_page import WebPage

    tmp = tempfile.TemporaryDirectory()
    web = Path(args.web) if args.web else Path(tmp.name) / "web"
    if not args.web:
        from click.testing import CliRunner

        from keras_sr.cli.main import main as cli

        result = CliRunner().invoke(cli, ["export", args.model, "--web", str(web), "--web-runtime",
                                     str(Path(__file__).resolve().parents[1] / "web" / "node_modules")])
        if result.exit_code:
            sys.exit(result.output)
    config = json.loads((web / "model.json").read_text())
    n, c, s = config["window"], config["context"], config["scale"]
    astro = skimage.data.astronaut()
    rgb = np.ascontiguousarray(np.pad(astro, ((0, max(0, args.size - 512)),) * 2 + ((0, 0),), "symmetric")
                               [: args.size, : args.size])
    lr_mp, out_mp = args.size**2 / 1e6, (args.size * s) ** 2 / 1e6
    load = os.getloadavg()[0]
    page = WebPage(web)
    try:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        its = {t: interpreter(path=web / config["tile_model"], threads=t) for t in (1, 2)}
        times = {"browser": [], 1: [], 2: []}
        for _ in range(args.runs):  # alternating, so that changing machine load hits all alike
            page.page.evaluate("(u) => window.kerasSR.upscaleURL(u).then(() => null)", url)
            times["browser"].append(page.page.evaluate("window.kerasSR.lastMs"))
            for t, it in its.items():
                t0 = time.perf_counter()
                upscale_tiled(lambda x, it=it: run_tflite(it, x), rgb, s, n, c)
                times[t].append((time.perf_counter() - t0) * 1000)
        rows = [("browser: LiteRT.js 2.5.3 WASM (XNNPACK), 1 thread", statistics.median(times["browser"]))]
        rows += [(f"Python LiteRT (ai-edge-litert, XNNPACK), {t} thread{'s' * (t > 1)}", statistics.median(times[t]))
                 for t in (1, 2)]
        if args.screenshot:
            shot(page, args.screenshot)
        assert page.problems() == [], page.problems()
    finally:
        page.close()
    print(f"{config['name']} {config['tile_model']} ({n}x{n} px tiles, context {c} px), {args.size}x{args.size} "
          f"LR photo -> {args.size * s}x{args.size * s}, median of {args.runs}\n")
    print(f"load average before: {load:.1f}, after: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)\n")
    print("| runtime | ms | ms per LR MP | ms per output MP |\n|---|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.0f} | {ms / lr_mp:.0f} | {ms / out_mp:.0f} |")


def shot(page, path):
    """The page after upscaling a 200x150 crop of scikit-image's chelsea, as a 256-colour PNG."""
    import skimage.data
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        photo = Path(d) / "chelsea.png"
        Image.fromarray(skimage.data.chelsea()[30:180, 110:310]).save(photo)
        page.page.set_viewport_size({"width": 760, "height": 760})
        page.page.set_input_files("#pick", str(photo))
        page.page.wait_for_selector("#result:not([hidden])")
        png = page.page.screenshot(full_page=False)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"screenshot: {path} ({Path(path).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
