"""``keras-sr study``: building the study folder, the statistics of votes (against independent
computations), bad input, and the page in headless Chromium (offline, see tests/browser.py):
a scripted session, partly through the real keyboard, downloaded and read back by ``--results``.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from browser import Page, need_browser
from conftest import SHARED
from keras_sr.cli.main import main
from keras_sr.evaluation.study import bradley_terry, detail_window, study_results, wilson

MODELS = ["bicubic", "abpn-x2", "espcn-x2"]  # small shipped x2 models
LPIPS_WEIGHTS = SHARED / "weights" / "perceptual" / "lpips_alex_v0.1.npz"


def _one_line(result, code):
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


# ---- statistics (no TensorFlow) ------------------------------------------------------------------
def test_wilson_interval_known_values():
    assert [round(v, 3) for v in wilson(8, 10)] == [0.490, 0.943]
    assert [round(v, 4) for v in wilson(0, 10)] == [0.0, 0.2775]  # upper = z^2 / (n + z^2)
    assert [round(v, 4) for v in wilson(10, 10)] == [0.7225, 1.0]
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_bradley_terry_two_models_closed_form():
    s, regularised = bradley_terry([[0, 7], [3, 0]])
    assert not regularised and s[0] == 0.0
    assert s[1] == pytest.approx(math.log(3 / 7), abs=1e-9)  # MLE: p_b / p_a = wins_b / wins_a


def _direct_mle(wins):
    """Bradley-Terry by maximising the log-likelihood with scipy (model 0 fixed at 0)."""
    from scipy.optimize import minimize

    w = np.asarray(wins, float)

    def nll(free):
        s = np.concatenate([[0.0], free])
        diff = s[:, None] - s[None, :]
        return -(w * (diff - np.logaddexp(0.0, diff))).sum()

    res = minimize(nll, np.zeros(len(w) - 1), method="BFGS", options={"gtol": 1e-10})
    return np.concatenate([[0.0], res.x])


def test_bradley_terry_matches_a_direct_likelihood_maximisation():
    rng = np.random.default_rng(3)
    wins = rng.integers(1, 9, (4, 4)).astype(float)
    np.fill_diagonal(wins, 0)
    wins[0, 3] = wins[3, 0] = 0  # an uncompared pair: still connected through the others
    s, regularised = bradley_terry(wins)
    assert not regularised
    assert np.allclose(s, _direct_mle(wins), atol=1e-5)
    # reference shift: scores of another reference differ by a constant
    assert np.allclose(bradley_terry(wins, reference=2)[0], s - s[2])


def test_bradley_terry_without_an_mle_adds_half_wins():
    wins = np.array([[0, 4, 2], [0, 0, 3], [0, 1, 0]], float)  # model 0 never lost: no MLE
    s, regularised = bradley_terry(wins)
    assert regularised and np.isfinite(s).all() and s[0] == max(s)
    padded = wins + 0.5 * ((wins + wins.T) > 0)
    assert np.allclose(s, _direct_mle(padded), atol=1e-5)


def test_results_count_votes_ties_apart_and_lpips_agreement():
    def vote(image, left, right, choice):
        return {"image": image, "model_left": left, "model_right": right, "choice": choice, "ms": 100}

    votes = ([vote("a", "x", "y", "left")] * 5 + [vote("a", "y", "x", "left")] * 2
             + [vote("b", "x", "y", "same")] * 3 + [vote("b", "x", "y", "right")])
    lpips = {"a": {"x": 0.1, "y": 0.3}, "b": {"x": 0.2, "y": 0.2}}
    res = study_results(votes, ["x", "y"], lpips)
    by = {m["model"]: m for m in res["models"]}
    assert (by["x"]["wins"], by["x"]["losses"], by["x"]["ties"], by["x"]["comparisons"]) == (5, 3, 3, 11)
    assert by["x"]["win_rate"] == pytest.approx(5 / 8) and by["y"]["win_rate"] == pytest.approx(3 / 8)
    assert by["x"]["ci95"] == pytest.approx(list(wilson(5, 8)))
    assert res["reference"] == "x" and by["y"]["bt_score"] == pytest.approx(math.log(3 / 5))
    # LPIPS: on "a" x is lower, chosen 5 times of 7; "b" has equal values: skipped
    la = res["lpips_agreement"]
    assert (la["agree"], la["votes"], la["skipped"]) == (5, 7, 1)


def test_detail_window_finds_the_textured_patch():
    rng = np.random.default_rng(0)
    y = np.full((80, 120), 100.0)
    y[30:50, 70:90] += rng.normal(0, 30, (20, 20))  # the only detail, in HR px
    r, c = detail_window(y, 2, (10, 10))  # LR px
    assert (r, c) == (15, 35)


# ---- building the study (TensorFlow, shipped models) ---------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    import skimage.data

    d = tmp_path_factory.mktemp("study_set")
    astro, coffee = skimage.data.astronaut(), skimage.data.coffee()
    Image.fromarray(astro[30:94, 170:250]).save(d / "face.png")  # 80 x 64
    Image.fromarray(coffee[100:149, 200:259]).save(d / "cup.png")  # 59 x 49: odd sizes are mod-cropped
    Image.fromarray(skimage.data.camera()[60:124, 200:264]).save(d / "gray.png")
    return d


@pytest.fixture(scope="module")
def study(dataset, tmp_path_factory):
    """(folder, manifest) of ``keras-sr study bicubic abpn-x2 espcn-x2`` at 16-px LR crops."""
    out = tmp_path_factory.mktemp("study") / "s"
    args = ["study", *MODELS, "--dataset", str(dataset), "-o", str(out), "--crop", "16"]
    if LPIPS_WEIGHTS.exists():
        args += ["--lpips-weights", str(LPIPS_WEIGHTS)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "manifest.json").read_text())


def test_study_folder_and_crops_equal_the_whole_image_upscale(study, dataset):
    from keras_sr.data.degradations import get_degradation
    from keras_sr.inference import Upscaler

    folder, manifest = study
    assert {p.name for p in folder.iterdir()} == {"index.html", "study.js", "study.css", "manifest.json",
                                                  "manifest.js", "crops"}
    assert manifest["models"] == MODELS and manifest["settings"]["factor"] == 2
    assert [e["name"] for e in manifest["images"]] == ["cup.png", "face.png", "gray.png"]
    lines = sorted(f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in dataset.iterdir())
    assert manifest["image_set"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    js = (folder / "manifest.js").read_text()
    assert json.loads(js[js.index("{"):js.rindex("}") + 1]) == manifest
    deg = get_degradation("bicubic")
    ups = {m: Upscaler(m) for m in MODELS[1:]}
    for e in manifest["images"]:
        hr = np.asarray(Image.open(dataset / e["name"]).convert("RGB"))
        hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
        lr8 = np.round(np.asarray(deg.downscale(hr / np.float32(255), 2, quantize_output=True)) * 255).astype(np.uint8)
        c = e["crop"]
        assert c["width"] == min(32, hr.shape[1]) and c["height"] == min(32, hr.shape[0])
        region = (slice(c["y"], c["y"] + c["height"]), slice(c["x"], c["x"] + c["width"]))
        whole = {"bicubic": np.round(np.asarray(deg.upscale(lr8 / np.float32(255), hr.shape[:2])) * 255),
                 **{m: u(lr8) for m, u in ups.items()}}
        for m in MODELS:
            crop = np.asarray(Image.open(folder / e["crops"][m]))
            assert crop.shape == (c["height"], c["width"], 3)
            assert np.abs(crop.astype(int) - whole[m][region]).max() <= 1, (e["name"], m)
        if LPIPS_WEIGHTS.exists():
            assert set(e["lpips"]) == set(MODELS)
            assert e["lpips"]["bicubic"] > min(e["lpips"]["abpn-x2"], e["lpips"]["espcn-x2"])


def test_bad_input_is_one_line(study, dataset, tmp_path):
    runner = CliRunner()
    line = _one_line(runner.invoke(main, ["study", "bicubic", "no-such-model", "--dataset", str(dataset), "-o",
                                          str(tmp_path / "a")]), 2)
    assert "unknown model 'no-such-model'" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images found" in _one_line(runner.invoke(main, ["study", "bicubic", "abpn-x2", "--dataset",
                                                               str(empty), "-o", str(tmp_path / "b")]), 2)
    assert "at least two models" in _one_line(runner.invoke(main, ["study", "abpn-x2", "--dataset", str(dataset),
                                                                   "-o", str(tmp_path / "c")]), 2)
    folder = study[0]
    assert "exists (use --overwrite)" in _one_line(runner.invoke(main, ["study", *MODELS, "--dataset", str(dataset),
                                                                        "-o", str(folder)]), 1)
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())  # no half-written folder
    assert not any((tmp_path / n).exists() for n in "abc")


def _votes_file(path, manifest, votes, session="s1", **over):
    doc = {"format": "keras-sr-study-votes", "version": 1, "study_id": manifest["study_id"],
           "image_set": manifest["image_set"], "session": session, "votes": votes, **over}
    path.write_text(json.dumps(doc))
    return path


def test_votes_of_another_study_are_refused(study, tmp_path):
    folder, manifest = study
    vote = {"image": "cup.png", "model_left": "bicubic", "model_right": "abpn-x2", "choice": "right", "ms": 9}
    good = _votes_file(tmp_path / "votes-good.json", manifest, [vote])
    other = _votes_file(tmp_path / "votes-other.json", manifest, [vote], session="s2", image_set="0" * 64)
    runner = CliRunner()
    for args in (["--study", str(folder)], []):
        line = _one_line(runner.invoke(main, ["study", "--results", str(good), str(other), *args]), 2)
        assert "votes-other.json is from another study" in line
    res = runner.invoke(main, ["study", "--results", str(good), "--study", str(folder), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["decided"] == 1
    (tmp_path / "x.json").write_text("{")
    assert "x.json is not JSON" in _one_line(runner.invoke(main, ["study", "--results", str(good),
                                                                  str(tmp_path / "x.json")]), 2)


# ---- the page ------------------------------------------------------------------------------------
@pytest.fixture()
def page(study):
    need_browser()
    p = Page(study[0], "window.kerasSRStudy.ready", "index.html?session=t1", device_scale_factor=2)
    yield p
    p.close()


def test_page_records_a_scripted_session_and_results_computes_it(page, study, tmp_path):
    folder, manifest = study
    api = page.page
    state = api.evaluate("window.kerasSRStudy.state()")
    assert state["session"] == "t1" and state["index"] == 0 and state["total"] == 9  # 3 images x 3 pairs
    trials = api.evaluate("window.kerasSRStudy.schedule('t1')")
    assert trials != api.evaluate("window.kerasSRStudy.schedule('t2')")  # order and sides per session
    assert sorted((t["image"], *sorted((t["left"], t["right"]))) for t in trials) == sorted(
        (i, *sorted((a, b))) for i in range(3) for k, a in enumerate(MODELS) for b in MODELS[k + 1:])
    assert {t["left"] for t in trials} == set(MODELS)  # sides are randomised
    # one image pixel on one device pixel (device_scale_factor 2)
    sizes = api.evaluate("""['left', 'right'].map((id) => { const im = document.getElementById(id);
        return [im.naturalWidth, im.getBoundingClientRect().width * devicePixelRatio]; })""")
    assert all(natural == 32 and drawn == natural for natural, drawn in sizes)

    # the scripted participant prefers abpn-x2, then espcn-x2, then bicubic; says "same" on image 2
    rank = {"abpn-x2": 0, "espcn-x2": 1, "bicubic": 2}

    def wanted(t):
        if t["image"] == 2:
            return "same"
        return "left" if rank[t["left"]] < rank[t["right"]] else "right"

    keys = {"left": "ArrowLeft", "right": "2", "same": " "}
    for i, t in enumerate(trials):
        api.evaluate("window.kerasSRStudy.shown()")
        if i < 3:  # the real keyboard path
            api.keyboard.press(keys[wanted(t)])
        else:
            assert api.evaluate("(c) => window.kerasSRStudy.choose(c)", wanted(t))
        if i == 2:  # a reload resumes the session
            api.reload()
            api.evaluate("window.kerasSRStudy.ready")
            assert api.evaluate("window.kerasSRStudy.state()")["index"] == 3
    assert api.evaluate("window.kerasSRStudy.state()")["current"] is None
    assert api.is_visible("#done")
    with api.expect_download() as info:
        api.click("#download")
    assert info.value.suggested_filename == "votes-t1.json"
    votes_path = tmp_path / "votes-t1.json"
    info.value.save_as(votes_path)
    assert page.problems() == []

    doc = json.loads(votes_path.read_text())
    assert (doc["study_id"], doc["image_set"], doc["session"]) == (manifest["study_id"], manifest["image_set"], "t1")
    assert [(v["model_left"], v["model_right"], v["choice"]) for v in doc["votes"]] == [
        (t["left"], t["right"], wanted(t)) for t in trials]
    assert all(v["ms"] >= 0 for v in doc["votes"])

    result = CliRunner().invoke(main, ["study", "--results", str(votes_path), "--study", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    res = json.loads(result.output)
    by = {m["model"]: m for m in res["models"]}
    assert (res["votes"], res["decided"], res["ties"]) == (9, 6, 3)
    assert (by["abpn-x2"]["wins"], by["abpn-x2"]["losses"], by["abpn-x2"]["ties"]) == (4, 0, 2)
    assert (by["espcn-x2"]["wins"], by["espcn-x2"]["losses"]) == (2, 2)
    assert (by["bicubic"]["wins"], by["bicubic"]["losses"]) == (0, 4)
    assert by["bicubic"]["bt_score"] == 0 and by["abpn-x2"]["bt_score"] > by["espcn-x2"]["bt_score"] > 0
    assert res["bradley_terry"]["regularised"]  # abpn-x2 never lost
    text = CliRunner().invoke(main, ["study", "--results", str(votes_path)])
    assert text.exit_code == 0 and "abpn-x2" in text.output and "ties reported separately" in text.output
    if LPIPS_WEIGHTS.exists():  # the same agreement from the votes file alone and from the manifest
        table = {e["name"]: e["lpips"] for e in manifest["images"]}
        lower_left = [table[v["image"]][v["model_left"]] < table[v["image"]][v["model_right"]] for v in doc["votes"]]
        agree = sum(low == (v["choice"] == "left") for low, v in zip(lower_left, doc["votes"]) if v["choice"] != "same")
        assert res["lpips_agreement"]["agree"] == agree and res["lpips_agreement"]["votes"] == 6
        assert json.loads(CliRunner().invoke(main, ["study", "--results", str(votes_path), "--json"]).output)[
            "lpips_agreement"]["agree"] == agree
