#!/usr/bin/env python
"""Train (or retrain) rows of the model zoo with their exact recorded configs.

    python tools/train_zoo.py fsrcnn-x2 [--runs ../runs] [--data-root ../shared/datasets] [--dry-run]
    python tools/train_zoo.py all

Commands run from the repository root with paths relative to it (``../shared/datasets/T91``,
``../runs/fsrcnn_x2``), so the command recorded in each run's record.json and model card runs
as printed from the repository root of any checkout.

Each row is one ``keras-sr train`` command (printed before it runs and stored in the run's
record.json). Run folders live outside the repository (``--runs``); re-running a row resumes
an interrupted run (BackupAndRestore). Training data: T91 + BSD200 (bicubic degradation,
Y of BT.601; RGB for srresnet/srgan), 5% of the images held out for validation. Rows with ``init`` start from
another row's finished run (FSRCNN x3/x4 reuse the x2 layers, as in the FSRCNN paper).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMON = ["--val-fraction", "0.05", "--seed", "0", "--schedule", "cosine"]
ZOO = {
    "fsrcnn-x2": dict(arch="fsrcnn", factor=2, epochs=60, steps=500, lr=1e-3, batch=64),
    "fsrcnn-x3": dict(arch="fsrcnn", factor=3, epochs=30, steps=500, lr=5e-4, batch=64, init="fsrcnn-x2"),
    "fsrcnn-x4": dict(arch="fsrcnn", factor=4, epochs=30, steps=500, lr=5e-4, batch=64, init="fsrcnn-x2"),
    # ESPCN with ReLU (issue 17): with tanh this recipe trains a near-linear filter (tanh stays in
    # its linear range); the shipped tanh models (31.51 dB Set5 x3) came from these rows without it.
    # espcn-x3 with ReLU, same 20k steps: Set5 32.32 / Set14 28.99 (tanh: 31.51 / 28.35); the
    # 32.45 target needs a longer run (--epochs-multiplier 3 under way when this was written).
    "espcn-x2": dict(arch="espcn", factor=2, epochs=40, steps=500, lr=1e-3, batch=64, extra=["--activation", "relu"]),
    "espcn-x3-base": dict(arch="espcn", factor=3, epochs=40, steps=500, lr=1e-3, batch=64,
                          extra=["--activation", "relu"]),
    # 20k more steps from espcn-x3-base (cosine restarted at half the rate): Set5 32.31 -> 32.44
    "espcn-x3-s2": dict(arch="espcn", factor=3, epochs=40, steps=500, lr=5e-4, batch=64, init="espcn-x3-base",
                        extra=["--activation", "relu"]),
    # then 10k more at a quarter of the rate: 50k steps in all
    "espcn-x3": dict(arch="espcn", factor=3, epochs=20, steps=500, lr=2.5e-4, batch=64, init="espcn-x3-s2",
                     extra=["--activation", "relu"]),
    "espcn-x4-base": dict(arch="espcn", factor=4, epochs=40, steps=500, lr=1e-3, batch=64,
                          extra=["--activation", "relu"]),
    # as espcn-x3: 20k more steps at half the rate (espcn-x4-base: Set5 30.13, target 30.2)
    "espcn-x4": dict(arch="espcn", factor=4, epochs=40, steps=500, lr=5e-4, batch=64, init="espcn-x4-base",
                     extra=["--activation", "relu"]),
    # mobile: anchor-based plain net, int8-friendly (see saved_models/README.md)
    "abpn-x2": dict(arch="abpn", factor=2, epochs=40, steps=500, lr=1e-3, batch=64),
    "abpn-x3": dict(arch="abpn", factor=3, epochs=40, steps=500, lr=1e-3, batch=64),
    "abpn-x4": dict(arch="abpn", factor=4, epochs=40, steps=500, lr=1e-3, batch=64),
    "srcnn-x2": dict(arch="srcnn-955", factor=2, epochs=60, steps=500, lr=1e-3, batch=64,
                     extra=["--patch-size", "32"]),
    "srcnn-x3": dict(arch="srcnn-955", factor=3, epochs=10, steps=500, lr=5e-4, batch=64,
                     extra=["--patch-size", "33"], init="srcnn-x2"),
    "srcnn-x4": dict(arch="srcnn-955", factor=4, epochs=10, steps=500, lr=5e-4, batch=64,
                     extra=["--patch-size", "32"], init="srcnn-x2"),
    # SRGAN two-phase recipe sized for CPU: a reduced generator (8 blocks x 32 channels; the
    # paper's is 16 x 64). Pre-training in two stages (session 3's 6k MSE steps on 96-px crops,
    # then 12k L1 steps on 64-px crops at a higher rate: ~0.3 s/step on one shared core).
    "srresnet-x4-mse": dict(arch="srresnet", factor=4, epochs=24, steps=250, lr=2e-4, batch=16,
                            extra=["--blocks", "8", "--filters", "32"]),
    "srresnet-x4": dict(arch="srresnet", factor=4, epochs=48, steps=250, lr=5e-4, batch=16,
                        init="srresnet-x4-mse",
                        extra=["--blocks", "8", "--filters", "32", "--patch-size", "64", "--loss", "l1"]),
    # GAN phase: half-width discriminator (32 base channels), 64-px HR crops (paper 96), the
    # discriminator in training mode in both updates, content = L1 + LPIPS-VGG (not the paper's
    # VGG19 feature MSE: that alone shifted colours here) + 1e-3 adversarial.
    "srgan-x4": dict(arch="srgan", factor=4, epochs=12, steps=250, lr=1e-4, batch=16, init="srresnet-x4",
                     extra=["--blocks", "8", "--filters", "32", "--patch-size", "64", "--d-filters", "32",
                            "--content", "pixel", "--loss", "l1", "--lpips-weight", "1",
                            "--vgg-weights", "{weights}/perceptual/lpips_vgg16_v0.1.npz"]),
    # Real-world restorers (Real-ESRGAN's recipe sized for 2 CPU cores): SRVGGNetCompact 32 x 8
    # (int8-friendly), RGB, the realworld degradation (Real-ESRGAN x4plus ranges) drawn per batch
    # in tf.data, L1 (stage 1, Real-ESRNet). The weak-denoise sibling fine-tunes realesr-x4 on the
    # mild ranges (noise halved, JPEG quality halfway to 100; RealWorldParams.mild()); the GAN
    # stage adds the VGG16 perceptual term, 0.1 x U-Net GAN, EMA and sharpened targets.
    "realesr-x4": dict(arch="srvgg", factor=4, epochs=40, steps=250, lr=5e-4, batch=16,
                       extra=["--filters", "32", "--convs", "8", "--patch-size", "128", "--loss", "l1",
                              "--degradation", "realworld"]),
    "realesr-x2": dict(arch="srvgg", factor=2, epochs=40, steps=250, lr=5e-4, batch=16,
                       extra=["--filters", "32", "--convs", "8", "--patch-size", "96", "--loss", "l1",
                              "--degradation", "realworld"]),
    "realesr-x4-wdn": dict(arch="srvgg", factor=4, epochs=10, steps=250, lr=2e-4, batch=16, init="realesr-x4",
                           extra=["--filters", "32", "--convs", "8", "--patch-size", "128", "--loss", "l1",
                                  "--degradation", "realworld",
                                  "--degradation-param", "noise_range=0.5,15", "--degradation-param", "noise_range2=0.5,12.5",
                                  "--degradation-param", "poisson_scale_range=0.025,1.5",
                                  "--degradation-param", "poisson_scale_range2=0.025,1.25",
                                  "--degradation-param", "jpeg_range=65,97", "--degradation-param", "jpeg_range2=65,97"]),
    # GAN stage on 64-px HR crops, 1.5k steps: with VGG16 and the U-Net D a 128-px step costs ~4x a
    # 64-px one (~1 s on 2 cores), so 3k steps at 128 px would be ~3.5 h here.
    "realesrgan-x4": dict(arch="realesrgan", factor=4, epochs=6, steps=250, lr=1e-4, batch=16, init="realesr-x4",
                          extra=["--filters", "32", "--convs", "8", "--patch-size", "64", "--d-filters", "32",
                                 "--vgg-weights", "{weights}/perceptual/lpips_vgg16_v0.1.npz"]),
}


def command(name: str, runs: Path, data_root: Path, multiplier: float = 1.0) -> list[str]:
    row = dict(ZOO[name])
    row["epochs"] = max(1, int(round(row["epochs"] * multiplier)))
    cmd = [sys.executable, "-m", "keras_sr.cli.main", "train", row["arch"], "--factor", str(row["factor"]),
           "--data", str(data_root / "T91"), "--data", str(data_root / "BSD200"),
           "--epochs", str(row["epochs"]), "--steps-per-epoch", str(row["steps"]),
           "--lr", str(row["lr"]), "--batch-size", str(row["batch"]),
           "--out", str(runs / name.replace("-", "_")), *COMMON,
           *(e.format(weights=data_root.parent / "weights") for e in row.get("extra", []))]
    if row.get("init"):
        cmd += ["--init", str(runs / row["init"].replace("-", "_"))]
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="+", help=f"rows ({', '.join(ZOO)}) or 'all'")
    ap.add_argument("--runs", type=Path, default=REPO.parent / "runs")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    ap.add_argument("--epochs-multiplier", type=float, default=1.0,
                    help="train longer (e.g. 4 on a bigger machine to close a shortfall)")
    args = ap.parse_args()
    names = list(ZOO) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"Error: unknown zoo row {unknown[0]!r}; known: {', '.join(ZOO)}", file=sys.stderr)
        return 2
    if not args.dry_run:
        args.runs.mkdir(parents=True, exist_ok=True)
    # relative to the repository root, where the commands run
    args.runs, args.data_root = (Path(os.path.relpath(p.resolve(), REPO)) for p in (args.runs, args.data_root))
    for name in names:
        cmd = command(name, args.runs, args.data_root, args.epochs_multiplier)
        print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        if args.dry_run:
            continue
        if (REPO / args.runs / name.replace("-", "_") / "model.keras").exists():
            print(f"{name}: finished run exists, skipping", flush=True)
            continue
        rc = subprocess.call(cmd, cwd=REPO)
        if rc:
            print(f"Error: {name} failed with exit code {rc}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
