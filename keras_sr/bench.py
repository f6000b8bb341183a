"""Latency benchmark: the Keras model (one traced ``tf.function``) vs its TFLite variants.

Timings on shared CPUs are noisy, so every number comes with the Keras baseline measured in
the same run, and results are reported as ratios to it (median and p90 over ``runs`` calls
after ``warmup`` calls). Inputs are the model's input tensor, ``[1, size, size, C]``. Each
TFLite row says which delegate ran it (``delegate``: one of
:data:`keras_sr.export.DELEGATES`), how many of its ops the delegate took
(``delegated_ops``, "k/n") and which ops were left to LiteRT's builtin kernels (``cpu_ops``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from keras_sr._backend import tf


def sample_ms(fn, runs: int, warmup: int = 0) -> list[float]:
    """Wall times of ``runs`` calls of ``fn`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def _time(fn, runs: int, warmup: int) -> dict:
    ms = np.array(sample_ms(fn, runs, warmup))
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90))}


def bench(model, sizes=(256, 512), modes=("fp32", "fp16", "dynamic", "int8"), runs: int = 10,
          warmup: int = 3, threads: int | None = None, export_dir=None, progress=None) -> dict:
    """Benchmark ``model``; exports it (raw signature only, no parity) unless ``export_dir``
    already holds ``model_<mode>.tflite`` files."""
    from keras_sr.export import ExportConfig, cpu_threads, delegate_info, interpreter, run_tflite
    from keras_sr.export.exporter import export
    from keras_sr.inference import Upscaler

    say = progress or (lambda m: None)
    t = tf()
    if threads:
        try:  # must happen before TensorFlow runs its first op
            t.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            say("note: TensorFlow is already initialised; Keras keeps its thread count")
    up = Upscaler(model)
    tmp = None
    if export_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="keras_sr_bench_")
        export_dir = Path(tmp.name) / "export"
        say("exporting")
        cfg = ExportConfig(model=model if isinstance(model, str) else up.info.source, out=str(export_dir),
                           modes=list(modes), tolerances={m: float("inf") for m in {"fp32", *modes}})
        export(cfg)
    export_dir = Path(export_dir)
    rows = []
    rng = np.random.default_rng(0)
    for size in sizes:
        x = rng.random((1, size, size, up.channels), dtype=np.float32)
        xt = t.constant(x)
        say(f"keras {size}x{size}")
        base = _time(lambda: up._fn(xt).numpy(), runs, warmup)
        rows.append({"backend": "keras fp32", "size": size, **base, "ratio_vs_keras": 1.0})
        for mode in modes:
            f = export_dir / f"model_{mode}.tflite"
            if not f.exists():
                continue
            say(f"{f.name} {size}x{size}")
            it = interpreter(path=f, threads=threads)
            res = _time(lambda: run_tflite(it, x), runs, warmup)
            d = delegate_info(it)
            rows.append({"backend": f"tflite {mode}", "size": size, **res,
                         "ratio_vs_keras": base["median_ms"] / res["median_ms"], "delegate": d["delegate"],
                         "delegated_ops": f"{d['delegated']}/{d['ops']}", "cpu_ops": d["cpu_ops"]})
    if tmp is not None:
        tmp.cleanup()
    return {"model": str(up.info.source or up.model.name), "runs": runs, "warmup": warmup,
            "threads": threads or cpu_threads(), "rows": rows}


def format_bench(result: dict) -> str:
    lines = [f"{result['model']}: median / p90 of {result['runs']} runs (ratio = Keras median / this median; "
             "> 1 is faster than Keras)",
             f"{'backend':<16} {'input':>9} {'median ms':>10} {'p90 ms':>9} {'x Keras':>8}  delegate (ops it runs)"]
    for r in result["rows"]:
        delegate = f"{r['delegate']} ({r['delegated_ops']})" if r.get("delegate") else "-"
        if r.get("cpu_ops"):
            delegate += f"; builtin kernels: {', '.join(r['cpu_ops'])}"
        lines.append(f"{r['backend']:<16} {r['size']:>4}x{r['size']:<4} {r['median_ms']:>10.2f} "
                     f"{r['p90_ms']:>9.2f} {r['ratio_vs_keras']:>8.2f}  {delegate}")
    return "\n".join(lines)
