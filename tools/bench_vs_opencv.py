#!/usr/bin/env python
"""keras_sr's LiteRT photo pipeline vs OpenCV ``dnn_superres`` (FSRCNN, FSRCNN-small, ESPCN):
speed and quality, same run.

    python tools/bench_vs_opencv.py [--model x2=NAME[:MODE] ...] [--sizes 512,1024] [--threads 2]
                                    [--quick] [--out table.md] [--venv PATH]
    python tools/bench_vs_opencv.py --candidates [--scales 2,4] [--sizes 512]   # model-size sweep

What is compared, per scale: the shipped keras_sr model of that scale exported with
``keras-sr export`` (int8 when it passes the int8 parity tolerance, else fp16: the table says
which) and run as its end-to-end ``photo_<mode>.tflite`` (uint8 RGB in -> uint8 RGB out: colour
conversion, the Y model and chroma upscaling inside the graph) vs OpenCV's
``DnnSuperResImpl.upsample`` (uint8 BGR in -> out; it converts to YCrCb, runs the net on Y and
upscales the chroma with ``cv2.resize`` bicubic itself) with the FSRCNN, FSRCNN-small and ESPCN
frozen graphs of ../shared/peers/opencv_dnn_superres.

Speed: both run with ``--threads`` CPU threads on the same uint8 LR photo (``--sizes`` square,
a natural image), in alternating rounds (ours, then each peer, ``--per-round`` calls each,
``--rounds`` times) so machine load hits all of them alike; the median of all calls is
reported, and the **speed ratio = peer median time / ours (> 1 = keras_sr faster)**.
Each call is timed around the call alone (LiteRT: set input, invoke, read output; OpenCV:
``upsample``), without any RGB/BGR flip.

Quality: every image of Set5 and Set14 is mod-cropped to the scale, downscaled with MATLAB
bicubic (keras_sr's ``bicubic`` degradation) on RGB and rounded to uint8: that one LR photo
goes to both (BGR-flipped for OpenCV), and both uint8 RGB outputs are scored identically:
Y of MATLAB ``rgb2ycbcr`` (BT.601; gray images: channel 0, as ``keras-sr evaluate``), ``scale``
px shaved, PSNR/SSIM of :mod:`keras_sr.evaluation.metrics`. The LR is 8-bit RGB here (a photo),
so these numbers sit slightly below the model cards' (float-Y LR, the paper protocol).

OpenCV runs in a venv of its own (``opencv-contrib-python==4.14.0.94``, created under
``~/.cache/keras_sr/opencv-venv`` or ``--venv`` on first use; 5.x cannot read these .pb files)
through a worker subprocess, so keras_sr's environment never imports cv2. When the peers
folder is absent or OpenCV cannot be installed, the OpenCV columns are skipped with the
reason and the script still exits 0.

``--candidates``: speed of the int8 photo pipeline of random-weight (untrained) candidate
architectures (ABPN widths/depths, ESPCN, FSRCNN-s) vs OpenCV FSRCNN of the same scale, same
run, with their multiply-adds per LR pixel: which model size can beat FSRCNN by a margin.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KERAS_SR_SHARED", ROOT.parent / "shared"))
OPENCV_PIN = "opencv-contrib-python==4.14.0.94"
OPENCV_VERSION = "4.14.0"
DEFAULT_VENV = Path.home() / ".cache" / "keras_sr" / "opencv-venv"
PEERS = {"FSRCNN": ("fsrcnn", "FSRCNN_x{s}.pb"), "FSRCNN-small": ("fsrcnn", "FSRCNN-small_x{s}.pb"),
         "ESPCN": ("espcn", "ESPCN_x{s}.pb")}
# Best shipped model per scale that keras-sr export can run end to end; int8 when it passes.
DEFAULT_MODELS = {2: "abpn-x2", 3: "abpn-x3", 4: "abpn-x4"}
DATASETS = ("Set5", "Set14")
# (label, architecture, builder kwargs) of the --candidates sweep
CANDIDATES = [("abpn 28x5", "abpn", dict(filters=28, convs=5)), ("abpn 16x4", "abpn", dict(filters=16, convs=4)),
              ("abpn 16x3", "abpn", dict(filters=16, convs=3)), ("abpn 12x4", "abpn", dict(filters=12, convs=4)),
              ("abpn 8x3", "abpn", dict(filters=8, convs=3)), ("espcn 64/32", "espcn", {}),
              ("fsrcnn-s 32/5/1", "fsrcnn-s", {})]


# --- OpenCV worker (runs in the OpenCV venv: numpy + cv2 only) --------------------------------
def worker_main() -> int:
    """JSON lines on stdin -> JSON lines on stdout. Commands: ``threads``, ``load``,
    ``upsample`` (npy in -> npy out) and ``time`` (milliseconds of each ``upsample`` call)."""
    import cv2
    import numpy as np

    nets = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            cmd = req["cmd"]
            if cmd == "threads":
                cv2.setNumThreads(int(req["n"]))
                out = {"version": cv2.__version__}
            elif cmd == "load":
                sr = cv2.dnn_superres.DnnSuperResImpl_create()
                sr.readModel(req["path"])
                sr.setModel(req["algo"], int(req["scale"]))
                nets[req["key"]] = sr
                out = {}
            elif cmd == "upsample":
                np.save(req["out"], nets[req["key"]].upsample(np.load(req["in"])))
                out = {}
            elif cmd == "time":
                img, sr, ms = np.load(req["in"]), nets[req["key"]], []
                for _ in range(int(req["warmup"])):
                    sr.upsample(img)
                for _ in range(int(req["runs"])):
                    t0 = time.perf_counter()
                    sr.upsample(img)
                    ms.append((time.perf_counter() - t0) * 1000)
                out = {"ms": ms}
            elif cmd == "quit":
                return 0
            else:
                out = {"error": f"unknown command {cmd}"}
        except Exception as exc:  # reported to the parent, which raises
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
    return 0


def ensure_opencv(venv: Path, peers: Path, install: bool = True) -> tuple[str | None, str]:
    """(python of a venv with OpenCV 4.14 contrib, "") or (None, why not)."""
    if not peers.is_dir() or not any(peers.glob("*.pb")):
        return None, f"OpenCV peers folder absent: {peers} (../shared not available)"
    py = venv / "bin" / "python"
    probe = ("import cv2, sys; sys.exit(0 if cv2.__version__ == %r and hasattr(cv2, 'dnn_superres') else 3)"
             % OPENCV_VERSION)

    def ok() -> bool:
        return py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0

    if ok():
        return str(py), ""
    if not install:
        return None, f"no OpenCV {OPENCV_VERSION} venv at {venv}"
    print(f"installing {OPENCV_PIN} into {venv} ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", OPENCV_PIN], capture_output=True, text=True,
                           timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"cannot create the OpenCV venv at {venv}: {exc}"
    if r.returncode:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"pip install {OPENCV_PIN} failed: {last}"
    return (str(py), "") if ok() else (None, f"{OPENCV_PIN} installed but cv2.dnn_superres does not import")


class OpenCVWorker:
    """The OpenCV side, in its own process and venv."""

    def __init__(self, python: str, threads: int, work: Path):
        self.work = work
        self.proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=str(work))
        self.version = self._ask(cmd="threads", n=threads)["version"]
        self._n = 0

    def _ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the OpenCV worker exited")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"OpenCV worker: {out['error']}")
        return out

    def _npy(self, array) -> str:
        import numpy as np

        self._n += 1
        path = self.work / f"in{self._n}.npy"
        np.save(path, np.ascontiguousarray(array))
        return str(path)

    def load(self, key: str, algo: str, scale: int, path: Path) -> None:
        self._ask(cmd="load", key=key, algo=algo, scale=scale, path=str(path))

    def upsample_rgb(self, key: str, rgb):
        """uint8 RGB [h, w, 3] -> uint8 RGB [sh, sw, 3] (OpenCV works on BGR)."""
        import numpy as np

        out = self.work / "out.npy"
        self._ask(cmd="upsample", key=key, **{"in": self._npy(rgb[..., ::-1]), "out": str(out)})
        return np.load(out)[..., ::-1]

    def timer(self, key: str, bgr):
        path = self._npy(bgr)
        return lambda runs, warmup=0: self._ask(cmd="time", key=key, runs=runs, warmup=warmup, **{"in": path})["ms"]

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.SubprocessError):
            self.proc.kill()


# --- ours ----------------------------------------------------------------------------------------
def export_ours(model: str, mode: str | None, work: Path, input_size=None) -> dict:
    """Export ``model`` (int8 and fp16 unless ``mode`` is forced) and pick the photo file:
    int8 when the photo_int8 file (the one benchmarked) is within the int8 tolerance, else
    fp16 (with the reason)."""
    from keras_sr.export import MODES, TOLERANCES, ExportConfig
    from keras_sr.export.exporter import export

    modes = [mode] if mode else ["int8", "fp16"]
    out = work / model.replace("/", "_")
    report = export(ExportConfig(model=model, out=str(out), modes=modes, input_size=input_size, overwrite=True,
                                 tolerances={m: float("inf") for m in MODES}))
    note = ""
    chosen = modes[0]
    if not mode:
        row = next(r for r in report["rows"] if r["file"] == "photo_int8.tflite")
        loss = -(row["delta_psnr_db"] or 0.0)
        if loss > TOLERANCES["int8"]:
            chosen, note = "fp16", f"int8 refused: -{loss:.2f} dB vs Keras"
    return {"model": model, "mode": chosen, "note": note, "dir": out}


def photo_runner(path: Path, threads: int):
    from keras_sr.export import interpreter, run_tflite

    it = interpreter(path=path, threads=threads)
    return it, (lambda rgb: run_tflite(it, rgb[None])[0])


def in_process_timer(fn):
    """``timer(runs, warmup=0)`` -> wall times in ms of ``fn`` (keras_sr.bench.sample_ms)."""
    from keras_sr.bench import sample_ms

    return lambda runs, warmup=0: sample_ms(fn, runs, warmup)


def alternate(timers: dict, rounds: int, per_round: int, warmup: int = 1) -> dict:
    """``{name: timer(runs, warmup) -> [ms]}`` -> ``{name: all samples}``, in alternating rounds."""
    samples = {k: [] for k in timers}
    for name, timer in timers.items():
        timer(0, warmup)
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name] += timer(per_round)
    return samples


def test_photo(size: int):
    """A natural uint8 RGB photo ``size`` x ``size`` (astronaut, mirrored to tile larger sizes)."""
    import numpy as np
    import skimage.data

    base = skimage.data.astronaut()
    tile = np.concatenate([base, base[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = size // tile.shape[0] + 1
    return np.ascontiguousarray(np.tile(tile, (reps, reps, 1))[:size, :size])


# --- quality ----------------------------------------------------------------------------------
def quality(folder: Path, scale: int, runners: dict) -> dict:
    """``{name: fn(lr_rgb_uint8) -> sr_rgb_uint8}`` -> ``{name: {"psnr", "ssim"}}`` means over
    ``folder`` (plus ``bicubic``), every runner fed the same 8-bit LR photo, scored alike."""
    import numpy as np

    from keras_sr.data.color import y_of_uint8
    from keras_sr.data.degradations import get_degradation
    from keras_sr.data.io import list_images, read_image
    from keras_sr.evaluation import metrics
    from keras_sr.evaluation.protocol import modcrop

    deg = get_degradation("bicubic")
    scores: dict = {name: {"psnr": [], "ssim": []} for name in ["bicubic", *runners]}
    for path in list_images([folder]):
        hr = read_image(path)
        hr = modcrop(hr[..., :3] if hr.ndim == 3 else hr, scale)
        gray = hr.ndim == 2
        rgb = np.repeat(hr[..., None], 3, axis=2) if gray else hr
        lr = np.asarray(deg.downscale(rgb.astype(np.float32) / 255.0, scale, quantize_output=True))
        lr8 = np.round(lr * 255).astype(np.uint8)
        outs = {"bicubic": np.round(np.clip(np.asarray(deg.upscale(lr, size=hr.shape[:2])), 0, 1) * 255)
                .astype(np.uint8)}
        outs.update({name: np.asarray(fn(lr8)) for name, fn in runners.items()})
        ref = hr.astype(np.float64) if gray else y_of_uint8(hr, "y-bt601")
        for name, out in outs.items():
            if out.shape != rgb.shape:
                raise RuntimeError(f"{name}: output {out.shape} != {rgb.shape} for {path.name}")
            y = out[..., 0].astype(np.float64) if gray else y_of_uint8(out, "y-bt601")
            scores[name]["psnr"].append(metrics.psnr(ref, y, shave=scale))
            scores[name]["ssim"].append(metrics.ssim(ref, y, shave=scale))
    return {name: {k: float(np.mean(v)) for k, v in s.items()} for name, s in scores.items()}


# --- report -----------------------------------------------------------------------------------
def _ms(v) -> str:
    return "-" if v is None else f"{v:.0f}"


def format_report(result: dict) -> str:
    """Markdown: one row per scale x peer (speed ratio per size, medians, PSNR/SSIM both),
    then the notes (skips, model choices, how it was measured)."""
    sizes = result["sizes"]
    head = ["scale", "keras_sr (LiteRT photo)", "OpenCV peer"]
    head += [f"speed ratio {s}²" for s in sizes]
    head += [f"median ms ours / peer {s}²" for s in sizes]
    head += [f"{d} PSNR / SSIM {who}" for d in result["datasets"] for who in ("ours", "peer")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sc in result["scales"]:
        ours = sc["ours"]
        label = f"{ours['model']} {ours['mode']}" + (f" ({ours['note']})" if ours.get("note") else "")
        peers = sc["peers"] or [{"peer": f"skipped: {result.get('opencv_skipped') or 'no peer'}"}]
        for p in peers:
            cells = [f"x{sc['scale']}", label, p["peer"]]
            for s in sizes:
                t = (p.get("speed") or {}).get(str(s))
                cells.append("-" if not t else f"{t['peer_ms'] / t['ours_ms']:.2f}x")
            for s in sizes:
                t = (p.get("speed") or {}).get(str(s))
                ours_ms = (sc.get("ours_speed") or {}).get(str(s))
                cells.append(f"{_ms(ours_ms)} / {_ms(t['peer_ms'] if t else None)}")
            for d in result["datasets"]:
                q = sc.get("quality", {}).get(d) or {}
                for who in ("ours", p["peer"]):
                    v = q.get(who)
                    cells.append(f"{v['psnr']:.2f} / {v['ssim']:.4f}" if v else "-")
            lines.append("| " + " | ".join(cells) + " |")
    bic = [f"x{sc['scale']} " + ", ".join(f"{d} {q['bicubic']['psnr']:.2f} / {q['bicubic']['ssim']:.4f}"
                                          for d, q in sc.get("quality", {}).items())
           for sc in result["scales"] if sc.get("quality")]
    notes = [
        "",
        f"Speed ratio = OpenCV median time / keras_sr median time (> 1 = keras_sr faster), measured in "
        f"the same run, alternating ({result['rounds']} rounds x {result['per_round']} calls each), "
        f"{result['threads']} threads, uint8 RGB LR photo of the given size in, uint8 out "
        f"(LiteRT {result.get('litert', '?')}, OpenCV {result.get('opencv') or '-'}, {result.get('machine', '')}).",
        "Quality: Y (BT.601) PSNR dB / SSIM, scale px shaved, both fed the same MATLAB-bicubic 8-bit RGB LR "
        "photo (OpenCV upscales the chroma itself; keras_sr inside its photo graph)"
        + (f"; bicubic on the same LR: {'; '.join(bic)}." if bic else "."),
    ]
    if result.get("opencv_skipped"):
        notes.append(f"OpenCV columns skipped: {result['opencv_skipped']}.")
    for sc in result["scales"]:
        if sc["ours"].get("delegate"):
            notes.append(f"x{sc['scale']} {sc['ours']['model']}: {sc['ours']['delegate']}.")
    notes.append(f"Command: `{result.get('command', 'python tools/bench_vs_opencv.py')}`")
    return "\n".join(lines + notes)


def format_candidates(result: dict) -> str:
    sizes = result["sizes"]
    head = ["scale", "architecture (random weights, int8 photo)", "MACs / LR px"]
    head += [f"ms {s}²" for s in sizes] + [f"x FSRCNN {s}²" for s in sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["rows"]:
        cells = [f"x{r['scale']}", r["label"], f"{r['macs']:,.0f}"]
        cells += [_ms(r["ms"].get(str(s))) for s in sizes]
        cells += ["-" if r["ratio"].get(str(s)) is None else f"{r['ratio'][str(s)]:.2f}x" for s in sizes]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "x FSRCNN = OpenCV FSRCNN (same scale) median time / this model's (> 1 = faster), same run, "
              f"alternating, {result['threads']} threads, {result['rounds']} rounds x {result['per_round']} calls. "
              "OpenCV rows: its own models for reference (MACs of the same architecture built here)."]
    if result.get("opencv_skipped"):
        lines.append(f"OpenCV columns skipped: {result['opencv_skipped']}.")
    lines.append(f"Command: `{result.get('command', '')}`")
    return "\n".join(lines)


def write_text(path: Path, text: str) -> None:
    """Write atomically (temp file in the same folder, then replace)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.resolve().parent))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- runs -------------------------------------------------------------------------------------
