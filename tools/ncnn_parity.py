"""Parity and speed of ncnn models imported with keras_sr.importers.ncnn, against the ncnn
Python package on CPU (the reference runtime; pip install ncnn).

    python tools/ncnn_parity.py [--folder ../shared/weights/realesrgan-ncnn] [--size 32]

For each ``*.param`` in the folder: import time (TensorFlow already imported), parameters,
detected architecture; max |Keras - ncnn| on a ``size`` x ``size`` crop of Set5 baby (RGB,
[0, 1]) for three ncnn option sets (defaults; fp16 storage/arithmetic off; fp16 off + direct
convolution: no Winograd/sgemm, no packed layout); Keras CPU time of one 64x64 input (median
of 3 ``predict`` calls after a warm-up). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OPTIONS = {
    "defaults": {},
    "fp16 off": dict(use_fp16_storage=False, use_fp16_arithmetic=False, use_fp16_packed=False),
    "fp16 off, direct conv": dict(use_fp16_storage=False, use_fp16_arithmetic=False, use_fp16_packed=False,
                                  use_winograd_convolution=False, use_sgemm_convolution=False,
                                  use_packing_layout=False),
}


def run_ncnn(param: Path, x_hwc: np.ndarray, **opts) -> np.ndarray:
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    for k, v in opts.items():
        setattr(net.opt, k, v)
    if net.load_param(str(param)) or net.load_model(str(param.with_suffix(".bin"))):
        raise SystemExit(f"ncnn cannot load {param}")
    chw = np.ascontiguousarray(x_hwc.transpose(2, 0, 1), np.float32)
    mat = ncnn.Mat(chw)  # wraps chw's memory
    ex = net.create_extractor()
    ex.input("data", mat)
    rc, out = ex.extract("output")
    if rc:
        raise SystemExit(f"ncnn extract failed ({rc})")
    return np.array(out).copy().transpose(1, 2, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "weights" / "realesrgan-ncnn")
    ap.add_argument("--image", type=Path, default=REPO.parent / "shared" / "datasets" / "Set5" / "baby_GT.bmp")
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()

    import ncnn
    from PIL import Image

    from keras_sr._backend import keras
    from keras_sr.importers.ncnn import load_ncnn

    keras()
    img = np.asarray(Image.open(args.image).convert("RGB"))
    x = img[200:200 + args.size, 200:200 + args.size].astype(np.float32) / 255.0
    x64 = img[100:164, 100:164].astype(np.float32)[None] / 255.0
    print(f"ncnn {ncnn.__version__}, {platform.processor() or platform.machine()}, "
          f"input {args.size}x{args.size} crop of {args.image.name}\n")
    print("| model | arch | params | storage | load s | " + " | ".join(f"max abs vs ncnn ({k})" for k in OPTIONS)
          + " | ncnn defaults vs fp16 off | Keras CPU s (64x64) |")
    print("|---" * (7 + len(OPTIONS)) + "|")
    for param in sorted(args.folder.glob("*.param")):
        t = time.perf_counter()
        model = load_ncnn(param)
        load_s = time.perf_counter() - t
        y = np.asarray(model(x[None], training=False))[0]
        refs = {k: run_ncnn(param, x, **o) for k, o in OPTIONS.items()}
        diffs = [f"{np.abs(y - r).max():.2e}" for r in refs.values()]
        between = np.abs(refs["defaults"] - refs["fp16 off"]).max()
        model.predict(x64, verbose=0)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            model.predict(x64, verbose=0)
            times.append(time.perf_counter() - t)
        info = model.sr_info
        print(f"| {param.stem} | {info.architecture} x{info.scale} | {model.count_params():,} | "
              f"{info.record['storage']} | {load_s:.1f} | " + " | ".join(diffs)
              + f" | {between:.2e} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
