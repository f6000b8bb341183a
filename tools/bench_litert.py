#!/usr/bin/env python
"""Where LiteRT time goes for shipped models: delegate, shapes, threads, photo pre/post ops,
quantization mode, and LiteRT vs Keras; optionally exports of another source tree (before/after).

    python tools/bench_litert.py [NAME ...] [--size 512] [--rounds 5] [--per-round 3]
                                 [--before SRC]   # SRC: a keras_sr source tree, e.g. from
                                                  # git archive main | tar -x -C /tmp/main_src

Each NAME (default: abpn-x3 fsrcnn-x2 espcn-x2 espcn-x3) is exported with ``--tflite
fp32,fp16,int8 --input-size SIZExSIZE`` (parity reported, not enforced), then every variant
below runs on the same ``SIZE`` x ``SIZE`` LR input in alternating rounds (all variants of a
model, ``--per-round`` calls each, ``--rounds`` times) and is reported as its median time and
the ratio to the model's reference row (``photo_int8.tflite``, 2 threads, XNNPACK):

* delegate: XNNPACK (LiteRT's default) vs ``BUILTIN_WITHOUT_DEFAULT_DELEGATES``; which ops each
  file leaves to the builtin kernels (:func:`keras_sr.export.delegate_info`);
* shapes: the dynamic-shape file resized to SIZE vs the ``*_fixed_*`` file exported for SIZE;
* threads: 1 vs 2 (LiteRT's Python ``Interpreter`` runs 1 thread unless told);
* photo pre/post: ``photo_<mode>`` (uint8 RGB in/out, colour conversion and chroma inside) vs
  ``model_<mode>`` (the Y network alone);
* mode: int8 vs fp16 vs fp32;
* Keras: the Keras model (one traced ``tf.function``, TF limited to 2 threads) on the same input;
* ``--before SRC``: photo files exported by the keras_sr code in SRC, same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["abpn-x3", "fsrcnn-x2", "espcn-x2", "espcn-x3"]
EXPORT_SNIPPET = """
import sys
from keras_sr.export import MODES, ExportConfig
from keras_sr.export.exporter import export
export(ExportConfig(model=sys.argv[1], out=sys.argv[2], modes=["fp32", "int8"],
                    tolerances={m: float("inf") for m in MODES}, overwrite=True))
