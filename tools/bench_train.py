#!/usr/bin/env python
"""Training throughput in one run: the input pipeline's patches/s vs the train step's.

    python tools/bench_train.py fsrcnn --factor 2 --data ../shared/datasets/T91 [--steps 30]
    python tools/bench_train.py srgan --factor 4 --data DIR --augment-modes   # pipeline vs device

The pipeline is timed alone (iterating batches, nothing else running); the step on one
cached batch (no input cost). The pipeline must deliver >= 5x what the step consumes.
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch")
    ap.add_argument("--factor", type=int, default=2)
    ap.add_argument("--data", action="append", default=[])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--augment-modes", action="store_true", help="srgan: steps/s with pipeline vs device augmentation")
    args = ap.parse_args()

    from keras_sr._backend import keras
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import (PipelineConfig, hr_crop_dataset, min_image_size, scan_images,
                                        training_dataset)
    from keras_sr.data.samples import sample_files
    from keras_sr.evaluation.metrics import psnr_metric
    from keras_sr.models import border, build_model, get_architecture
    from keras_sr.training.config import TrainConfig

    k = keras()
    cfg = TrainConfig.resolve(args.arch, factor=args.factor, batch_size=args.batch_size)
    spec = get_architecture(args.arch)
    channels = 3 if cfg.color_space == "rgb" else 1
    model = build_model(args.arch, args.factor, channels=channels)
    files = scan_images(list_images(args.data) if args.data else sample_files(),
                        min_image_size(cfg.patch_size, args.factor))
    pcfg = PipelineConfig(scale=args.factor, patch_size=cfg.patch_size,
                          label_border=border(model) if spec.input_mode == "pre-upsampled" else 0,
                          color_space=cfg.color_space, input_mode=spec.input_mode, batch_size=cfg.batch_size)
    ds = training_dataset(files, pcfg)
    it = iter(ds)
    x, y = next(it)
    for _ in range(3):
        next(it)  # warm-up (decode + cache)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        next(it)
    pipe = args.steps * cfg.batch_size / (time.perf_counter() - t0)
    rows = [("input pipeline", pipe)]
    if args.arch == "srgan":
        from keras_sr.training.trainer import _gan

        cfg.content = "pixel"
        modes = ["pipeline", "device"] if args.augment_modes else ["pipeline"]
        for mode in modes:
            cfg.augment_on = mode
            gan = _gan(cfg, build_model(args.arch, args.factor, channels=channels), channels, cfg.lr)
            data = hr_crop_dataset(files, pcfg) if mode == "device" else ds
            batch = next(iter(data))
            gan.make_train_function()
            fn = gan.train_function
            single = __import__("tensorflow").data.Dataset.from_tensors(batch).repeat()
            its = iter(single)
            fn(its)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                fn(its)
            rows.append((f"srgan step ({mode} augmentation)", args.steps * cfg.batch_size / (time.perf_counter() - t0)))
    else:
        model.compile(optimizer=k.optimizers.Adam(cfg.lr), loss="mse", metrics=[psnr_metric])
        model.train_on_batch(x, y)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        rows.append(("train step", args.steps * cfg.batch_size / (time.perf_counter() - t0)))
    print(f"{args.arch} x{args.factor}, batch {cfg.batch_size}, HR patch {cfg.patch_size}, {args.steps} steps")
    print(f"{'what':<34} {'patches/s':>10}")
    for name, v in rows:
        print(f"{name:<34} {v:>10.1f}")
    step = rows[1][1]
    if len(rows) > 2:  # --augment-modes: same run, same cached batch
        print(f"device / pipeline augmentation step = {rows[2][1] / step:.2f}x")
    print(f"pipeline / step = {pipe / step:.1f}x (target >= 5x)")
    return 0 if pipe / step >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