def _opencv(args, work: Path):
    if args.no_opencv:
        return None, "disabled by --no-opencv"
    py, why = ensure_opencv(Path(args.venv), Path(args.peers))
    if py is None:
        return None, why
    try:
        return OpenCVWorker(py, args.threads, work), ""
    except (OSError, RuntimeError) as exc:
        return None, f"OpenCV worker failed to start: {exc}"


def _machine() -> str:
    return f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.1f}"


def run_compare(args, work: Path) -> dict:
    from keras_sr.export import delegate_info, run_tflite

    choice = dict(DEFAULT_MODELS)
    forced = {}
    for spec in args.model or []:
        key, _, value = spec.partition("=")
        if not key.startswith("x") or not key[1:].isdigit() or not value:
            raise SystemExit(f"error: --model expects x2=NAME[:MODE], got {spec!r}")
        name, _, mode = value.partition(":")
        choice[int(key[1:])] = name
        forced[int(key[1:])] = mode or None
    scales = [int(s) for s in args.scales.split(",")]
    cv, skipped = _opencv(args, work)
    result = {"sizes": args.sizes, "datasets": [d for d in DATASETS if (Path(args.data) / d).is_dir()],
              "rounds": args.rounds, "per_round": args.per_round, "threads": args.threads, "scales": [],
              "opencv": cv.version if cv else None, "opencv_skipped": skipped, "machine": _machine(),
              "litert": _litert_version(), "command": " ".join(["python tools/bench_vs_opencv.py", *sys.argv[1:]])}
    try:
        for s in scales:
            print(f"x{s}: exporting {choice[s]}", file=sys.stderr, flush=True)
            ours = export_ours(choice[s], forced.get(s), work)
            photo = ours["dir"] / f"photo_{ours['mode']}.tflite"
            it, fn = photo_runner(photo, args.threads)
            peers = []
            if cv:
                for peer, (algo, pattern) in PEERS.items():
                    pb = Path(args.peers) / pattern.format(s=s)
                    if pb.exists():
                        cv.load(f"{peer}x{s}", algo, s, pb)
                        peers.append(peer)
            sc = {"scale": s, "ours": {k: v for k, v in ours.items() if k != "dir"}, "ours_speed": {},
                  "peers": [{"peer": p, "speed": {}} for p in peers], "quality": {}}
            for size in args.sizes:
                img = test_photo(size)
                timers = {"ours": in_process_timer(lambda img=img: run_tflite(it, img[None]))}
                for p in peers:
                    timers[p] = cv.timer(f"{p}x{s}", img[..., ::-1])
                print(f"x{s} {size}x{size}: timing {', '.join(timers)}", file=sys.stderr, flush=True)
                samples = alternate(timers, args.rounds, args.per_round)
                med = {k: float(_median(v)) for k, v in samples.items()}
                sc["ours_speed"][str(size)] = med["ours"]
                for entry in sc["peers"]:
                    entry["speed"][str(size)] = {"ours_ms": med["ours"], "peer_ms": med[entry["peer"]]}
            d = delegate_info(it)
            sc["ours"]["delegate"] = (f"{d['delegate']} ran {d['delegated']}/{d['ops']} ops in {d['partitions']} "
                                      f"partition(s)" + (f"; builtin kernels: {', '.join(d['cpu_ops'])}"
                                                         if d["cpu_ops"] else ""))
            _, qfn = photo_runner(photo, args.threads)
            runners = {"ours": qfn}
            for p in peers:
                runners[p] = (lambda lr, key=f"{p}x{s}": cv.upsample_rgb(key, lr))
            for ds in result["datasets"]:
                print(f"x{s} {ds}: scoring", file=sys.stderr, flush=True)
                sc["quality"][ds] = quality(Path(args.data) / ds, s, runners)
            result["scales"].append(sc)
    finally:
        if cv:
            cv.close()
    return result