"""


def _timer(fn):
    """``timer(runs, warmup=0)`` -> wall times in ms of ``fn`` (keras_sr.bench.sample_ms)."""
    from keras_sr.bench import sample_ms

    return lambda runs, warmup=0: sample_ms(fn, runs, warmup)


def measure(name: str, size: int, rounds: int, per_round: int, work: Path, before: str | None) -> list[dict]:
    import numpy as np

    from keras_sr._backend import tf
    from keras_sr.export import MODES, ExportConfig, delegate_info, interpreter, run_tflite
    from keras_sr.export.exporter import export
    from keras_sr.inference import Upscaler
    from keras_sr.zoo import zoo_dir

    out = work / name
    print(f"{name}: exporting", file=sys.stderr, flush=True)
    report = export(ExportConfig(model=name, out=str(out), modes=["fp32", "fp16", "int8"], input_size=(size, size),
                                 tolerances={m: float("inf") for m in MODES}, overwrite=True))
    parity = {r["file"]: r for r in report["rows"]}
    rng = np.random.default_rng(0)
    photo = np.ascontiguousarray(rng.integers(0, 256, (1, size, size, 3), dtype=np.uint8))
    import skimage.data  # a natural image is the realistic input; random pixels only as filler

    nat = skimage.data.astronaut()
    reps = size // 512 + 1
    photo[0] = np.tile(nat, (reps, reps, 1))[:size, :size]
    y = (photo[..., :1].astype(np.float32) / 255.0)
    variants = []  # (label, file or None, kwargs)
    for mode in ("int8", "fp16", "fp32"):
        variants.append((f"photo {mode}", out / f"photo_{mode}.tflite", {}))
        variants.append((f"model {mode} (Y network alone)", out / f"model_{mode}.tflite", {}))
    variants += [("photo int8, 1 thread", out / "photo_int8.tflite", {"threads": 1}),
                 ("model fp32, 1 thread", out / "model_fp32.tflite", {"threads": 1}),
                 ("photo int8, XNNPACK off", out / "photo_int8.tflite", {"delegates": False}),
                 ("model fp32, XNNPACK off", out / "model_fp32.tflite", {"delegates": False}),
                 ("photo_fixed int8 (fixed shape)", out / "photo_fixed_int8.tflite", {}),
                 ("model_fixed fp32 (fixed shape)", out / "model_fixed_fp32.tflite", {})]
    if before:
        prev = work / f"{name}_before"
        print(f"{name}: exporting with {before}", file=sys.stderr, flush=True)
        src = str(zoo_dir() / f"{name}.keras")
        env = {**os.environ, "PYTHONPATH": before, "PYTHONDONTWRITEBYTECODE": "1", "KERAS_SR_ZOO_DIR": str(zoo_dir())}
        subprocess.run([sys.executable, "-c", EXPORT_SNIPPET, src, str(prev)], check=True, env=env,
                       capture_output=True, cwd=str(work))
        variants += [("photo int8, BEFORE", prev / "photo_int8.tflite", {}),
                     ("photo fp32, BEFORE", prev / "photo_fp32.tflite", {}),
                     ("model int8, BEFORE", prev / "model_int8.tflite", {})]
    timers, info = {}, {}
    for label, path, kw in variants:
        it = interpreter(path=path, threads=kw.get("threads", 2), delegates=kw.get("delegates", True))
        x = photo if label.startswith("photo") else y
        run_tflite(it, x)
        info[label] = (path.name, delegate_info(it), parity.get(path.name))
        timers[label] = _timer(lambda it=it, x=x: run_tflite(it, x))
    up = Upscaler(name)
    yt = tf().constant(y)
    timers["Keras fp32 (Y network, tf.function)"] = _timer(lambda: up._fn(yt).numpy())
    samples = {k: [] for k in timers}
    print(f"{name}: timing {len(timers)} variants at {size}x{size}", file=sys.stderr, flush=True)
    for t in timers.values():
        t(0, 1)
    for _ in range(rounds):
        for k, t in timers.items():
            samples[k] += t(per_round)
    ref = float(np.median(samples["photo int8"]))
    rows = []
    for k, v in samples.items():
        med = float(np.median(v))
        fname, d, par = info.get(k, ("", None, None))
        rows.append({"model": name, "variant": k, "file": fname, "ms": med, "vs_ref": med / ref,
                     "delegate": (f"{d['delegate']} {d['delegated']}/{d['ops']}"
                                  + (f"; builtin: {', '.join(d['cpu_ops'])}" if d["cpu_ops"] else "")) if d else "-",
                     "dpsnr": None if not par else par.get("delta_psnr_db")})
    return rows


def table(rows: list, size: int, rounds: int, per_round: int) -> str:
    lines = ["| model | variant | median ms | x photo int8 | delegate (ops it ran; left to builtin kernels) | "
             "dPSNR vs Keras (dB) |", "|---|---|---|---|---|---|"]
    for r in rows:
        d = "" if r["dpsnr"] is None else f"{r['dpsnr']:+.3f}"
        lines.append(f"| {r['model']} | {r['variant']} | {r['ms']:.0f} | {r['vs_ref']:.2f} | {r['delegate']} | {d} |")
    lines.append(f"\n{size}x{size} LR input, 2 threads unless stated, medians of {rounds} alternating rounds x "
                 f"{per_round} calls; x photo int8 = this median / the photo int8 median of the same model "
                 f"(< 1 = faster). {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=DEFAULT)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--before", help="a keras_sr source tree whose exporter makes the BEFORE rows")
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_sr._backend import tf

    tf().config.threading.set_intra_op_parallelism_threads(2)
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_sr_litert_") as tmp:
        for name in args.names:
            rows += measure(name, args.size, args.rounds, args.per_round, Path(tmp), args.before)
    text = table(rows, args.size, args.rounds, args.per_round)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
