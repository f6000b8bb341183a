#!/usr/bin/env python
"""Rewrite the model-zoo table in docs/model_zoo.md (between ``<!-- zoo -->`` and ``<!-- /zoo -->``)
from the cards in ``saved_models/*.json``; ``--check`` only reports whether it is current.
(The table moved there from README.md, hence the tool's name.)

    python tools/readme_zoo.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "model_zoo.md"
START, END = "<!-- zoo -->", "<!-- /zoo -->"


def _pair(d: dict, a: str, b: str, fa: str, fb: str) -> str:
    return f"{d[a]:{fa}} / {d[b]:{fb}}" if a in d and b in d else "-"


def table(cards_dir: Path = ROOT / "saved_models") -> str:
    rows = ["| model | scale | params | file | Set5 PSNR / SSIM | Set14 PSNR / SSIM | LPIPS Set5 / Set14 "
            "| published PSNR Set5 / Set14 |", "|---|---|---|---|---|---|---|---|"]
    for path in sorted(cards_dir.glob("*.json")):
        c = json.loads(path.read_text())
        m, pub = c["measured"], c.get("published") or {}
        s5, s14 = m.get("Set5", {}), m.get("Set14", {})
        lp = f"{s5['lpips']:.3f} / {s14['lpips']:.3f}" if "lpips" in s5 and "lpips" in s14 else "-"
        rows.append(f"| `{c['name']}` | x{c['scale']} | {c['params']:,} | {round(c['bytes'] / 1024)} KB "
                    f"| {_pair(s5, 'psnr', 'ssim', '.2f', '.4f')} | {_pair(s14, 'psnr', 'ssim', '.2f', '.4f')} "
                    f"| {lp} | {pub.get('Set5') or '-'} / {pub.get('Set14') or '-'} |")
    return "\n".join(rows)


def updated(readme: str, new_table: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"{PAGE.relative_to(ROOT)} has no {START} ... {END} section")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{new_table}\n{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if the zoo table is out of date")
    args = ap.parse_args()
    text = PAGE.read_text()
    try:
        new = updated(text, table())
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"{PAGE.relative_to(ROOT)} zoo table is out of date: run python tools/readme_zoo.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