def _median(v):
    import numpy as np

    return np.median(np.asarray(v, np.float64))


def _litert_version() -> str:
    try:
        from importlib.metadata import version

        return version("ai-edge-litert")
    except Exception:  # noqa: BLE001 - informational only
        return "?"


def run_candidates(args, work: Path) -> dict:
    from keras_sr.export import MODES, ExportConfig, run_tflite
    from keras_sr.export.exporter import export
    from keras_sr.models import ModelInfo, build_model, fsrcnn, fsrcnn_s, save_with_info
    from keras_sr.models.cost import macs_per_output_pixel

    cv, skipped = _opencv(args, work)
    scales = [int(s) for s in args.scales.split(",")]
    result = {"sizes": args.sizes, "rounds": args.rounds, "per_round": args.per_round, "threads": args.threads,
              "rows": [], "opencv_skipped": skipped, "machine": _machine(),
              "command": " ".join(["python tools/bench_vs_opencv.py", *sys.argv[1:]])}
    try:
        for s in scales:
            timers, macs = {}, {}
            for label, arch, kwargs in CANDIDATES:
                model = build_model(arch, s, **kwargs)
                macs[label] = macs_per_output_pixel(model) * s * s
                path = save_with_info(model, work / f"{arch}_{label.split()[-1]}_x{s}.keras".replace("/", "-"),
                                      ModelInfo(arch, s, input_mode="lr", color_space="y-bt601"))
                out = work / f"{path.stem}_export"
                print(f"x{s} {label}: exporting int8", file=sys.stderr, flush=True)
                export(ExportConfig(model=str(path), out=str(out), modes=["int8"], overwrite=True,
                                    tolerances={m: float("inf") for m in MODES}))
                it, _ = photo_runner(out / "photo_int8.tflite", args.threads)
                for size in args.sizes:
                    img = test_photo(size)
                    timers[(label, size)] = in_process_timer(lambda it=it, img=img: run_tflite(it, img[None]))
            peers = {}
            if cv:
                for peer, builder in (("FSRCNN", fsrcnn), ("FSRCNN-small", fsrcnn_s)):
                    algo, pattern = PEERS[peer]
                    cv.load(f"{peer}x{s}", algo, s, Path(args.peers) / pattern.format(s=s))
                    peers[peer] = macs_per_output_pixel(builder(s)) * s * s
                    for size in args.sizes:
                        timers[(f"OpenCV {peer}", size)] = cv.timer(f"{peer}x{s}", test_photo(size)[..., ::-1])
            med = {}
            for size in args.sizes:
                sub = {k: v for k, v in timers.items() if k[1] == size}
                print(f"x{s} {size}x{size}: timing {len(sub)} pipelines", file=sys.stderr, flush=True)
                med.update({k: float(_median(v)) for k, v in alternate(sub, args.rounds, args.per_round).items()})
            rows = [(label, macs[label]) for label, _, _ in CANDIDATES] + [(f"OpenCV {p}", m) for p, m in peers.items()]
            for label, m in rows:
                ms = {str(z): med[(label, z)] for z in args.sizes}
                ref = {str(z): med.get(("OpenCV FSRCNN", z)) for z in args.sizes}
                result["rows"].append({"scale": s, "label": label, "macs": m, "ms": ms,
                                       "ratio": {z: (ref[z] / ms[z] if ref[z] else None) for z in ms}})
    finally:
        if cv:
            cv.close()
    return result


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", metavar="xS=NAME[:MODE]",
                    help="keras_sr model per scale (default: " + ", ".join(f"x{k}={v}" for k, v in
                                                                          DEFAULT_MODELS.items()) + ")")
    ap.add_argument("--scales", default="2,3,4")
    ap.add_argument("--sizes", default="512,1024", help="LR sizes (square), comma-separated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2 rounds x 2 calls")
    ap.add_argument("--candidates", action="store_true", help="model-size sweep (random weights) instead")
    ap.add_argument("--out", help="also write the markdown table here")
    ap.add_argument("--json", help="write the raw result as JSON here")
    ap.add_argument("--venv", default=str(DEFAULT_VENV), help="OpenCV venv (created if missing)")
    ap.add_argument("--peers", default=str(SHARED / "peers" / "opencv_dnn_superres"))
    ap.add_argument("--data", default=str(SHARED / "datasets"), help="folder holding Set5/ and Set14/")
    ap.add_argument("--no-opencv", action="store_true", help="skip the OpenCV columns")
    ap.add_argument("--from-json", help="only re-render the table of a result saved with --json")
    args = ap.parse_args(argv)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        text = format_candidates(result) if "rows" in result else format_report(result)
        print(text)
        if args.out:
            write_text(Path(args.out), text + "\n")
        return 0
    args.sizes = [int(v) for v in args.sizes.split(",")]
    if args.quick:
        args.rounds, args.per_round = 2, 2
    if args.candidates and args.scales == "2,3,4":
        args.scales = "2,4"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="keras_sr_vs_opencv_") as tmp:
        result = run_candidates(args, Path(tmp)) if args.candidates else run_compare(args, Path(tmp))
    text = format_candidates(result) if args.candidates else format_report(result)
    print(text)
    if args.out:
        write_text(Path(args.out), text + "\n")
    if args.json:
        write_text(Path(args.json), json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
