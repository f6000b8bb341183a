#!/usr/bin/env python
"""A distilled student against its teacher in LiteRT, one run: median ms on one input size.

    python tools/bench_student.py STUDENT_EXPORT TEACHER_EXPORT [--size 256] [--runs 10]
        [--student-file photo_int8.tflite] [--teacher-file model_fp32.tflite --teacher-file photo_int8.tflite]

Both arguments are `keras-sr export` folders. The student file and every teacher file (repeatable
--teacher-file; default: the teacher's fp32 file and its int8 photo file, so int8 is compared with
int8 in the same run) are timed alternately (one call each per round, after 3 warm-up calls), all
cores, XNNPACK on; photo files get a uint8 RGB image, raw files a float32 one of the same size.
Prints the table and each teacher file / student ratio. Timing does not need a good int8 file:
export the teacher with a loose tolerance if its int8 parity fails (`keras-sr export TEACHER
--tflite fp32,int8 --tolerance int8=99`) and say so next to its time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("student", type=Path)
    ap.add_argument("teacher", type=Path)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--student-file", default="photo_int8.tflite")
    ap.add_argument("--teacher-file", action="append", dest="teacher_files",
                    help="file in TEACHER_EXPORT (repeatable; default model_fp32.tflite and photo_int8.tflite)")
    a = ap.parse_args(argv)
    import time

    import numpy as np

    from keras_sr.export import cpu_threads, interpreter, run_tflite

    rng = np.random.default_rng(0)
    teacher_files = a.teacher_files or ["model_fp32.tflite", "photo_int8.tflite"]
    files = {"student": a.student / a.student_file}
    files.update({f"teacher {Path(f).stem}": a.teacher / f for f in teacher_files})
    runners = {}
    for who, path in files.items():
        if not path.is_file():
            print(f"Error: no such file: {path}", file=sys.stderr)
            return 2
        it = interpreter(path=path)
        photo = it.get_input_details()[0]["dtype"] == np.uint8
        x = (rng.integers(0, 256, (1, a.size, a.size, 3), dtype=np.uint8) if photo
             else rng.random((1, a.size, a.size, 3), dtype=np.float32))
        runners[who] = (it, x)
        for _ in range(3):
            run_tflite(it, x)
    ms = {who: [] for who in runners}
    for _ in range(a.runs):
        for who, (it, x) in runners.items():
            t0 = time.perf_counter()
            run_tflite(it, x)
            ms[who].append((time.perf_counter() - t0) * 1000)
    med = {who: float(np.median(v)) for who, v in ms.items()}
    print(f"LiteRT, {cpu_threads()} threads, {a.size}x{a.size} input, {a.runs} alternating rounds")
    print("| model | file | median ms |")
    print("|---|---|---|")
    for who in runners:
        print(f"| {who} | {files[who].parent.name}/{files[who].name} | {med[who]:.1f} |")
    for who in runners:
        if who != "student":
            print(f"{who} / student = {med[who] / med['student']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
