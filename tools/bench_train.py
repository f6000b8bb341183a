#!/usr/bin/env python
"""Training throughput in one run: the network's bare step against what the trainer spends per step.

    python tools/bench_train.py                       # SRVGG 32x8 x4, realworld, 128-px crops, batch 16
    python tools/bench_train.py --trainer fp32:1 --trainer bf16:4 --epochs 6
    python tools/bench_train.py --trainer bf16:1:device --trainer bf16:4:device   # --augment-on device rows
    python tools/bench_train.py --arch fsrcnn --factor 2 --degradation bicubic --patch-size 48 --batch-size 64 --no-arch-kwargs
    python tools/bench_train.py --json out.json        # the table as JSON too

Rows, all in this one process and run (timing on a shared machine is noisy: compare ratios):

* bare step fp32 / bf16: ``tf.function`` train step (Adam, L1) of the network on one cached batch,
  no input pipeline, no callbacks (bf16: :func:`keras_sr.training.precision.with_precision`);
* degradation per batch: the pipeline's per-batch ``(input, label)`` function on a cached HR batch
  (graph mode, a new seed per batch);
* trainer PRECISION:REUSE[:AUGMENT_ON]: ``keras_sr.training.trainer.train`` (the ``keras-sr train``
  code path: tf.data, ``fit()``, validation, checkpoints, logs; ``--precision``, ``--pair-reuse``,
  ``--augment-on`` pipeline (default) or device) for ``--epochs`` whole epochs; per-step time
  = median epoch wall time (``epoch_s`` in log.csv: steps + validation + callbacks; the first
  epoch, which traces, is left out) / steps per epoch.

The ratio column is each row over the bare fp32 step (the issue-26 target: trainer bf16 <= 1.3x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time


def _bare_step_ms(model, batch, steps: int) -> float:
    import tensorflow as tf
    import keras

    x, y = batch
    opt = keras.optimizers.Adam(2e-4)
    variables = model.trainable_variables

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(tf.cast(model(x, training=True), tf.float32) - y))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    for _ in range(3):
        step(x, y).numpy()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y).numpy()
    return (time.perf_counter() - t0) / steps * 1000


def _degrade_ms(pcfg, hr_u8, batches: int) -> float:
    import tensorflow as tf

    from keras_sr.data.pipeline import MARGIN, _Pairs, degradation_seeds

    pairs = _Pairs(pcfg)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensors(hr_u8).repeat(batches + 2), degradation_seeds(0)))
    ds = ds.map(lambda x, s: pairs.from_hr(tf.cast(x, tf.float32) / 255.0, MARGIN,
                                           seed=s if pairs.deg.stochastic else None))
    it = iter(ds)
    for _ in range(2):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)[0].numpy()
    return (time.perf_counter() - t0) / batches * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="srvgg")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--filters", type=int, default=32)
    ap.add_argument("--convs", type=int, default=8)
    ap.add_argument("--no-arch-kwargs", action="store_true", help="the architecture's default size")
    ap.add_argument("--degradation", default="realworld")
    ap.add_argument("--patch-size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--data", action="append", default=[], help="training folders (default: built-in samples)")
    ap.add_argument("--steps", type=int, default=20, help="bare steps / degraded batches timed")
    ap.add_argument("--epochs", type=int, default=5, help="trainer epochs per row (the first is not counted)")
    ap.add_argument("--steps-per-epoch", type=int, help="trainer steps per epoch (default: the trainer's)")
    ap.add_argument("--trainer", action="append", metavar="PRECISION:REUSE[:AUGMENT_ON]",
                    help="trainer rows (default fp32:1 bf16:1 bf16:4); AUGMENT_ON pipeline (default) or device")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    a = ap.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from keras_sr.data.pipeline import MARGIN, PipelineConfig
    from keras_sr.models import build_model
    from keras_sr.training.config import TrainConfig
    from keras_sr.training.precision import with_precision
    from keras_sr.training.trainer import train

    kw = {} if a.no_arch_kwargs else {"filters": a.filters, "convs": a.convs}
    cfg0 = TrainConfig.resolve(a.arch, factor=a.factor, degradation=a.degradation, patch_size=a.patch_size,
                               batch_size=a.batch_size, arch_kwargs=kw)
    channels = 3 if cfg0.color_space == "rgb" else 1
    rng = np.random.default_rng(0)
    s, p, b = a.factor, a.patch_size, a.batch_size
    batch = (tf.constant(rng.random((b, p // s, p // s, channels), np.float32)),
             tf.constant(rng.random((b, p, p, channels), np.float32)))
    import skimage.data

    photo = skimage.data.astronaut() if channels == 3 else skimage.data.camera()[..., None]
    crop = p + 2 * MARGIN * s
    hr = tf.constant(np.stack([photo[y:y + crop, x:x + crop] for y, x in
                               rng.integers(0, min(photo.shape[:2]) - crop, (b, 2))]))
    pcfg = PipelineConfig(scale=s, patch_size=p, degradation=a.degradation, color_space=cfg0.color_space,
                          input_mode="lr", batch_size=b)
    rows = []

    def add(what, ms, **extra):
        rows.append(dict(what=what, ms_per_step=round(ms, 1), **extra))
        print(f"{what:<32} {ms:8.1f} ms", file=sys.stderr, flush=True)

    model = build_model(a.arch, s, channels=channels, **kw)
    add("bare step fp32", _bare_step_ms(model, batch, a.steps))
    add("bare step bf16", _bare_step_ms(with_precision(build_model(a.arch, s, channels=channels, **kw), "bf16"),
                                        batch, a.steps))
    add(f"degradation per batch ({a.degradation})", _degrade_ms(pcfg, hr, a.steps))
    for spec in a.trainer or ["fp32:1", "bf16:1", "bf16:4"]:
        precision, _, rest = spec.partition(":")
        reuse, _, augment_on = rest.partition(":")
        with tempfile.TemporaryDirectory() as out:
            cfg = TrainConfig.resolve(a.arch, factor=s, degradation=a.degradation, patch_size=p, batch_size=b,
                                      arch_kwargs=kw, data=a.data, epochs=a.epochs, precision=precision,
                                      pair_reuse=int(reuse or 1), steps_per_epoch=a.steps_per_epoch,
                                      augment_on=augment_on or "pipeline", track=["none"], out=out)
            rec = train(cfg, overwrite=True, verbose=0)
            logged = [r["epoch_s"] for r in __import__("keras_sr.training.callbacks", fromlist=["read_log"])
                      .read_log(f"{out}/log.csv")[1:]]
        add(f"trainer {precision} reuse {reuse or 1}" + (f" {augment_on}" if augment_on else ""), statistics.median(logged) / rec["steps_per_epoch"] * 1000,
            steps_per_epoch=rec["steps_per_epoch"], epochs=a.epochs)
    base = rows[0]["ms_per_step"]
    for r in rows:
        r["x_bare_fp32"] = round(r["ms_per_step"] / base, 2)
    print(f"{a.arch} x{s} {kw or ''} {a.degradation}, batch {b} x {p}px HR, {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} intra-op threads")
    print("| what | ms per step | x bare fp32 step |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['ms_per_step']:.1f} | {r['x_bare_fp32']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
