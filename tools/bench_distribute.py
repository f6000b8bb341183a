#!/usr/bin/env python
"""Scale-out throughput in one run, printed as a markdown table:

* SRCNN training, 1 process (``fit()``, as ``--strategy default``) vs 2 loopback workers
  (``MultiWorkerMirroredStrategy`` + keras_sr's ``strategy.run`` loop, as
  ``--strategy multiworker``), same data, same global batch: steps/s and patches/s;
* the input pipeline alone: patches/s from TFRecord shards (``keras-sr prepare``) vs from
  the image folder (batches iterated after one warm-up pass fills the decode cache).

    python tools/bench_distribute.py --data ../shared/datasets/T91 [--steps 30] [--batch-size 64]

Without ``--data`` the built-in sample photos are used. Workers share this machine's cores,
so on a small CPU box 2 workers show the cost of the collectives, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def _setup(data, batch_size: int, patch_size: int, factor: int = 2):
    """(files, PipelineConfig, model builder) for SRCNN on ``data`` (Y channel, random patches)."""
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import PipelineConfig, min_image_size, scan_images
    from keras_sr.data.samples import sample_files
    from keras_sr.models import border, build_model

    files = scan_images(list_images(data) if data else sample_files(), min_image_size(patch_size, factor))
    pcfg = PipelineConfig(scale=factor, patch_size=patch_size, label_border=border(build_model("srcnn", factor)),
                          batch_size=batch_size)
    return files, pcfg


def _compiled_srcnn(strategy):
    from keras_sr._backend import keras
    from keras_sr.evaluation.metrics import psnr_metric
    from keras_sr.models import build_model

    k = keras()
    k.utils.set_random_seed(0)
    with strategy.scope():
        model = build_model("srcnn", 2)
        model.compile(optimizer=k.optimizers.Adam(3e-4), loss=k.losses.MeanSquaredError(), metrics=[psnr_metric])
    return model


def worker(args) -> None:
    """One training process: time ``--steps`` steps after a warm-up; print ``BENCH {json}``."""
    from keras_sr._backend import keras, tf
    from keras_sr.data.pipeline import training_dataset
    from keras_sr.training import distributed

    t = tf()
    strategy = distributed.multiworker_strategy() if args.worker == "multi" else None  # before any TF op
    files, pcfg = _setup(args.data, args.batch_size, args.patch_size)
    ds = training_dataset(files, pcfg)
    if strategy is None:
        model = _compiled_srcnn(t.distribute.get_strategy())
        model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)  # warm-up: trace, fill the cache
        ends = []  # end of every batch: fit()'s per-call setup stays out of the timing
        timer = keras().callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: ends.append(time.perf_counter()))
        model.fit(ds, steps_per_epoch=args.steps + 1, epochs=1, verbose=0, callbacks=[timer])
        seconds = ends[-1] - ends[0]
    else:
        model = _compiled_srcnn(strategy)
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
        steps = distributed._Steps(strategy, model, args.batch_size)
        batches = iter(distributed._distribute(strategy, ds))
        for _ in range(5):
            float(steps.train(next(batches))["loss"])
        t0 = time.perf_counter()
        for _ in range(args.steps):
            values = steps.train(next(batches))
        float(values["loss"])
        seconds = time.perf_counter() - t0
    if strategy is None or distributed.is_chief(strategy):
        print("BENCH " + json.dumps({"steps_per_s": args.steps / seconds,
                                     "patches_per_s": args.steps * args.batch_size / seconds}), flush=True)


def _run_training(args, workers: int) -> dict:
    common = ["--steps", str(args.steps), "--batch-size", str(args.batch_size), "--patch-size", str(args.patch_size)]
    for d in args.data:
        common += ["--data", str(d)]
    me = [sys.executable, str(Path(__file__).resolve())]
    if workers == 1:
        cmd = [*me, "--worker", "single", *common]
    else:
        cmd = [sys.executable, str(TOOLS / "launch_local_workers.py"), str(workers), "--", *me, "--worker", "multi",
               *common]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line.split("BENCH ", 1)[1] for line in proc.stdout.splitlines() if "BENCH " in line]
    if proc.returncode or not lines:
        raise SystemExit(f"benchmark run failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return json.loads(lines[0])


def _pipeline_rate(files, pcfg, batches: int) -> float:
    """Patches/s of the training pipeline (after one warm-up pass of ``batches``)."""
    from keras_sr.data.pipeline import training_dataset

    it = iter(training_dataset(files, pcfg))
    for _ in range(batches):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * pcfg.batch_size / (time.perf_counter() - t0)


def pipelines(args) -> dict:
    """Patches/s reading TFRecord shards vs the image folder (same images)."""
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import Shards, min_image_size
    from keras_sr.data.samples import sample_files
    from keras_sr.data.shards import prepare

    files, pcfg = _setup(args.data, args.batch_size, args.patch_size)
    sources = list(args.data) or [str(Path(sample_files()[0]).parent)]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = prepare(sources, Path(tmp) / "shards", shard_mb=4, factor=2)
        assert manifest["count"] == len(list_images(sources))
        shards = Shards(str(Path(tmp) / "shards"), manifest["count"], 0, False, min_image_size(args.patch_size, 2))
        return {"shards": _pipeline_rate(shards, pcfg, args.pipeline_batches),
                "folder": _pipeline_rate(files, pcfg, args.pipeline_batches),
                "shard_files": len(manifest["shards"]), "images": manifest["count"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", default=[], help="image folder (default: built-in samples)")
    ap.add_argument("--steps", type=int, default=30, help="timed training steps per setting")
    ap.add_argument("--batch-size", type=int, default=64, help="global batch (patches per step)")
    ap.add_argument("--patch-size", type=int, default=32)
    ap.add_argument("--pipeline-batches", type=int, default=50)
    ap.add_argument("--worker", choices=["single", "multi"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return 0
    one, two = _run_training(args, 1), _run_training(args, 2)
    rates = pipelines(args)
    data = ", ".join(args.data) or "built-in samples"
    print(f"SRCNN x2, {data}: global batch {args.batch_size}, {args.patch_size} px patches, {args.steps} timed steps\n")
    print("| setting | steps/s | patches/s |\n|---|---:|---:|")
    print(f"| 1 process, fit() | {one['steps_per_s']:.2f} | {one['patches_per_s']:.0f} |")
    print(f"| 2 loopback workers, strategy.run loop | {two['steps_per_s']:.2f} | {two['patches_per_s']:.0f} |")
    print(f"| input pipeline alone, TFRecord shards ({rates['shard_files']} files, {rates['images']} images) "
          f"| - | {rates['shards']:.0f} |")
    print(f"| input pipeline alone, image folder | - | {rates['folder']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
