"""The severity ladder (keras_sr.evaluation.ladder, ``keras-sr evaluate --ladder``): its rows are
``evaluate --degradation X`` per severity, the table, JSON and figure, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import assert_one_line_error, run
from keras_sr.evaluation.ladder import SEVERITIES

FAST = ("--metrics", "psnr,ssim,bias")


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


@pytest.fixture()
def no_lpips(tmp_path, monkeypatch):
    """No LPIPS weights anywhere the lookup searches."""
    (tmp_path / "w").mkdir()
    monkeypatch.setenv("KERAS_SR_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("KERAS_SR_CACHE", str(tmp_path / "cache"))


def test_ladder_rows_equal_evaluate_with_each_degradation(tiny_data):
    lad = as_json(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", tiny_data, "--seed", 1, *FAST, "--json"))
    assert lad["severities"] == {"clean": "bicubic", "light": "light", "heavy": "realworld"}
    assert lad["images"] == 5 and lad["scale"] == 2 and lad["seed"] == 1 and lad["metrics"] == ["psnr", "ssim", "bias"]
    rows = {(r["severity"], r["method"]): r for r in lad["rows"]}
    for sev, deg in SEVERITIES.items():
        one = as_json(run("evaluate", "-m", "fsrcnn-x2", "-d", tiny_data, "--degradation", deg, "--seed", 1,
                          *FAST, "--json"))["mean"]
        for m in ("psnr", "ssim", "bias"):
            assert rows[(sev, "bicubic")][m] == one[f"bicubic_{m}"]
            assert rows[(sev, "fsrcnn-x2")][m] == one[f"model_{m}"]
            assert rows[(sev, "fsrcnn-x2")][f"gain_{m}"] == one[f"delta_{m}"]
    psnr = [rows[(s, "bicubic")]["psnr"] for s in SEVERITIES]
    assert psnr[0] > psnr[1] + 1 > psnr[2] + 2  # clean > light > heavy, each clearly apart
    other = as_json(run("evaluate", "-m", "fsrcnn-x2", "-d", tiny_data, "--degradation", "light", "--seed", 2,
                        *FAST, "--json"))["mean"]
    assert other["bicubic_psnr"] != rows[("light", "bicubic")]["psnr"]  # --seed reaches the ladder's draws


def test_ladder_table_json_and_figure_for_several_models(tiny_data, tmp_path, no_lpips):
    import warnings

    from PIL import Image

    from keras_sr.evaluation.ladder import format_ladder, ladder, ladder_figure

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # off-degradation use is what a ladder does: no warning
        lad = ladder(["fsrcnn-x2", "espcn-x2"], tiny_data, names=["fsrcnn-x2", "espcn-x2"])
    d = lad.to_dict()
    assert d["models"] == ["fsrcnn-x2", "espcn-x2"] and d["metrics"] == ["psnr", "ssim", "bias"]
    assert len(d["rows"]) == 9 and d["notes"][0].startswith("LPIPS left out") and d["warnings"] == []
    assert json.loads(json.dumps(d)) == d
    lines = format_ladder(lad).splitlines()
    assert lines[0].startswith("Severity ladder x2 on tiny_data") and "seed 0" in lines[0]
    assert lines[1].split()[:4] == ["severity", "method", "PSNR", "dB"] and "bias" in lines[1]
    body = [ln.split() for ln in lines[2:11]]
    assert [(b[0], b[1]) for b in body] == [(s, m) for s in SEVERITIES for m in ("bicubic", "fsrcnn-x2", "espcn-x2")]
    assert len(body[0]) == 2 + 3 and len(body[1]) == 2 + 6  # bicubic: values; models: values and gains
    text = "\n".join(lines)
    assert "note: LPIPS left out" in text and "trained on: fsrcnn-x2 bicubic, espcn-x2 bicubic" in text
    table = {(ln[0], ln[1]): ln for ln in body}
    espcn_light = next(x for x in d["rows"] if x["severity"] == "light" and x["method"] == "espcn-x2")
    assert table[("light", "espcn-x2")][2] == f"{espcn_light['psnr']:.2f}"
    assert table[("light", "espcn-x2")][3] == f"{espcn_light['gain_psnr']:+.2f}"
    fig = ladder_figure(lad, tmp_path / "ladder.png")
    assert Image.open(fig).size[0] > 600 and not list(tmp_path.glob(".*part*"))
    import shutil

    from keras_sr.zoo import zoo_dir

    shutil.copy(zoo_dir() / "fsrcnn-x2.keras", tmp_path / "mine.keras")  # a file: labelled by its stem
    r = run("evaluate", "--ladder", "-m", tmp_path / "mine.keras", "-d", tiny_data, "--metrics", "psnr", "--figure",
            tmp_path / "cli.png")
    assert r.exit_code == 0, r.output
    assert [ln.split()[:2] for ln in r.stdout.splitlines()[2:4]] == [["clean", "bicubic"], ["clean", "mine"]]
    assert (tmp_path / "cli.png").stat().st_size > 0


def test_ladder_scores_lpips_when_its_weights_are_found(tiny_data, shared_path, monkeypatch):
    monkeypatch.setenv("KERAS_SR_WEIGHTS", str(shared_path("weights", "perceptual")))
    lad = as_json(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", tiny_data, "--json"))
    assert lad["metrics"] == ["psnr", "ssim", "lpips", "bias"] and not lad["notes"]
    lp = [r["lpips"] for r in lad["rows"] if r["method"] == "bicubic"]
    assert all(0 < v < 1 for v in lp) and lp[0] < lp[1] < lp[2]  # perceptually worse with severity


def test_ladder_bad_input_is_one_line(tiny_data, tmp_path, no_lpips):
    from PIL import Image

    small = tmp_path / "Thumbs"
    small.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((9, 12, 3), np.uint8)).save(small / name)
    assert_one_line_error(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", small), 1,
                          "Thumbs: 2 of 2 images are smaller than the 15 px", "a.png 12x8")
    assert_one_line_error(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", tiny_data, "--degradation",
                              "realworld"), 2, "--degradation does not apply to --ladder")
    assert_one_line_error(run("evaluate", "--ladder", "-d", tiny_data), 2, "--ladder needs at least one --model")
    assert_one_line_error(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-m", "fsrcnn-x3", "-d", tiny_data),
                          2, "give one --factor")
    assert_one_line_error(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", tiny_data, "--metrics", "psnr,niqe"),
                          2, "not niqe")
    assert_one_line_error(run("evaluate", "--ladder", "-m", "fsrcnn-x2", "-d", tiny_data, "--figure",
                              tmp_path / "nope" / "f.png"), 1, "figure folder does not exist")
    # single-model evaluate keeps its contract
    assert_one_line_error(run("evaluate", "-m", "fsrcnn-x2", "-m", "espcn-x2", "-d", tiny_data), 2,
                          "several need --ladder")
    assert_one_line_error(run("evaluate", "-m", "fsrcnn-x2", "-d", tiny_data, "--figure", tmp_path / "f.png"), 2,
                          "--figure is for --ladder")
    assert run("evaluate", "-d", tiny_data).exit_code == 2


def test_ladder_lr_is_the_lr_evaluate_scores(tiny_data):
    """ladder_lr (the crops figure's LR) = the LR behind each severity's RGB scores: bicubic
    upscaling of it gives evaluate's bicubic PSNR (RGB protocol, recomputed with scikit-image)."""
    from skimage.metrics import peak_signal_noise_ratio

    from keras_sr.data.degradations import get_degradation
    from keras_sr.data.io import read_image
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.ladder import ladder_lr
    from keras_sr.evaluation.protocol import get_protocol

    for name in ("a.png", "e_gray.png"):
        path, hr = tiny_data / name, read_image(tiny_data / name)
        rgb = np.repeat(hr[..., None], 3, axis=2) if hr.ndim == 2 else hr
        for sev, deg in SEVERITIES.items():
            lr = ladder_lr(hr, 2, sev, seed=3, name=name)
            assert lr.dtype == np.uint8 and lr.shape == (hr.shape[0] // 2, hr.shape[1] // 2, 3)
            bic = np.round(np.asarray(get_degradation("bicubic").upscale(lr / 255.0, hr.shape[:2])) * 255)
            ours = peak_signal_noise_ratio(rgb[2:-2, 2:-2].astype(np.float64), np.clip(bic, 0, 255)[2:-2, 2:-2],
                                           data_range=255)
            proto = get_protocol("paper", color="rgb", degradation=deg, seed=3)
            theirs = evaluate(None, [path], 2, protocol=proto, metric_names=("psnr",)).rows[0]["bicubic_psnr"]
            assert ours == pytest.approx(theirs, abs=1e-6), (name, sev)
    with pytest.raises(Exception, match="unknown severity"):
        ladder_lr(hr, 2, "medium")
