"""Data cost of the realworld degradation: time to degrade one batch of HR patches in the
``tf.data`` path (``--augment-on pipeline``) vs plain bicubic, same run, same batch.

    python tools/bench_realworld.py [--batch 16] [--size 256] [--factor 4] [--batches 20]

Each degradation runs as the pipeline maps it (graph mode, one seed per batch); the first
batch (tracing) is not timed. Prints ms per batch and the realworld / bicubic ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--batches", type=int, default=20)
    a = ap.parse_args()
    import skimage.data
    import tensorflow as tf

    from keras_sr.data.pipeline import PipelineConfig, _Pairs, degradation_seeds

    photo = np.concatenate([skimage.data.astronaut()[:400], skimage.data.coffee()], axis=1)
    rng = np.random.default_rng(0)
    crops = [photo[y:y + a.size, x:x + a.size] for y, x in
             zip(rng.integers(0, photo.shape[0] - a.size, a.batch), rng.integers(0, photo.shape[1] - a.size, a.batch))]
    hr = tf.constant(np.stack(crops))
    out = {}
    for name in ("bicubic", "realworld"):
        cfg = PipelineConfig(scale=a.factor, patch_size=a.size, degradation=name, color_space="rgb",
                             input_mode="lr", batch_size=a.batch)
        pairs = _Pairs(cfg)
        ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensors(hr).repeat(a.batches + 1), degradation_seeds(0)))
        ds = ds.map(lambda x, s: pairs.from_hr(tf.cast(x, tf.float32) / 255.0, seed=s)[0])
        it = iter(ds)
        next(it)  # trace + first run
        t0 = time.perf_counter()
        for _ in range(a.batches):
            next(it).numpy()
        out[name] = (time.perf_counter() - t0) / a.batches * 1000
        print(f"{name:10s} {out[name]:8.1f} ms per batch of {a.batch} x {a.size}x{a.size} HR (x{a.factor})", flush=True)
    print(f"ratio realworld / bicubic: {out['realworld'] / out['bicubic']:.1f}")


if __name__ == "__main__":
    main()
