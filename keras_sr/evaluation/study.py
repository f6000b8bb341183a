"""``keras-sr study``: a blind pairwise human-preference study, and the statistics of its votes.

Building (:func:`build_study`): every image of a set is cut to one crop region, the same for
all models, and each model's upscale of that region is written as a PNG. The region is
``crop`` x ``crop`` LR pixels (smaller where the image is), at the LR-pixel-aligned position
where the HR image has the most detail (largest mean ``|dx| + |dy|`` of its BT.601 Y), shown
at ``crop * factor`` HR pixels. The LR comes from the HR as in
:mod:`keras_sr.evaluation.ladder`: ``bicubic`` (default; the MATLAB-bicubic downscale on
8-bit RGB) or a stochastic degradation (``light``, ``realworld``) seeded per image from
(``seed``, file name) (:func:`keras_sr.data.realworld.image_seed`), so every model sees the
same LR. Each model runs on the LR crop plus its own context (the measured receptive radius,
:meth:`~keras_sr.inference.StagedUpscaler.context`): the crop equals the same region of the
whole-image upscale. ``bicubic`` is the degradation's bicubic upscale of the 8-bit LR, rounded
to 8 bit. A set without ground truth (``no_reference``, or RealSRSet) is taken as the LR
itself: no degradation, no LPIPS.

Study folder::

    index.html, study.js, study.css  the page (study_assets/), no server logic, no CDN
    manifest.json                    what the Python side reads (:data:`FORMAT`)
    manifest.js                      the same, as ``window.KERAS_SR_STUDY`` (works from file://)
    crops/<i>/<k>.png                image i's crop upscaled by model k (opaque names: blind)

``image_set`` = sha256 over the sorted lines ``<file name> <sha256 of the file>``;
``study_id`` = sha256 over the canonical JSON of the image set, the model labels, the settings
and the sha256 of every crop's pixels. With HR images, ``lpips[model]`` per image is
LPIPS-Alex (lower = closer) of the crop against the HR crop, when its weights are found.

Votes (written by the page, ``votes-<session>.json``): ``study_id``, ``image_set``,
``session``, ``votes`` = ``[{trial, image, model_left, model_right, choice, ms}]`` with
``choice`` ``left``, ``right`` or ``same``.

Statistics (:func:`study_results`): per model, comparisons, wins, losses and ties; the
**win rate is wins / (wins + losses): ties are left out and reported separately**, with a 95 %
Wilson score interval. Bradley-Terry strengths (P(i beats j) = p_i / (p_i + p_j)) are fitted
to the decided votes (ties left out) by Hunter's (2004) MM algorithm and reported as
log-strengths with the reference model (``bicubic`` when present, else the first) at 0. When
the maximum-likelihood fit does not exist (the "beats" graph is not strongly connected: some
model never lost or never won), each compared pair gets 0.5 pseudo-wins each way, and a note
says so. LPIPS agreement: over decided votes where both crops have an LPIPS value and the two
differ, the share where the people's choice has the lower LPIPS (Wilson interval too).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np

from keras_sr.errors import KerasSRError, ModelLoadError, UsageError

ASSETS = Path(__file__).with_name("study_assets")
PAGE_FILES = ("index.html", "study.js", "study.css")
FORMAT = "keras-sr-study"
VOTES_FORMAT = "keras-sr-study-votes"
VERSION = 1
BASELINE = "bicubic"
CHOICES = ("left", "right", "same")
Z95 = 1.959963984540054  # the 97.5 % point of the standard normal


# ---- building ------------------------------------------------------------------------------------
def image_set_hash(named_digests) -> str:
    """sha256 over the sorted ``<file name> <sha256 of the file>`` lines of ``(name, sha256)``."""
    lines = sorted(f"{name} {digest}" for name, digest in named_digests)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def detail_window(y: np.ndarray, scale: int, size: tuple[int, int]) -> tuple[int, int]:
    """``(row, col)`` in LR pixels of the ``size = (h, w)`` LR-pixel window where the HR ``y``
    (``[sH, sW]`` float) has the largest mean ``|dx| + |dy|``; ties: the first (top, left)."""
    from scipy.ndimage import uniform_filter

    y = np.asarray(y, np.float64)
    g = np.zeros_like(y)
    g[:, :-1] += np.abs(np.diff(y, axis=1))
    g[:-1, :] += np.abs(np.diff(y, axis=0))
    h, w = y.shape[0] // scale, y.shape[1] // scale
    lr = g[:h * scale, :w * scale].reshape(h, scale, w, scale).mean(axis=(1, 3))
    ch, cw = size
    energy = uniform_filter(lr, size=(ch, cw), mode="constant")
    top, left = ch // 2, cw // 2  # uniform_filter centres a window of size n at offset n // 2
    valid = energy[top: h - ch + top + 1, left: w - cw + left + 1]
    i, j = np.unravel_index(np.argmax(valid), valid.shape)
    return int(i), int(j)


def _resolve_models(specs, factor):
    """``[(label, Upscaler or None)]`` (None: bicubic) and the common scale."""
    from keras_sr.inference import Upscaler

    if len(specs) < 2:
        raise UsageError(f"a study compares at least two models (e.g. {BASELINE} and one more), got {len(specs)}")
    from keras_sr.evaluation.ladder import model_labels

    labels = [BASELINE if str(s).lower() == BASELINE else label for s, label in zip(specs, model_labels(specs))]
    if len(set(labels)) < len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        raise UsageError(f"model {dup!r} is given twice")
    ups = []
    for spec in specs:
        if str(spec).lower() == BASELINE:
            ups.append(None)
            continue
        try:
            ups.append(Upscaler(spec, factor))
        except ModelLoadError as exc:
            if Path(spec).exists():
                raise
            raise UsageError(f"unknown model {spec!r}: {str(exc).splitlines()[0]}") from None
    scales = sorted({u.scale for u in ups if u is not None})
    if factor is None:
        if len(scales) > 1:
            raise UsageError(f"the models upscale x{' and x'.join(map(str, scales))}: give one --factor")
        if not scales:
            raise UsageError("give --factor (the study has no model to take it from)")
        factor = scales[0]
    return list(zip(labels, ups)), int(factor)


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def _upscale_crop(up, deg, lr8, box, margin: int, scale: int) -> np.ndarray:
    """The model's (None: bicubic) 8-bit RGB upscale of LR box ``(y, x, h, w)``, run on the box
    plus ``margin`` LR px of real neighbourhood (clipped at the image edges) and cut back."""
    y, x, h, w = box
    H, W = lr8.shape[:2]
    y0, x0, y1, x1 = max(0, y - margin), max(0, x - margin), min(H, y + h + margin), min(W, x + w + margin)
    window = lr8[y0:y1, x0:x1]
    if up is None:
        big = np.asarray(deg.upscale(window.astype(np.float32) / 255.0,
                                     size=((y1 - y0) * scale, (x1 - x0) * scale)))
        out = np.clip(np.round(big * 255.0), 0, 255).astype(np.uint8)
    else:
        out = _as_rgb8(up(window))
    s = scale
    return np.ascontiguousarray(out[(y - y0) * s:(y - y0 + h) * s, (x - x0) * s:(x - x0 + w) * s, :3])


def _png_bytes(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def build_study(models, data, out, factor: int | None = None, degradation: str = "bicubic", seed: int = 0,
                crop: int = 128, pairs: int = 30, images: int | None = None, ties: bool = True,
                no_reference: bool = False, lpips_weights=None, overwrite: bool = False, echo=None) -> dict:
    """Write the study folder ``out`` (see the module docstring) for ``models`` (specs as
    :class:`~keras_sr.inference.Upscaler` takes, or ``bicubic``) on the images of ``data`` (a
    folder; the first ``images`` in name order when given). Built in a temporary sibling folder
    and renamed into place. Returns the manifest."""
    from keras_sr.data.datasets import is_no_reference
    from keras_sr.data.degradations import get_degradation
    from keras_sr.data.io import list_images, staged_folder
    from keras_sr.evaluation.evaluate import eight_bit_images

    say = echo or (lambda m: None)
    if crop < 8:
        raise UsageError(f"--crop must be at least 8 LR px, got {crop}")
    if pairs < 1:
        raise UsageError(f"--pairs must be at least 1, got {pairs}")
    if images is not None and images < 1:
        raise UsageError(f"--images must be at least 1, got {images}")
    folder = Path(data)
    if not folder.is_dir():
        raise UsageError(f"--dataset must be a folder of images, got {folder}")
    reference = not (no_reference or is_no_reference(folder))
    deg = get_degradation(degradation)
    if not reference and degradation != "bicubic":
        raise UsageError("--degradation does not apply to a set without ground truth (its images are the LR)")
    files = list_images([folder])
    if not files:
        raise UsageError(f"no images found in {folder}")
    files = files[:images] if images else files
    if len({f.name for f in files}) < len(files):
        raise UsageError(f"{folder} holds two images of one file name (the study names images by file name)")
    out = Path(out)
    if out.exists() and not overwrite:
        raise KerasSRError(f"output folder exists (use --overwrite): {out}")
    resolved, scale = _resolve_models(list(models), factor)
    labels = [label for label, _ in resolved]
    lp, notes = None, []
    if reference:
        from keras_sr.evaluation.ladder import _lpips_available

        missing = _lpips_available(lpips_weights)
        if missing:
            notes.append(f"LPIPS left out: {missing}")
        else:
            from keras_sr.evaluation.lpips import get_lpips

            lp = get_lpips("alex", str(lpips_weights) if lpips_weights else None)
    else:
        notes.append("no ground truth: the images are the LR inputs; no LPIPS")
    margin = max([3] + [u.context() for _, u in resolved if u is not None])
    settings = {"factor": scale, "degradation": degradation if reference else None,
                "seed": int(seed) if reference and deg.stochastic else None, "crop": int(crop),
                "pairs": int(pairs), "ties": bool(ties), "reference": reference}
    with staged_folder(out, overwrite) as work:
        entries, digests = [], []
        for i, (path, image) in enumerate(eight_bit_images(files, "study")):
            say(f"image {i + 1}/{len(files)}: {path.name}")
            rgb = _as_rgb8(image)
            if reference:
                from keras_sr.data import realworld
                from keras_sr.evaluation.protocol import modcrop

                hr = modcrop(rgb, scale)
                if min(hr.shape[:2]) < scale:
                    raise KerasSRError(f"image {path.name} is smaller than the factor {scale}")
                if deg.stochastic:
                    params = deg.default_params()
                    lr8, _ = realworld.degrade_image(hr, scale, realworld.image_seed(seed, path.name), params)
                else:
                    lr = deg.downscale(hr.astype(np.float32) / 255.0, scale, quantize_output=True)
                    lr8 = np.clip(np.round(np.asarray(lr) * 255.0), 0, 255).astype(np.uint8)
                y = _y(hr)
            else:  # the image is the LR: its detail, on the HR grid
                hr, lr8 = None, rgb
                y = np.repeat(np.repeat(_y(lr8), scale, axis=0), scale, axis=1)
            ch, cw = min(crop, lr8.shape[0]), min(crop, lr8.shape[1])
            r, c = detail_window(y, scale, (ch, cw))
            box = (r, c, ch, cw)
            entry = {"name": path.name, "sha256": None, "size": [int(rgb.shape[1]), int(rgb.shape[0])],
                     "crop": {"x": c * scale, "y": r * scale, "width": cw * scale, "height": ch * scale},
                     "crops": {}, "lpips": None}
            (work / "crops" / str(i)).mkdir(parents=True)
            hr_crop = hr[r * scale:(r + ch) * scale, c * scale:(c + cw) * scale] if hr is not None else None
            if lp is not None and min(ch, cw) * scale >= 32:
                entry["lpips"] = {}
            for k, (label, up) in enumerate(resolved):
                sr = _upscale_crop(up, deg, lr8, box, margin, scale)
                rel = f"crops/{i}/{k}.png"
                (work / rel).write_bytes(_png_bytes(sr))
                entry["crops"][label] = rel
                digests.append(hashlib.sha256(sr.tobytes()).hexdigest())
                if entry["lpips"] is not None:
                    entry["lpips"][label] = round(float(lp(sr / 255.0, hr_crop / 255.0)), 6)
            entries.append(entry)
        from keras_sr.data.io import sha256_file

        for entry, f in zip(entries, files):
            entry["sha256"] = sha256_file(f)
        image_set = image_set_hash((e["name"], e["sha256"]) for e in entries)
        key = json.dumps({"image_set": image_set, "models": labels, "settings": settings, "crops": digests},
                         sort_keys=True)
        from keras_sr import __version__

        manifest = {"format": FORMAT, "version": VERSION, "study_id": hashlib.sha256(key.encode()).hexdigest(),
                    "image_set": image_set, "dataset": folder.name, "keras_sr": __version__,
                    "settings": settings, "models": labels, "baseline": BASELINE if BASELINE in labels else None,
                    "images": entries, "notes": notes}
        text = json.dumps(manifest, indent=2) + "\n"
        (work / "manifest.json").write_text(text)
        (work / "manifest.js").write_text("window.KERAS_SR_STUDY = " + text.rstrip() + ";\n")
        for name in PAGE_FILES:
            shutil.copyfile(ASSETS / name, work / name)
    return manifest


def _y(rgb8: np.ndarray) -> np.ndarray:
    """BT.601 Y (8-bit values, float) of an 8-bit RGB image."""
    from keras_sr.data.color import y_of_uint8

    return np.asarray(y_of_uint8(rgb8, "y-bt601"), np.float64)


def read_manifest(folder) -> dict:
    """The manifest of a study folder; a one-line :class:`UsageError` when it is not one."""
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise UsageError(f"not a study folder (no readable manifest.json): {folder}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"not a keras-sr study manifest: {path}")
    return manifest


# ---- statistics ----------------------------------------------------------------------------------
def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials (``(nan, nan)`` when n = 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _strongly_connected(wins: np.ndarray) -> bool:
    """Whether every model reaches every other along "beat" edges (the BT MLE exists)."""
    n = len(wins)
    adj = wins > 0
    for graph in (adj, adj.T):
        seen, stack = {0}, [0]
        while stack:
            i = stack.pop()
            for j in np.nonzero(graph[i])[0]:
                if int(j) not in seen:
                    seen.add(int(j))
                    stack.append(int(j))
        if len(seen) < n:
            return False
    return True


def bradley_terry(wins, reference: int = 0, tol: float = 1e-12, max_iter: int = 100000):
    """Bradley-Terry log-strengths of ``wins[i, j]`` (times i beat j) by Hunter's MM algorithm,
    shifted so ``reference`` is 0. Returns ``(scores, regularised)``: when the MLE does not
    exist (the beat graph is not strongly connected), 0.5 pseudo-wins each way are added to
    every compared pair first and ``regularised`` is True."""
    w = np.asarray(wins, np.float64).copy()
    n = len(w)
    regularised = False
    if n > 1 and not _strongly_connected(w):
        compared = (w + w.T) > 0
        w = w + 0.5 * compared
        regularised = True
    games = w + w.T
    total = w.sum(axis=1)
    p = np.ones(n)
    for _ in range(max_iter):
        denom = (games / (p[:, None] + p[None, :] + 1e-300)).sum(axis=1)
        new = np.where(denom > 0, total / np.where(denom > 0, denom, 1.0), p)
        new = new / np.exp(np.mean(np.log(np.maximum(new, 1e-300))))
        if np.max(np.abs(np.log(np.maximum(new, 1e-300)) - np.log(np.maximum(p, 1e-300)))) < tol:
            p = new
            break
        p = new
    s = np.log(p)
    return s - s[reference], regularised


def _load_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read votes file {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UsageError(f"votes file {path} is not JSON") from None


def load_votes(paths, manifest: dict | None = None) -> tuple[dict, list[dict], list[str]]:
    """``(study, votes, notes)`` of the votes files: each must come from one study (that of
    ``manifest`` when given, else that of the first file), else a one-line :class:`UsageError`
    naming the file. Two files of one session: the one with more votes is kept (a note says so)."""
    if not paths:
        raise UsageError("give the votes files: keras-sr study --results votes-*.json")
    sessions: dict[str, tuple[Path, dict]] = {}
    notes = []
    want = manifest
    for path in map(Path, paths):
        data = _load_json(path)
        if not isinstance(data, dict) or data.get("format") != VOTES_FORMAT or not isinstance(data.get("votes"), list):
            raise UsageError(f"{path} is not a keras-sr study votes file")
        if want is None:
            want = data
        if data.get("image_set") != want.get("image_set"):
            raise UsageError(f"{path} is from another study: image set {str(data.get('image_set'))[:12]}, "
                             f"this study's is {str(want.get('image_set'))[:12]}")
        if data.get("study_id") != want.get("study_id"):
            raise UsageError(f"{path} is from another study: study id {str(data.get('study_id'))[:12]}, "
                             f"this study's is {str(want.get('study_id'))[:12]} (same images, other "
                             "models or settings)")
        session = str(data.get("session"))
        if session in sessions:
            other = sessions[session]
            keep = max((other, (path, data)), key=lambda pd: len(pd[1]["votes"]))
            notes.append(f"session {session} is in {other[0].name} and {path.name}: kept {keep[0].name}")
            sessions[session] = keep
        else:
            sessions[session] = (path, data)
    models = list((manifest or {}).get("models") or [])
    images = {e["name"]: e for e in (manifest or {}).get("images", [])}
    votes = []
    for path, data in sessions.values():
        for v in data["votes"]:
            if (not isinstance(v, dict) or v.get("choice") not in CHOICES
                    or not isinstance(v.get("model_left"), str) or not isinstance(v.get("model_right"), str)
                    or v["model_left"] == v["model_right"]):
                raise UsageError(f"{path}: a vote is malformed: {json.dumps(v)[:80]}")
            if manifest is not None and (v["model_left"] not in models or v["model_right"] not in models
                                         or v.get("image") not in images):
                raise UsageError(f"{path}: a vote names a model or image that is not in the study: "
                                 f"{v.get('image')}, {v['model_left']} vs {v['model_right']}")
            votes.append({**v, "session": data.get("session")})
    study = {"study_id": want.get("study_id"), "image_set": want.get("image_set"),
             "models": models, "sessions": len(sessions), "files": [str(p) for p, _ in sessions.values()]}
    return study, votes, notes


def study_results(votes: list[dict], models=None, lpips: dict | None = None, baseline: str | None = None) -> dict:
    """Per-model win rates (ties separate) with Wilson 95 % intervals, Bradley-Terry
    log-strengths and, with ``lpips`` (``{image: {model: value}}``), the LPIPS agreement."""
    models = list(models or [])
    for v in votes:
        for m in (v["model_left"], v["model_right"]):
            if m not in models:
                models.append(m)
    index = {m: i for i, m in enumerate(models)}
    n = len(models)
    wins = np.zeros((n, n))
    ties = np.zeros((n, n))
    for v in votes:
        a, b = index[v["model_left"]], index[v["model_right"]]
        if v["choice"] == "same":
            ties[a, b] += 1
            ties[b, a] += 1
        elif v["choice"] == "left":
            wins[a, b] += 1
        else:
            wins[b, a] += 1
    ref_name = baseline if baseline in index else (BASELINE if BASELINE in index else (models[0] if models else None))
    ref = index.get(ref_name, 0)
    scores, regularised = bradley_terry(wins, ref) if n > 1 else (np.zeros(n), False)
    per_model = []
    for m, i in index.items():
        w, l, t = wins[i].sum(), wins[:, i].sum(), ties[i].sum()
        lo, hi = wilson(w, w + l)
        per_model.append({"model": m, "comparisons": int(w + l + t), "wins": int(w), "losses": int(l),
                          "ties": int(t), "win_rate": (w / (w + l)) if w + l else None,
                          "ci95": [lo, hi] if w + l else None, "bt_score": float(scores[i]),
                          "p_beats_reference": float(1.0 / (1.0 + math.exp(-scores[i])))})
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            if wins[i, j] + wins[j, i] + ties[i, j]:
                pairs.append({"a": models[i], "b": models[j], "a_wins": int(wins[i, j]), "b_wins": int(wins[j, i]),
                              "ties": int(ties[i, j])})
    out = {"votes": len(votes), "decided": int(wins.sum()), "ties": int(ties.sum() / 2),
           "reference": ref_name, "win_rate": "wins / (wins + losses); ties reported separately",
           "bradley_terry": {"method": "MM (Hunter 2004) on decided votes; log-strength, reference = 0",
                             "regularised": regularised},
           "models": per_model, "pairs": pairs, "lpips_agreement": None, "notes": []}
    if regularised:
        out["notes"].append("Bradley-Terry: some model never lost or never won, so the maximum-likelihood fit "
                            "does not exist: 0.5 pseudo-wins each way were added to every compared pair")
    if lpips:
        agree = total = skipped = 0
        for v in votes:
            if v["choice"] == "same":
                continue
            table = lpips.get(v.get("image")) or {}
            a, b = table.get(v["model_left"]), table.get(v["model_right"])
            if a is None or b is None or a == b:
                skipped += 1
                continue
            lower = "left" if a < b else "right"
            total += 1
            agree += lower == v["choice"]
        lo, hi = wilson(agree, total)
        out["lpips_agreement"] = {"agree": agree, "votes": total, "rate": agree / total if total else None,
                                  "ci95": [lo, hi] if total else None, "skipped": skipped,
                                  "rule": "decided votes where the chosen crop has the lower LPIPS-Alex"}
    return out


def results_from_files(paths, study_dir=None) -> dict:
    """:func:`study_results` of votes files, checked against the study folder ``study_dir``
    when given (its LPIPS values then come from its manifest, else from the votes)."""
    manifest = read_manifest(study_dir) if study_dir else None
    study, votes, notes = load_votes(paths, manifest)
    lpips = None
    baseline = None
    if manifest is not None:
        lpips = {e["name"]: e["lpips"] for e in manifest["images"] if e.get("lpips")}
        baseline = manifest.get("baseline")
    else:
        table: dict = {}
        for v in votes:
            for side in ("left", "right"):
                value = v.get(f"lpips_{side}")
                if isinstance(value, (int, float)):
                    table.setdefault(v.get("image"), {})[v[f"model_{side}"]] = float(value)
        lpips = table or None
    res = study_results(votes, study["models"] or None, lpips, baseline)
    res["notes"] = notes + res["notes"]
    return {**study, **res}


def format_results(res: dict) -> str:
    """The text table of :func:`results_from_files`."""
    width = max([len("model")] + [len(m["model"]) for m in res["models"]])
    lines = [f"Study {str(res['study_id'])[:12]} (image set {str(res['image_set'])[:12]}): {res['votes']} votes from "
             f"{res['sessions']} session(s), {res['decided']} decided, {res['ties']} ties",
             f"{'model':<{width}}  {'votes':>5}  {'wins':>4}  {'losses':>6}  {'ties':>4}  {'win rate':>8}  "
             f"{'95% CI':>15}  {'BT score':>8}  {'P(beats ' + str(res['reference']) + ')':>10}"]
    for m in sorted(res["models"], key=lambda r: -r["bt_score"]):
        rate = f"{m['win_rate']:.3f}" if m["win_rate"] is not None else "-"
        ci = f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]" if m["ci95"] else "-"
        lines.append(f"{m['model']:<{width}}  {m['comparisons']:>5}  {m['wins']:>4}  {m['losses']:>6}  {m['ties']:>4}  "
                     f"{rate:>8}  {ci:>15}  {m['bt_score']:>+8.3f}  {m['p_beats_reference']:>10.3f}")
    lines.append(f"win rate = wins / (wins + losses), ties reported separately; 95% Wilson interval. "
                 f"BT score = Bradley-Terry log-strength (MM fit on decided votes), {res['reference']} = 0")
    la = res.get("lpips_agreement")
    if la:
        if la["votes"]:
            lines.append(f"LPIPS agrees with people on {la['agree']} of {la['votes']} decided votes "
                         f"({la['rate']:.3f}, 95% CI [{la['ci95'][0]:.3f}, {la['ci95'][1]:.3f}]): the chosen crop "
                         f"has the lower LPIPS-Alex" + (f"; {la['skipped']} votes without two LPIPS values"
                                                         if la["skipped"] else ""))
        else:
            lines.append("LPIPS agreement: no decided vote with two LPIPS values")
    else:
        lines.append("LPIPS agreement: not available (no HR images, or LPIPS weights missing when built)")
    lines += [f"note: {n}" for n in res["notes"]]
    return "\n".join(lines)
