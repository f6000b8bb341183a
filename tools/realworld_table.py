#!/usr/bin/env python
"""Real-world table: models on degraded Set5/Set14 (PSNR/SSIM/LPIPS) and on RealSRSet (NIQE).

    python tools/realworld_table.py --models x2=bicubic,fsrcnn-x2,srcnn-x2 --models x4=bicubic,srgan-x4 \\
        [--data-root ../shared/datasets] [--weights ../shared/weights] [--seed 0] [--realsrset] \\
        [--cache ../runs/realworld_table.json] [--out table.md]

Protocol (issue #15): ``keras-sr evaluate --model M --dataset SET --factor S --degradation realworld
--seed 0 --metrics psnr,ssim,lpips``: each HR image is degraded deterministically (Real-ESRGAN's
chain, seeded by (seed, file name)); PSNR/SSIM on BT.601 Y, shave S; LPIPS AlexNet on RGB.
``bicubic`` is the bicubic upscale of the same degraded LR. RealSRSet (no HR): ``keras-sr evaluate
--model M --dataset RealSRSet --factor 4 --metrics niqe``. A model is a zoo name or any path
``keras_sr.load_model`` takes (``.keras``, ``.param``, ``.pth``). Results are cached per
(model, set, scale, seed) in ``--cache`` so rows can be added run by run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _score(model: str, dataset: Path, scale: int, seed: int, weights: Path) -> dict:
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.protocol import get_protocol
    from keras_sr.inference import Upscaler

    proto = get_protocol("paper", degradation="realworld", seed=seed)
    if model == "bicubic":
        up = None
        result = evaluate(None, dataset, scale, protocol=proto, metric_names=("mse", "psnr", "ssim", "lpips"),
                          lpips_weights=weights / "perceptual" / "lpips_alex_v0.1.npz")
        m = result.means()
        return {"psnr": m["bicubic_psnr"], "ssim": m["bicubic_ssim"], "lpips": m["bicubic_lpips"]}
    up = Upscaler(model, scale)
    result = evaluate(up, dataset, scale, protocol=proto, metric_names=("mse", "psnr", "ssim", "lpips"),
                      lpips_weights=weights / "perceptual" / "lpips_alex_v0.1.npz")
    m = result.means()
    return {"psnr": m["model_psnr"], "ssim": m["model_ssim"], "lpips": m["model_lpips"]}


def _niqe(model: str, dataset: Path, scale: int, weights: Path) -> float:
    from keras_sr.evaluation.no_reference import evaluate_no_reference
    from keras_sr.inference import Upscaler

    params = weights / "niqe" / "niqe_pris_params.npz"
    up = None if model == "bicubic" else Upscaler(model, scale)
    result = evaluate_no_reference(up, dataset, scale, niqe_params=params)
    m = result.means()
    return m["bicubic_niqe"] if model == "bicubic" else m["model_niqe"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", action="append", required=True, metavar="xS=M1,M2",
                    help="models of one scale, e.g. x4=bicubic,srgan-x4,realesrgan-x4plus.keras")
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--weights", type=Path, default=ROOT.parent / "shared" / "weights")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sets", default="Set5,Set14")
    ap.add_argument("--realsrset", action="store_true", help="also NIQE on RealSRSet (x4 models)")
    ap.add_argument("--cache", type=Path, default=ROOT.parent / "runs" / "realworld_table.json")
    ap.add_argument("--out", type=Path, help="write the markdown table here too")
    args = ap.parse_args()
    for p in (args.data_root, args.weights):
        if not p.is_dir():
            print(f"Error: no such folder: {p} (../shared holds the datasets and weights)", file=sys.stderr)
            return 2
    cache = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    rows = []
    for spec in args.models:
        scale_text, _, names = spec.partition("=")
        if not scale_text.startswith("x") or not names:
            print(f"Error: --models expects xS=M1,M2, got {spec!r}", file=sys.stderr)
            return 2
        scale = int(scale_text[1:])
        for model in names.split(","):
            row = {"model": model, "scale": scale}
            for ds in args.sets.split(","):
                key = f"{model}|{ds}|x{scale}|seed{args.seed}"
                if key not in cache:
                    t0 = time.time()
                    cache[key] = _score(model, args.data_root / ds, scale, args.seed, args.weights)
                    cache[key]["seconds"] = round(time.time() - t0, 1)
                    args.cache.parent.mkdir(parents=True, exist_ok=True)
                    args.cache.write_text(json.dumps(cache, indent=1))
                    print(f"{key}: {cache[key]}", file=sys.stderr, flush=True)
                row[ds] = cache[key]
            if args.realsrset and scale == 4:
                key = f"{model}|RealSRSet|x{scale}|niqe"
                if key not in cache:
                    cache[key] = {"niqe": _niqe(model, args.data_root / "RealSRSet", scale, args.weights)}
                    args.cache.write_text(json.dumps(cache, indent=1))
                    print(f"{key}: {cache[key]}", file=sys.stderr, flush=True)
                row["RealSRSet"] = cache[key]
            rows.append(row)
    sets = args.sets.split(",")
    head = "| model | scale | " + " | ".join(f"{s} PSNR / SSIM / LPIPS" for s in sets) + \
        (" | RealSRSet NIQE |" if args.realsrset else " |")
    lines = [head, "|" + "---|" * (2 + len(sets) + bool(args.realsrset))]
    for r in rows:
        cells = [f"{r[s]['psnr']:.2f} / {r[s]['ssim']:.4f} / {r[s]['lpips']:.3f}" for s in sets]
        if args.realsrset:
            cells.append(f"{r['RealSRSet']['niqe']:.3f}" if "RealSRSet" in r else "-")
        lines.append(f"| `{Path(r['model']).name}` | x{r['scale']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
