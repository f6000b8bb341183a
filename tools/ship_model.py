#!/usr/bin/env python
"""Ship a trained run into saved_models/: evaluate it (paper protocol, Set5 + Set14; LPIPS
(AlexNet v0.1) too for RGB models, the SRResNet/SRGAN family), copy the .keras file, write its
model card, and print the zoo-table row (docs/model_zoo.md; tools/readme_zoo.py rewrites the table).

    python tools/ship_model.py ../runs/fsrcnn_x2 fsrcnn-x2 [--shared ../shared] [--overwrite]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def realworld_rows(model, name: str, shared: Path, seed: int = 0) -> dict:
    """Degraded Set5/Set14 (``--degradation realworld --seed 0``: PSNR/SSIM/LPIPS of the model and of
    bicubic on the same LR) and, at x4, RealSRSet NIQE: the real-world issue's protocol."""
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.no_reference import evaluate_no_reference
    from keras_sr.evaluation.protocol import get_protocol

    scale = model.sr_info.scale
    alex = shared / "weights" / "perceptual" / "lpips_alex_v0.1.npz"
    rows = {}
    for ds in ("Set5", "Set14"):
        m = evaluate(model, shared / "datasets" / ds, scale, metric_names=("psnr", "ssim", "lpips"),
                     protocol=get_protocol("paper", degradation=model.sr_info.degradation, seed=seed),
                     lpips_weights=alex).means()
        rows[ds] = {k: round(m[f"{who}_{metric}"], 4 if metric != "psnr" else 3)
                    for who, prefix in (("model", ""), ("bicubic", "bicubic_"))
                    for metric in ("psnr", "ssim", "lpips") for k in [prefix + metric]}
        rows[ds]["command"] = (f"keras-sr evaluate --model {name} --dataset {ds} --factor {scale} --degradation "
                               f"{model.sr_info.degradation} --seed {seed} --metrics psnr,ssim,lpips "
                               "--lpips-weights ../shared/weights/perceptual/lpips_alex_v0.1.npz")
    if scale == 4:
        m = evaluate_no_reference(model, shared / "datasets" / "RealSRSet", scale,
                                  niqe_params=shared / "weights" / "niqe" / "niqe_pris_params.npz").means()
        rows["RealSRSet"] = {"niqe": round(m["model_niqe"], 3), "bicubic_niqe": round(m["bicubic_niqe"], 3),
                             "command": f"keras-sr evaluate --model {name} --dataset RealSRSet --factor 4 "
                                        "--metrics niqe --niqe-params ../shared/weights/niqe/niqe_pris_params.npz"}
    return rows


def ladder_rows(model, name: str, shared: Path, seed: int = 0) -> dict:
    """The severity ladder (clean / light / heavy, keras_sr.evaluation.ladder) on Set5 and Set14:
    per set and severity the model's and bicubic's PSNR, SSIM, LPIPS and colour bias."""
    from keras_sr.evaluation.ladder import ladder

    alex = shared / "weights" / "perceptual" / "lpips_alex_v0.1.npz"
    out = {}
    for ds in ("Set5", "Set14"):
        lad = ladder([model], shared / "datasets" / ds, seed=seed, lpips_weights=alex, names=[name])
        rows = {}
        for r in lad.rows():
            who = "bicubic" if r["method"] == "bicubic" else "model"
            for metric in lad.metrics:
                rows.setdefault(r["severity"], {})[f"{who}_{metric}"] = round(r[metric], 4)
        rows["command"] = (f"keras-sr evaluate --ladder -m {name} -d {ds} -f {model.sr_info.scale} --seed {seed} "
                           "--lpips-weights ../shared/weights/perceptual/lpips_alex_v0.1.npz")
        out[ds] = rows
    return out


def write_card(card: dict) -> None:
    import json

    from keras_sr.data.io import atomic_write_text
    from keras_sr.zoo import zoo_dir

    atomic_write_text(zoo_dir() / f"{card['name']}.json", json.dumps(card, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("name")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--int8-float-layer", action="append", default=[],
                    help="layer that `keras-sr export` keeps float in int8 files (card: int8_float_layers)")
    args = ap.parse_args()
    from keras_sr.data.degradations import get_degradation
    from keras_sr.errors import KerasSRError
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.models.loading import load_model
    from keras_sr.zoo import ship

    try:
        model = load_model(args.run)
        measured = {}
        rgb = model.sr_info.color_space == "rgb"
        alex = args.shared / "weights" / "perceptual" / "lpips_alex_v0.1.npz"
        metrics = ("psnr", "ssim", "lpips") if rgb else ("psnr", "ssim")
        for ds in ("Set5", "Set14"):
            m = evaluate(model, args.shared / "datasets" / ds, model.sr_info.scale, metric_names=metrics,
                         lpips_weights=alex if rgb else None).means()
            measured[ds] = {"psnr": round(m["model_psnr"], 3), "ssim": round(m["model_ssim"], 4),
                            "bicubic_psnr": round(m["bicubic_psnr"], 3), "bicubic_ssim": round(m["bicubic_ssim"], 4),
                            "command": f"keras-sr evaluate --model {args.name} --dataset {ds} "
                                       f"--factor {model.sr_info.scale}" + (" --metrics psnr,ssim,lpips --lpips-weights "
                                          "../shared/weights/perceptual/lpips_alex_v0.1.npz" if rgb else "")}
            if rgb:
                measured[ds].update(lpips=round(m["model_lpips"], 4), bicubic_lpips=round(m["bicubic_lpips"], 4))
        card = ship(args.run, args.name, measured, overwrite=args.overwrite)
        if args.int8_float_layer:
            card["int8_float_layers"] = list(args.int8_float_layer)
            write_card(card)
        names = model.sr_info.degradation.split(",")
        if len(names) > 1 or get_degradation(names[0]).stochastic:  # photo restorers: the ladder
            card["measured_ladder"] = ladder_rows(model, args.name, args.shared)
            if len(names) == 1:  # realworld-trained: also the real-world issue's protocol
                card["measured_realworld"] = realworld_rows(model, args.name, args.shared)
            write_card(card)
    except KerasSRError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    s5, s14 = card["measured"]["Set5"], card["measured"]["Set14"]
    pub = card["published"]
    lp = f" / LPIPS {s5['lpips']:.3f}" if "lpips" in s5 else ""
    print(f"| {args.name} | x{card['scale']} | {card['params']:,} | {card['bytes'] / 1024:.0f} KB | "
          f"{s5['psnr']:.2f} / {s5['ssim']:.4f}{lp} | {s14['psnr']:.2f} / {s14['ssim']:.4f} | "
          f"{pub['Set5'] or '-'} / {pub['Set14'] or '-'} | {card['degradation']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
