#!/usr/bin/env python
"""TFLite table of the shipped zoo: file sizes, parity and LiteRT speed for every mode.

    python tools/zoo_tflite.py [NAME ...] [--parity-data ../shared/datasets/Set5] [--size 256]
                               [--write-readme]

For each shipped model: ``keras-sr export NAME --tflite fp32,fp16,dynamic,int8`` (builtin ops
only, int8 calibrated on the built-in sample photos) with the parity check on Set5 (tolerances
reported, not enforced here: the table shows which modes pass), then ``keras-sr bench`` on the
exported raw models at one size: median latency as a ratio to the Keras model measured in the
same run (> 1 = faster than Keras). ``--write-readme`` replaces the table between the
``<!-- tflite -->`` markers of saved_models/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("fp32", "fp16", "dynamic", "int8")
BEGIN, END = "<!-- tflite -->", "<!-- /tflite -->"


def measure(name: str, parity_data: str | None, size: int, work: Path) -> dict:
    from keras_sr.bench import bench
    from keras_sr.export import TOLERANCES, ExportConfig
    from keras_sr.export.exporter import export

    out = work / name
    report = export(ExportConfig(model=name, out=str(out), modes=list(MODES), parity_data=parity_data,
                                 tolerances={m: float("inf") for m in MODES}))
    meta = json.loads((out / "metadata.json").read_text())
    speed = bench(name, sizes=(size,), modes=MODES, export_dir=out)
    ratio = {r["backend"].split()[-1]: r["ratio_vs_keras"] for r in speed["rows"] if r["backend"] != "keras fp32"}
    keras_ms = next(r["median_ms"] for r in speed["rows"] if r["backend"] == "keras fp32")
    row = {"name": name, "keras_ms": keras_ms, "images": report["images"], "modes": {}}
    for mode in MODES:
        parity = next(r for r in report["rows"] if r["file"] == f"model_{mode}.tflite")
        limit = TOLERANCES[mode]
        value = parity["max_abs"] if mode == "fp32" else -(parity["delta_psnr_db"] or 0.0)
        row["modes"][mode] = {"kb": meta["files"][f"model_{mode}.tflite"]["bytes"] / 1024,
                              "dpsnr": parity["delta_psnr_db"], "max_abs": parity["max_abs"],
                              "ok": value <= limit, "speed": ratio.get(mode)}
    return row


def table(rows: list, size: int) -> str:
    head = ("| model | " + " | ".join(f"{m} KB / dPSNR dB / x Keras" for m in MODES) + " |\n"
            "|---|" + "---|" * len(MODES))
    lines = [head]
    for r in rows:
        cells = []
        for m in MODES:
            c = r["modes"][m]
            quality = f"max {c['max_abs']:.1e}" if m == "fp32" else f"{c['dpsnr']:+.3f}"
            cells.append(f"{c['kb']:.0f} / {quality}{'' if c['ok'] else ' (over)'} / {c['speed']:.2f}")
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + (f"\n\nSpeed: LiteRT median latency on a {size}x{size} LR input vs the Keras model "
                               "in the same run (2 CPU cores, > 1 = faster). dPSNR: vs the Keras model's output on "
                               f"{rows[0]['images'] if rows else '?'} images; '(over)' marks a mode over its "
                               "tolerance (fp32 1e-4 max abs, fp16 0.02, dynamic 0.10, int8 0.20 dB), which "
                               "`keras-sr export` refuses.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="zoo names (default: all shipped)")
    ap.add_argument("--parity-data", default=str(ROOT.parent / "shared" / "datasets" / "Set5"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    from keras_sr.zoo import cards

    names = args.names or sorted(cards())
    parity = args.parity_data if Path(args.parity_data).is_dir() else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_sr_zoo_tflite_") as tmp:
        for name in names:
            print(f"{name} ...", file=sys.stderr, flush=True)
            rows.append(measure(name, parity, args.size, Path(tmp)))
    text = table(rows, args.size)
    print(text)
    if args.write_readme:  # rows of models not measured this time are kept
        readme = ROOT / "saved_models" / "README.md"
        s = readme.read_text()
        old = s[s.index(BEGIN):s.index(END)].splitlines() if BEGIN in s else []
        new = text.splitlines()
        kept = [line for line in old if line.startswith("| ") and not line.startswith("| model |")
                and line.split(" | ")[0][2:] not in {r["name"] for r in rows}]
        body = sorted(kept + [line for line in new[2:] if line.startswith("| ")])
        text = "\n".join(new[:2] + body + [line for line in new[2:] if not line.startswith("| ")])
        block = f"{BEGIN}\n{text}\n{END}"
        s = s[:s.index(BEGIN)] + block + s[s.index(END) + len(END):] if BEGIN in s else s.rstrip() + "\n\n" + block + "\n"
        readme.write_text(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
