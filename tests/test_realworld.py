"""The realworld degradation (keras_sr.data.realworld): parameters, ops against BasicSR /
PyTorch (when installed), determinism, ranges, shapes, pipeline vs device statistics, the
``degrade`` CLI and ``evaluate --degradation realworld``."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import types

import numpy as np
import pytest

from cli_helpers import run as run_cli
from keras_sr.data import realworld as rw
from keras_sr.errors import UsageError


def tf():
    import tensorflow

    return tensorflow


def u8(x) -> np.ndarray:
    return np.round(np.asarray(x) * 255.0).astype(np.uint8)


@pytest.fixture(scope="module")
def hr_batch(photo):
    """Four 64x48 RGB crops of the astronaut, float [0, 1]."""
    crops = [photo[y:y + 64, x:x + 48] for y, x in ((0, 0), (16, 40), (32, 80), (8, 60))]
    return np.stack(crops).astype(np.float32) / 255.0


# ---------------------------------------------------------------- parameters

def test_defaults_are_real_esrgan_x4plus():
    p = rw.RealWorldParams()
    assert p.kernel_range == (7, 21) and p.kernel_prob == (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    assert (p.blur_sigma, p.blur_sigma2, p.second_blur_prob, p.sinc_prob) == ((0.2, 3.0), (0.2, 1.5), 0.8, 0.1)
    assert (p.resize_prob, p.resize_range, p.resize_prob2, p.resize_range2) == (
        (0.2, 0.7, 0.1), (0.15, 1.5), (0.3, 0.4, 0.3), (0.3, 1.2))
    assert (p.noise_range, p.noise_range2, p.poisson_scale_range, p.poisson_scale_range2) == (
        (1, 30), (1, 25), (0.05, 3), (0.05, 2.5))
    assert (p.gray_noise_prob, p.jpeg_range, p.jpeg_range2, p.final_sinc_prob) == (0.4, (30, 95), (30, 95), 0.8)


@pytest.mark.parametrize("change, words", [
    (dict(noise_range=(-1.0, 30.0)), "noise sigma must be >= 0"),
    (dict(jpeg_range=(0, 95)), "JPEG quality must be in 1..100"),
    (dict(jpeg_range2=(30, 101)), "JPEG quality must be in 1..100"),
    (dict(kernel_range=(8, 21)), "odd"),
    (dict(kernel_prob=(0.5, 0.5, 0.5, 0, 0, 0)), "sum to 1"),
    (dict(resize_prob2=(0.3, 0.3, 0.3)), "sum to 1"),
    (dict(gray_noise_prob=1.5), "probability"),
    (dict(blur_sigma=(3.0, 0.2)), "low > high"),
])
def test_bad_params_are_one_line_usage_errors(change, words):
    with pytest.raises(UsageError, match=words) as err:
        rw.RealWorldParams(**change)
    assert "\n" not in str(err.value)


def test_mild_halves_noise_and_jpeg_and_round_trips():
    m = rw.RealWorldParams.mild()
    assert m.noise_range == (0.5, 15.0) and m.poisson_scale_range2 == (0.025, 1.25)
    assert m.jpeg_range == (65, 97) and m.blur_sigma == (0.2, 3.0)
    assert rw.RealWorldParams.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert rw.DEFAULT_PARAMS.with_overrides(["noise_range=1,10", "sinc_prob=0"]).noise_range == (1.0, 10.0)


# ---------------------------------------------------------------- ops vs the original runtime

def _basicsr():
    """BasicSR's degradations.py and img_process_util.py loaded by path (no package import)."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("basicsr") is None:
        pytest.skip("reference needs torch and basicsr (pip install torch basicsr --no-deps)")
    root = importlib.util.find_spec("basicsr").submodule_search_locations[0]
    stub = types.ModuleType("torchvision.transforms.functional_tensor")
    stub.rgb_to_grayscale = None  # imported by degradations.py, unused by the kernels
    for name in ("torchvision", "torchvision.transforms"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules.setdefault("torchvision.transforms.functional_tensor", stub)
    mods = []
    for name, rel in (("_bsr_degradations", "data/degradations.py"), ("_bsr_imgproc", "utils/img_process_util.py")):
        spec = importlib.util.spec_from_file_location(name, f"{root}/{rel}")
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        mods.append(m)
    return mods


@pytest.mark.parametrize("ktype, size, sx, sy, theta, beta", [
    (0, 9, 1.3, 1.3, 0.0, 1.0), (1, 15, 2.5, 0.7, 0.8, 1.0), (2, 21, 1.1, 1.1, 0.0, 0.6),
    (3, 7, 2.0, 0.5, -2.0, 3.1), (4, 13, 1.7, 1.7, 0.0, 1.6), (5, 11, 0.4, 2.9, 2.5, 1.2)])
def test_kernels_match_basicsr(ktype, size, sx, sy, theta, beta):
    deg, _ = _basicsr()
    iso = ktype % 2 == 0
    fn = (deg.bivariate_Gaussian, deg.bivariate_generalized_Gaussian, deg.bivariate_plateau)[ktype // 2]
    args = (size, sx, sy, theta) if ktype < 2 else (size, sx, sy, theta, beta)
    ref = np.pad(fn(*args, isotropic=iso), (21 - size) // 2)
    ours = rw.kernels_from([ktype], [size], [sx], [sy], [theta], [beta], [0.0], 21).numpy()[0]
    np.testing.assert_allclose(ours, ref, atol=1e-7)


@pytest.mark.parametrize("size, omega", [(7, 1.5), (13, 3.0), (21, 0.7)])
def test_sinc_kernel_matches_basicsr(size, omega):
    deg, _ = _basicsr()
    ours = rw.kernels_from([rw.SINC], [size], [1.0], [1.0], [0.0], [1.0], [omega], 21).numpy()[0]
    np.testing.assert_allclose(ours, deg.circular_lowpass_kernel(omega, size, pad_to=21), atol=1e-7)


def test_resize_blur_usm_match_pytorch_and_basicsr():
    _, proc = _basicsr()
    import torch
    import torch.nn.functional as F

    x = np.random.default_rng(0).random((2, 37, 29, 3)).astype(np.float32)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    back = lambda t_: t_.permute(0, 2, 3, 1).numpy()  # noqa: E731
    for i, mode in enumerate(rw.RESIZE_MODES):
        for sf in (0.15, 0.37, 1.43):  # scale_factor: PyTorch samples with 1 / scale_factor
            ref = back(F.interpolate(xt, scale_factor=sf, mode=mode))
            ours = rw.resize(x, [math.floor(37 * sf), math.floor(29 * sf)], i, inv_scale=1 / sf).numpy()
            np.testing.assert_allclose(ours, ref, atol=1e-5, err_msg=f"{mode} x{sf}")
        for size in ((9, 7), (50, 41)):
            np.testing.assert_allclose(rw.resize(x, size, i).numpy(), back(F.interpolate(xt, size=size, mode=mode)),
                                       atol=1e-5, err_msg=f"{mode} {size}")
    kernels = np.random.default_rng(1).random((2, 21, 21)).astype(np.float32)  # asymmetric: correlation
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(rw.blur(x, kernels).numpy(), back(proc.filter2D(xt, torch.from_numpy(kernels))),
                               atol=1e-5)
    np.testing.assert_allclose(rw.usm_sharpen(x).numpy(), back(proc.USMSharp()(xt)), atol=1e-5)


def test_reflect_pad_matches_numpy_and_survives_tiny_images():
    x = np.arange(2 * 5 * 4 * 1, dtype=np.float32).reshape(2, 5, 4, 1)
    np.testing.assert_array_equal(rw.reflect_pad(x, 3).numpy(), np.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)), "reflect"))
    tiny = rw.blur(np.ones((1, 1, 2, 3), np.float32), rw.sample([0, 1], 1)["kernel1"]["kernel"])
    np.testing.assert_allclose(tiny.numpy(), 1.0, atol=1e-5)


# ---------------------------------------------------------------- noise and JPEG ops

def test_noise_ops_have_their_documented_strength():
    t = tf()
    flat = np.full((2, 64, 64, 3), 0.5, np.float32)
    out = rw.gaussian_noise(flat, [10.0, 20.0], [False, True], t.constant([1, 2], t.int64)).numpy() - 0.5
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)) * 255, [10, 20], rtol=0.05)
    assert np.abs(out[1, ..., 0] - out[1, ..., 2]).max() == 0  # gray noise: one field on all channels
    assert np.abs(out[0, ..., 0] - out[0, ..., 2]).max() > 0
    ramp = np.tile(np.arange(256, dtype=np.float32) / 255.0, (256, 1))[None, ..., None]  # 256 levels: v = 256
    noisy = rw.poisson_noise(ramp, [2.0], [False], t.constant([3, 4], t.int64)).numpy() - ramp
    inside = (ramp > 0.2) & (ramp < 0.8)  # away from clipping: var = scale^2 * x / v
    ratio = (noisy[inside] ** 2).mean() / (4.0 * ramp[inside] / 256.0).mean()
    assert 0.9 < ratio < 1.1


def test_jpeg_is_per_image_quality():
    img = np.random.default_rng(0).random((1, 32, 32, 3)).astype(np.float32)
    img = np.repeat(img, 2, axis=0)
    out = rw.jpeg(img, [95, 30]).numpy()
    err = np.abs(out - img).mean(axis=(1, 2, 3))
    assert err[0] < err[1]
    assert np.allclose(out * 255.0, np.round(out * 255.0), atol=1e-3)  # 8-bit levels


# ---------------------------------------------------------------- the whole chain

def test_output_shape_range_and_8bit_levels(hr_batch):
    lr, s = rw.degrade_batch(hr_batch, [3, 4], 4, return_params=True)
    assert lr.shape == (4, 16, 12, 3)
    v = lr.numpy()
    assert v.min() >= 0 and v.max() <= 1 and np.allclose(v * 255, np.round(v * 255), atol=1e-3)
    odd = rw.degrade_batch(hr_batch[0, :50, :37], [5, 6], 3)  # rank 3, sizes not multiples of s
    assert odd.shape == (16, 12, 3)
    gray = rw.degrade_batch(hr_batch[:2, ..., :1], [7, 8], 2)  # one channel goes through too
    assert gray.shape == (2, 32, 24, 1)
    for rec in rw.records(s):
        assert json.loads(json.dumps(rec)) == rec


def test_same_seed_same_output_eager_and_tf_data(hr_batch):
    t = tf()
    a = rw.degrade_batch(hr_batch, [11, 12], 4)
    b = rw.degrade_batch(hr_batch, [11, 12], 4)
    d = next(iter(t.data.Dataset.from_tensors(hr_batch).map(lambda x: rw.degrade_batch(x, [11, 12], 4))))
    assert np.array_equal(u8(a), u8(b)) and np.array_equal(u8(a), u8(d))  # eager == graph (tf.data)
    assert not np.array_equal(u8(a), u8(rw.degrade_batch(hr_batch, [11, 13], 4)))
    assert rw.records(rw.sample([11, 12], 4)) == rw.records(rw.sample([11, 12], 4))


def test_sampled_parameters_stay_in_their_ranges():
    t = tf()
    p = rw.DEFAULT_PARAMS
    s = rw.sample([21, 22], 4096)
    for stage, sig, poi, jq in ((1, p.noise_range, p.poisson_scale_range, p.jpeg_range),
                                (2, p.noise_range2, p.poisson_scale_range2, p.jpeg_range2)):
        noise = s[f"noise{stage}"]
        sigma, scale, q = noise["sigma"].numpy(), noise["poisson_scale"].numpy(), s[f"jpeg{stage}"].numpy()
        assert sig[0] <= sigma.min() and sigma.max() <= sig[1] and abs(sigma.mean() - sum(sig) / 2) < 1.0
        assert poi[0] <= scale.min() and scale.max() <= poi[1]
        assert set(np.unique(q)) == set(range(jq[0], jq[1] + 1))  # every integer quality, nothing else
        assert abs(noise["gray"].numpy().mean() - 0.4) < 0.03
    for key, sigma_range in (("kernel1", p.blur_sigma), ("kernel2", p.blur_sigma2)):
        k = s[key]
        size, kernel, ktype = k["size"].numpy(), k["kernel"].numpy(), k["type"].numpy()
        assert set(np.unique(size)) == set(range(7, 22, 2))
        np.testing.assert_allclose(kernel.sum(axis=(1, 2)), 1.0, atol=1e-5)
        c = np.arange(21) - 10
        outside = (np.abs(c)[None, :, None] > size[:, None, None] // 2) | (np.abs(c)[None, None, :] > size[:, None, None] // 2)
        assert np.all(kernel[outside] == 0)
        assert abs((ktype == rw.SINC).mean() - 0.1) < 0.02
        mixed = ktype[ktype != rw.SINC]
        freq = np.bincount(mixed, minlength=6) / len(mixed)
        np.testing.assert_allclose(freq, p.kernel_prob, atol=0.03)
        sx = k["sigma_x"].numpy()[ktype != rw.SINC]
        assert sigma_range[0] <= sx.min() and sx.max() <= sigma_range[1]
    assert abs(s["sinc"]["applied"].numpy().mean() - 0.8) < 0.03
    for rec in rw.records(rw.sample([23, 24], 8)):  # records: kernels cropped to size, summing to 1
        for k in (rec["kernel1"], rec["kernel2"], rec["final_sinc"]):
            if k is not None:
                assert len(k["kernel"]) == k["size"] and abs(np.sum(k["kernel"]) - 1) < 1e-5
    # per-batch draws: resize kinds and scales over many seeds
    draw = t.function(lambda seed: rw.sample(seed, 1)["resize1"])
    kinds, scales = [], []
    for i in range(300):
        r = draw(t.constant([99, i], t.int64))
        kinds.append(int(r["kind"]))
        scales.append((int(r["kind"]), float(r["scale"])))
    np.testing.assert_allclose(np.bincount(kinds, minlength=3) / 300, p.resize_prob, atol=0.07)
    assert all(1 <= v <= 1.5 for k, v in scales if k == 0) and all(0.15 <= v <= 1 for k, v in scales if k == 1)


# ---------------------------------------------------------------- pipeline vs device

def test_pipeline_and_device_modes_draw_the_same_distribution(tiny_data):
    """LR pixel statistics of ``training_dataset`` (tf.data) and of the device train step's
    pairs over 192 patches each agree within 4 standard errors (batch means), and so do the
    noise sigma / JPEG quality draws of each mode's seed stream."""
    t = tf()
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import PipelineConfig, degradation_seeds, hr_crop_dataset, training_dataset
    from keras_sr.training.augment import device_pairs, step_seed

    files = list_images([tiny_data])
    cfg = PipelineConfig(scale=4, patch_size=32, degradation="realworld", color_space="rgb", input_mode="lr",
                         batch_size=4, seed=5, cache=True)
    n_batches = 48
    pipe = [x.numpy() for x, _ in training_dataset(files, cfg).take(n_batches)]
    step = t.function(lambda hr, i: device_pairs(hr, 4, "realworld", step_seed(5, i))[0])
    dev = [step(hr, t.constant(i, t.int64)).numpy() for i, hr in enumerate(hr_crop_dataset(files, cfg).take(n_batches))]
    assert pipe[0].shape == dev[0].shape == (4, 8, 8, 3)
    for stat in (np.mean, np.std):
        a = np.array([stat(b) for b in pipe])
        b = np.array([stat(b) for b in dev])
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) < 4 * se, (stat.__name__, a.mean(), b.mean(), se)
    pipe_seeds = [s for s in degradation_seeds(5).take(n_batches)]
    dev_seeds = [step_seed(5, i) for i in range(n_batches)]
    draws = t.function(lambda seed: rw.sample(seed, 4))
    for seeds in (pipe_seeds, dev_seeds):
        drawn = [draws(s) for s in seeds]
        sigma = np.concatenate([d["noise1"]["sigma"].numpy() for d in drawn])
        q = np.concatenate([d["jpeg2"].numpy() for d in drawn])
        assert 1 <= sigma.min() and sigma.max() <= 30 and abs(sigma.mean() - 15.5) < 4 * 8.4 / 16
        assert 30 <= q.min() and q.max() <= 95 and abs(q.mean() - 62.5) < 4 * 18.8 / 16


def test_train_device_mode_runs_and_records_realworld(tiny_data, tmp_path):
    out = tmp_path / "run"
    r = run_cli("train", "espcn", "--factor", 4, "-d", tiny_data, "--color-space", "rgb", "--degradation",
                "realworld", "--augment-on", "device", "--epochs", 1, "--steps-per-epoch", 2, "--batch-size", 4,
                "--patch-size", 32, "--track", "none", "--degradation-param", "noise_range=1,15", "--pair-reuse", 2,
                "-o", out)
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "record.json").read_text())
    assert rec["degradation"] == "realworld" and rec["config"]["augment_on"] == "device"
    assert rec["config"]["pair_reuse"] == 2
    assert rec["config"]["degradation_params"] == {"noise_range": [1.0, 15.0]}
    assert rec["optimizer_iterations"] == {"model": 2}


# ---------------------------------------------------------------- CLI

def test_degrade_cli_writes_png_and_json_identically_for_a_seed(tiny_data, tmp_path):
    from PIL import Image

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    r = run_cli("degrade", tiny_data, "-o", a, "--factor", 4, "--seed", 7, "--figure", tmp_path / "grid.png")
    assert r.exit_code == 0, r.output
    assert run_cli("degrade", tiny_data, "-o", b, "--factor", 4, "--seed", 7).exit_code == 0
    assert run_cli("degrade", tiny_data, "-o", c, "--factor", 4, "--seed", 8).exit_code == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == ["a.png", "b.png", "c.png", "d.png", "e_gray.png", "params.json"]
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert (a / "a.png").read_bytes() != (c / "a.png").read_bytes()
    assert Image.open(a / "a.png").size == (24, 24) and Image.open(a / "e_gray.png").mode == "L"
    rec = json.loads((a / "params.json").read_text())
    assert rec["seed"] == 7 and rec["params"] == rw.DEFAULT_PARAMS.to_dict()
    img = rec["images"]["a.png"]
    assert img["seed"] == rw.image_seed(7, "a.png") and 30 <= img["params"]["jpeg1_quality"] <= 95
    assert (tmp_path / "grid.png").stat().st_size > 0
    bic = tmp_path / "bic"
    assert run_cli("degrade", tiny_data, "-o", bic, "--degradation", "bicubic", "--factor", 2).exit_code == 0
    assert Image.open(bic / "b.png").size == (48, 48)
    assert json.loads((bic / "params.json").read_text())["params"] is None


@pytest.mark.parametrize("args, words", [
    (["--degradation", "foo"], "unknown degradation 'foo'"),
    (["--param", "noise_range=-1,30"], "noise sigma must be >= 0"),
    (["--param", "jpeg_range=0,95"], "JPEG quality must be in 1..100"),
    (["--param", "jpeg_range2=30,101"], "JPEG quality must be in 1..100"),
    (["--param", "kernel_range=8,21"], "odd"),
    (["--param", "nosuch=1"], "NAME=VALUE"),
])
def test_degrade_cli_bad_input_is_one_line_exit_2(tiny_data, tmp_path, args, words):
    r = run_cli("degrade", tiny_data, "-o", tmp_path / "out", *args)
    assert r.exit_code == 2
    assert r.output.startswith("Error: ") and words in r.output and r.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_evaluate_realworld_is_deterministic_and_reports_params(tiny_data, tmp_path):
    base = ["evaluate", "-m", "espcn-x4", "-d", tiny_data, "--factor", 4, "--degradation", "realworld",
            "--seed", 0]
    r1 = run_cli(*base, "--json", "--report", tmp_path / "rep")
    r2 = run_cli(*base, "--json")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output
    j1, j2 = (json.loads(r.output[r.output.index("{"):]) for r in (r1, r2))
    assert j1["rows"] == j2["rows"] and j1["protocol"] == "paper+realworld-seed0"
    deg = j1["degradation"]
    assert deg["seed"] == 0 and deg["params"] == rw.DEFAULT_PARAMS.to_dict()
    assert sorted(deg["images"]) == ["a", "b", "c", "d", "e_gray"]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["degradation"] == deg
    r3 = run_cli("evaluate", "-m", "espcn-x4", "-d", tiny_data, "--factor", 4, "--json")
    plain = json.loads(r3.output[r3.output.index("{"):])
    assert "degradation" not in plain and plain["protocol"] == "paper"
    assert plain["mean"]["bicubic_psnr"] > j1["mean"]["bicubic_psnr"] + 3  # degraded LR is much worse


def test_evaluate_draws_matches_single_seed_runs_and_reports_the_spread(tiny_data, tmp_path):
    base = ["evaluate", "-m", "espcn-x4", "-d", tiny_data, "--factor", 4, "--degradation", "realworld"]
    r = run_cli(*base, "--seed", 3, "--draws", 3, "--json", "--report", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    j = json.loads(r.output[r.output.index("{"):])
    agg = j["over_draws"]
    assert agg["seeds"] == [3, 4, 5] and agg["draws"] == 3 and agg["images"] == 5
    singles = []
    for k, seed in enumerate((3, 4, 5)):  # each draw is exactly the single-seed evaluation
        one = json.loads((lambda o: o[o.index("{"):])(run_cli(*base, "--seed", seed, "--json").output))
        assert j["results"][k]["rows"] == one["rows"]
        assert agg["per_draw"][k]["delta_psnr"] == pytest.approx(one["mean"]["delta_psnr"])
        singles.append(one["mean"]["delta_psnr"])
    assert len(set(round(s, 6) for s in singles)) == 3  # the draws differ
    assert agg["mean"]["delta_psnr"] == pytest.approx(np.mean(singles))
    assert agg["sd"]["delta_psnr"] == pytest.approx(np.std(singles, ddof=1))
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [
        "draws.json", "draws.txt", "seed_3", "seed_4", "seed_5"]
    assert json.loads((tmp_path / "rep" / "seed_4" / "summary.json").read_text())["degradation"]["seed"] == 4
    text = run_cli(*base, "--seed", 3, "--draws", 3).output
    assert "3 degradation draws (seeds 3-5) of 5 images" in text and "\nsd " in text


@pytest.mark.parametrize("args, words", [
    (["--draws", "0", "--degradation", "realworld"], "--draws must be at least 1"),
    (["--draws", "2"], "--draws needs a stochastic degradation"),
    (["--draws", "2", "--degradation", "bicubic"], "--draws needs a stochastic degradation"),
])
def test_evaluate_draws_bad_input_is_one_line_exit_2(tiny_data, args, words):
    r = run_cli("evaluate", "-m", "espcn-x4", "-d", tiny_data, "--factor", 4, *args)
    assert r.exit_code == 2
    assert r.output.startswith("Error: ") and words in r.output and r.output.count("\n") == 1


# ---------------------------------------------------------------- the light chain (one stage)

def test_light_params_are_one_stage_and_stated():
    p = rw.RealWorldParams.light()
    assert p.stages == 1 and rw.DEFAULT_PARAMS.stages == 2
    assert (p.noise_range, p.gaussian_noise_prob, p.jpeg_range, p.usm_weight) == ((1.0, 10.0), 1.0, (50, 95), 0.0)
    assert p.blur_sigma == (0.2, 1.0) and p.sinc_prob == 0 and p.kernel_prob[2:] == (0, 0, 0, 0)
    assert rw.RealWorldParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert p.updated({"noise_range": [2, 4]}).noise_range == (2, 4) and p.updated({}).stages == 1
    with pytest.raises(UsageError, match="unknown realworld parameter"):
        p.updated({"nosuch": 1})
    with pytest.raises(UsageError, match="stages"):
        rw.RealWorldParams(stages=3)
    from keras_sr.data.degradations import get_degradation

    light = get_degradation("light")
    assert light.stochastic and light.default_params() == p
    assert get_degradation("realworld").default_params() == rw.DEFAULT_PARAMS
    assert light.resolve_params({"jpeg_range": [60, 70]}) == p.updated({"jpeg_range": (60, 70)})


def test_light_draws_stay_in_their_ranges():
    p = rw.RealWorldParams.light()
    s = rw.sample([31, 32], 4096, p)
    n, k = s["noise1"], s["kernel1"]
    sigma, q, ktype = n["sigma"].numpy(), s["jpeg1"].numpy(), k["type"].numpy()
    assert int(n["kind"]) == 0  # always Gaussian
    assert 1.0 <= sigma.min() and sigma.max() <= 10.0 and abs(sigma.mean() - 5.5) < 0.3
    assert set(np.unique(q)) == set(range(50, 96))  # one JPEG, every integer quality in 50..95
    assert abs(n["gray"].numpy().mean() - 0.2) < 0.03
    assert set(np.unique(ktype)) == {0, 1} and abs((ktype == 0).mean() - 0.7) < 0.03  # iso/aniso Gaussians
    assert set(np.unique(k["size"].numpy())) == {5, 7, 9}
    sx = k["sigma_x"].numpy()
    assert 0.2 <= sx.min() and sx.max() <= 1.0


def test_light_is_deterministic_and_reports_what_it_drew(photo):
    p = rw.RealWorldParams.light()
    a, rec = rw.degrade_image(photo, 2, [5, 6], p)
    b, rec_b = rw.degrade_image(photo, 2, [5, 6], p)
    c, _ = rw.degrade_image(photo, 2, [5, 7], p)
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and rec == rec_b and not np.array_equal(a, c)
    assert sorted(rec) == ["jpeg1_quality", "kernel1", "noise1", "resize", "stages"] and rec["stages"] == 1
    assert 50 <= rec["jpeg1_quality"] <= 95 and 1 <= rec["noise1"]["sigma"] <= 10
    assert json.loads(json.dumps(rec)) == rec
    gray, _ = rw.degrade_image(photo[..., 1], 4, [5, 6], p)
    assert gray.shape == (24, 32)


def test_light_chain_is_downscale_blur_noise_jpeg_in_that_order(photo):
    """Against an independent composition: MATLAB bicubic (tf.image.resize, antialiased), the
    recorded kernel correlated with SciPy (reflect = 'mirror'), then one JPEG at the recorded
    quality; noise off so the rest is exact."""
    from scipy.ndimage import correlate

    from keras_sr.data.degradations import bicubic_resize

    p = rw.RealWorldParams.light(noise_range=(0.0, 0.0))
    lr, rec = rw.degrade_image(photo, 2, [8, 9], p)
    x = np.asarray(bicubic_resize(photo.astype(np.float32) / 255.0, size=(48, 64)))
    kernel = np.asarray(rec["kernel1"]["kernel"])
    blurred = np.stack([correlate(x[..., c], kernel, mode="mirror") for c in range(3)], -1)
    ref = u8(rw.jpeg(tf().constant(blurred[None], tf().float32), [rec["jpeg1_quality"]], accurate=True)[0])
    assert np.abs(lr.astype(int) - ref.astype(int)).max() <= 1  # float order of the blur may move a level
    assert (lr != ref).mean() < 0.01
    noisy, _ = rw.degrade_image(photo, 2, [8, 9], rw.RealWorldParams.light(noise_range=(10.0, 10.0)))
    assert np.abs(noisy.astype(float) - lr).mean() > 2  # the noise acts (sigma 10 through JPEG)


@pytest.mark.parametrize("quality", [50, 95])
def test_jpeg_channel_means_accurate_decode_vs_tensorflow_default(photo, quality):
    """The light chain's JPEG (accurate IDCT) keeps each channel mean of a natural photo within
    0.3 levels; TensorFlow's default decode (the realworld chain's, kept for byte-identity)
    lowers R and B by ~1 level, a cast DiffJPEG (Real-ESRGAN) does not have."""
    x = tf().constant(photo[None].astype(np.float32) / 255.0)
    ref = photo.astype(np.float64).mean(axis=(0, 1))
    accurate = np.asarray(rw.jpeg(x, [quality], accurate=True))[0].mean(axis=(0, 1)) * 255.0 - ref
    fast = np.asarray(rw.jpeg(x, [quality]))[0].mean(axis=(0, 1)) * 255.0 - ref
    assert np.abs(accurate).max() < 0.3, accurate
    assert fast[0] < -0.7 and fast[2] < -0.7 and abs(fast[1]) < 0.3, fast


def test_degrade_cli_light_and_mild_only_for_realworld(tiny_data, tmp_path):
    r = run_cli("degrade", tiny_data, "-o", tmp_path / "l", "--degradation", "light", "--factor", 2, "--seed", 3)
    assert r.exit_code == 0, r.output
    rec = json.loads((tmp_path / "l" / "params.json").read_text())
    assert rec["degradation"] == "light" and rec["params"] == rw.RealWorldParams.light().to_dict()
    assert rec["images"]["a.png"]["params"]["stages"] == 1
    r = run_cli("degrade", tiny_data, "-o", tmp_path / "m", "--degradation", "light", "--mild")
    assert r.exit_code == 2 and "--mild is for the realworld degradation" in r.output


def test_train_light_records_its_overrides_against_the_light_params(tiny_data, tmp_path):
    out = tmp_path / "run"
    r = run_cli("train", "espcn", "--factor", 2, "-d", tiny_data, "--color-space", "rgb", "--degradation", "light",
                "--epochs", 1, "--steps-per-epoch", 2, "--batch-size", 4, "--patch-size", 32, "--track", "none",
                "--degradation-param", "jpeg_range=60,70", "-o", out)
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "record.json").read_text())
    assert rec["degradation"] == "light" and rec["config"]["degradation_params"] == {"jpeg_range": [60.0, 70.0]}
    r = run_cli("train", "espcn", "--factor", 2, "-d", tiny_data, "--degradation", "bicubic",
                "--degradation-param", "jpeg_range=60,70", "-o", tmp_path / "bad")
    assert r.exit_code == 2 and "for the realworld and light degradations, not 'bicubic'" in r.output


# ---------------------------------------------------------------- colour fidelity (channel means)

def _mean_shift(x, y) -> np.ndarray:
    """Per-channel mean of ``y`` minus that of ``x`` (float [0, 1] images), in 8-bit levels."""
    return (np.asarray(y, np.float64).reshape(-1, 3).mean(0) - np.asarray(x, np.float64).reshape(-1, 3).mean(0)) * 255


def _kernel(name):
    kt = rw.SINC if name == "sinc" else rw.KERNEL_TYPES.index(name)
    iso = "aniso" not in name
    return rw.kernels_from([kt], [21], [2.0], [2.0 if iso else 1.0], [0.0 if iso else 0.5], [1.5], [math.pi / 3], 21)


def _usm_unclipped(x, weight=0.5, threshold=10.0, radius=51):
    """:func:`rw.usm_sharpen` without its clip to [0, 1] (the sharpening itself)."""
    g = rw.gaussian_kernel_1d(radius)
    residual = x - rw._separable(x, g)
    soft = rw._separable(tf().cast(tf().abs(residual) * 255.0 > threshold, x.dtype), g)
    return x + soft * weight * residual


_MEAN_KEEPING_STEPS = {
    "usm_sharpen_unclipped": _usm_unclipped,
    **{f"blur_{k}": (lambda k: lambda x: rw.blur(x, _kernel(k)))(k) for k in rw.KERNEL_TYPES + ("sinc",)},
    **{f"resize_{m}_x{s}": (lambda i, s: lambda x: rw.quantize8(rw.resize(
        x, [int(x.shape[1] * s), int(x.shape[2] * s)], i, inv_scale=1 / s)))(i, s)
       for i, m in enumerate(rw.RESIZE_MODES) for s in (0.5, 1.5)},
    **{f"jpeg_q{q}_accurate": (lambda q: lambda x: rw.jpeg(x, [q], accurate=True))(q) for q in (50, 75, 95)},
    "quantize8": lambda x: rw.quantize8(x + 0.3 / 255),
}


@pytest.fixture(scope="module")
def astronaut():
    """scikit-image's astronaut, 512x512 RGB, float [0, 1], as a batch of one."""
    import skimage.data

    return tf().constant(skimage.data.astronaut()[None].astype(np.float32) / 255.0)


@pytest.mark.parametrize("step", sorted(_MEAN_KEEPING_STEPS))
def test_each_non_noise_step_keeps_channel_means(astronaut, step):
    """Every non-noise step of the chain (the unsharp mask's sharpening, each blur kernel type,
    each resize mode down and up, clipped and rounded, JPEG q 50-95 with the accurate decode)
    keeps each channel mean of a natural photo within 0.3 levels. Two exceptions, both as in
    BasicSR, are measured in the next tests and the module docstring: USM's clip to [0, 1], and
    JPEG at low quality (q 30 on this photo: B +0.53 with the accurate decode, +0.39 with
    DiffJPEG; a 96x128 crop: B +1.1 / +0.6): coarse DC quantization of few blocks, not a bias
    (the 29-photo average stays within 0.35 for both, tools/color_steps.py)."""
    d = _mean_shift(astronaut, _MEAN_KEEPING_STEPS[step](astronaut))
    assert np.abs(d).max() < 0.3, d


def test_unsharp_mask_clipping_shifts_channel_means(astronaut):
    """BasicSR's ``USMSharp`` clips the sharpened image to [0, 1]: on a photo with large white and
    black areas that lifts channel means (astronaut: about R +0.2, G +0.8, B +1.1 levels; 29
    photos: R -0.36, G -0.08, B -0.02 on average, one up to 4.5). Real-ESRGAN degrades the
    unsharp-masked HR and takes it as the pixel target too (``l1_gt_usm``; here ``usm_targets``
    of the GAN recipe), so the shift cancels there; a model trained with plain-HR targets
    (``usm_targets`` false) learns it as a cast unless ``usm_weight=0``."""
    clipped = _mean_shift(astronaut, rw.usm_sharpen(astronaut))
    unclipped = _mean_shift(astronaut, _usm_unclipped(astronaut))
    assert np.abs(unclipped).max() < 0.3 and clipped[2] > 0.6 and clipped[1] > 0.4, (clipped, unclipped)
    assert np.abs(_mean_shift(astronaut, rw.usm_sharpen(astronaut, weight=0.0))).max() == 0


def test_tensorflow_default_jpeg_decode_is_the_step_that_casts(astronaut):
    """The one deterministic step that shifts channel means: TensorFlow's default (fast IDCT)
    decode, what ``realworld`` keeps (R and B about -1.1 levels at every quality on 29 photos;
    DiffJPEG and the accurate decode within 0.35); ``realworld-accurate`` decodes accurately."""
    d = np.mean([_mean_shift(astronaut, rw.jpeg(astronaut, [q])) for q in (30, 60, 95)], axis=0)
    assert d[0] < -0.5 and d[2] < -0.5, d


def _gauss_clip_expectation(x, sigma):
    """E[clip(x + sigma Z, 0, 1)] - x per pixel, Z standard normal (closed form)."""
    from scipy.stats import norm

    a, b = -x / sigma, (1.0 - x) / sigma
    return (1 - norm.cdf(b)) + x * (norm.cdf(b) - norm.cdf(a)) + sigma * (norm.pdf(a) - norm.pdf(b)) - x


def _poisson_clip_expectation(x, scale, vals):
    """E[clip(x + scale (P(x v) / v - x), 0, 1)] - x per pixel for 8-bit ``x`` (BasicSR's shot noise)."""
    from scipy.stats import poisson

    levels = np.arange(256) / 255.0
    k = np.arange(int(vals * 3) + 64)[None]
    pmf = poisson.pmf(k, levels[:, None] * vals)
    out = (pmf * np.clip(levels[:, None] + scale * (k / vals - levels[:, None]), 0, 1)).sum(1) - levels
    return out[np.round(x * 255).astype(int)]


@pytest.mark.parametrize("kind, strength, gray", [("gaussian", 30.0, False), ("gaussian", 30.0, True),
                                                   ("gaussian", 10.0, False), ("poisson", 3.0, False),
                                                   ("poisson", 1.0, False)])
def test_noise_with_clipping_shifts_channel_means_as_predicted(astronaut, kind, strength, gray):
    """Noise clipped to [0, 1], as BasicSR does (``clip=True``), shifts channel means by design:
    dark pixels are clipped up, bright ones down. The measured shift matches the closed-form
    expectation of clipped noise on the same photo within 0.25 levels (~4 standard errors), and
    on the full astronaut it is large at the top of Real-ESRGAN's ranges. Measured (this test's
    print, levels R, G, B): Gaussian sigma 30 about (+1.2, +1.8, +2.2) colour or gray, sigma 10
    about (0.1, 0.1, 0.2); Poisson scale 3 about (-2.4, -0.8, -0.7), scale 1 about (-0.4, -0.2,
    -0.2). Over 29 natural photos, sigma 30 averages (-0.2, +0.4, +0.8), Poisson 3 (-2.1, -1.0,
    -0.8), with BasicSR's own functions giving the same (tools/color_steps.py)."""
    x = astronaut
    img = np.asarray(x)[0]
    seed = tf().constant([5, 6], tf().int64)
    if kind == "gaussian":
        out = rw.gaussian_noise(x, [strength], [gray], seed)
        expected = _gauss_clip_expectation(img.astype(np.float64), strength / 255.0)
    else:
        vals = 2 ** math.ceil(math.log2(len(np.unique(np.round(img * 255)))))  # BasicSR's `vals`
        assert vals == 256
        out = rw.poisson_noise(x, [strength], [False], seed)
        expected = _poisson_clip_expectation(img, strength, vals)
    d = _mean_shift(x, out)
    predicted = expected.reshape(-1, 3).mean(0) * 255
    print(kind, strength, "gray" if gray else "colour", "measured", np.round(d, 2), "predicted", np.round(predicted, 2))
    np.testing.assert_allclose(d, predicted, atol=0.25)
    if strength >= 3.0:
        assert np.abs(predicted).max() > 0.5  # a real shift, not "no shift"


def test_poisson_noise_is_degenerate_on_flat_images():
    """BasicSR's Poisson noise scales by ``vals`` = the number of distinct 8-bit levels rounded up
    to a power of two: a flat image has one level, so ``vals`` = 1 and the noise is
    ``P(x) - x``, whole units (255 levels apart) of std ``sqrt(x)`` instead of ``sqrt(x / 256)``.
    At scale 1 and clipped, a flat grey x becomes 0 with probability ``exp(-x)`` and 1 otherwise:
    a channel mean of ``1 - exp(-x)`` (x = 128/255: -28 levels), where a 256-level image gets a
    shift near 0. Here as in BasicSR (``generate_poisson_noise_pt``), by design of that code."""
    t = tf()
    x = 128 / 255.0
    flat = np.full((1, 256, 256, 3), x, np.float32)
    noise = rw.poisson_noise(flat, [1e-3], [False], t.constant([1, 2], t.int64)).numpy() - flat  # unclipped
    units = noise / 1e-3 + x  # = P(x * vals) / vals with vals = 1: whole numbers
    np.testing.assert_allclose(units, np.round(units), atol=2e-3)
    assert abs(units.std() - math.sqrt(x)) < 0.03 * math.sqrt(x)
    out = rw.poisson_noise(flat, [1.0], [False], t.constant([3, 4], t.int64)).numpy()
    assert set(np.unique(out)) <= {0.0, 1.0}
    expected = (1 - math.exp(-x) - x) * 255  # -27.7 levels
    np.testing.assert_allclose(_mean_shift(flat, out), [expected] * 3, atol=2.0)  # ~4 standard errors
    ramp = np.tile(np.arange(256, dtype=np.float32) / 255.0, (128, 1))[None, ..., None].repeat(3, -1)
    ramp_out = rw.poisson_noise(ramp, [1.0], [False], t.constant([3, 4], t.int64)).numpy()
    assert np.abs(_mean_shift(ramp, ramp_out)).max() < 1.0  # vals = 256: only the clipping at 1 shows


# ---------------------------------------------------------------- realworld-accurate

def test_realworld_accurate_differs_from_realworld_only_in_the_jpeg_decode(hr_batch, monkeypatch):
    from keras_sr.data.degradations import get_degradation

    t = tf()
    deg = get_degradation("realworld-accurate")
    p = deg.default_params()
    assert p == rw.RealWorldParams.accurate() == rw.DEFAULT_PARAMS.updated({"jpeg_accurate": True})
    assert not rw.DEFAULT_PARAMS.jpeg_accurate and rw.RealWorldParams.light().jpeg_accurate
    seed = t.constant([11, 12], t.int64)
    base, s0 = rw.degrade_batch(hr_batch, seed, 2, return_params=True)
    acc, s1 = rw.degrade_batch(hr_batch, seed, 2, p, return_params=True)
    assert rw.records(s0) == rw.records(s1)  # the same draws
    assert np.abs(u8(acc).astype(int) - u8(base)).max() > 0
    calls = []
    real_jpeg = rw.jpeg

    def fast_only(x, quality, accurate=False):
        calls.append(accurate)
        return real_jpeg(x, quality)

    monkeypatch.setattr(rw, "jpeg", fast_only)
    same = rw.degrade_batch(hr_batch, seed, 2, p)
    assert calls == [True, True]  # both JPEGs of the chain asked for the accurate decode
    np.testing.assert_array_equal(u8(same), u8(base))  # and nothing else differs


def test_realworld_accurate_from_the_cli_and_its_parameter(tiny_data, tmp_path):
    from PIL import Image

    from keras_sr.cli.main import _degradation_overrides

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_cli("degrade", tiny_data, "-o", a, "--degradation", "realworld-accurate", "--seed", 3).exit_code == 0
    assert run_cli("degrade", tiny_data, "-o", b, "--param", "jpeg_accurate=1", "--seed", 3).exit_code == 0
    assert run_cli("degrade", tiny_data, "-o", c, "--seed", 3).exit_code == 0
    rec = json.loads((a / "params.json").read_text())
    assert rec["degradation"] == "realworld-accurate" and rec["params"]["jpeg_accurate"] is True
    pngs = sorted(p.name for p in a.glob("*.png"))
    arr = lambda d, n: np.asarray(Image.open(d / n))  # noqa: E731
    assert all(np.array_equal(arr(a, n), arr(b, n)) for n in pngs)
    assert any(not np.array_equal(arr(a, n), arr(c, n)) for n in pngs)
    assert _degradation_overrides(["jpeg_accurate=1"], "realworld") == {"jpeg_accurate": True}
    assert _degradation_overrides(["jpeg_accurate=0"], "light") == {"jpeg_accurate": False}
    r = run_cli("degrade", tiny_data, "-o", tmp_path / "bad", "--param", "jpeg_accurate=2")
    assert r.exit_code == 2 and "jpeg_accurate" in r.output and len(r.output.strip().splitlines()) == 1
    with pytest.raises(UsageError, match="jpeg_accurate"):
        rw.RealWorldParams(jpeg_accurate=1)


def test_train_and_distill_pool_take_realworld_accurate(tiny_data, tmp_path):
    from keras_sr.training import distill as D

    out = tmp_path / "run"
    r = run_cli("train", "espcn", "--factor", 2, "-d", tiny_data, "--color-space", "rgb", "--degradation",
                "realworld-accurate", "--epochs", 1, "--steps-per-epoch", 2, "--batch-size", 4, "--patch-size", 32,
                "--track", "none", "--degradation-param", "noise_range=1,15", "-o", out)
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "record.json").read_text())
    assert rec["degradation"] == "realworld-accurate"
    assert rec["config"]["degradation_params"] == {"noise_range": [1.0, 15.0]}
    assert D.degradations("bicubic,realworld-accurate") == ["bicubic", "realworld-accurate"]
    hr = (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)
    params = {"noise_range": [1.0, 15.0]}
    got = np.asarray(D._degrade(hr, "realworld-accurate", 2, [4, 5], params))
    same = np.asarray(D._degrade(hr, "realworld", 2, [4, 5], {**params, "jpeg_accurate": True}))
    base = np.asarray(D._degrade(hr, "realworld", 2, [4, 5], params))
    np.testing.assert_array_equal(u8(got), u8(same))  # the pool's overrides apply to the variant
    assert np.abs(u8(got).astype(int) - u8(base)).max() > 0
    assert np.abs(u8(got).astype(int) - u8(D._degrade(hr, "realworld-accurate", 2, [4, 5], {}))).max() > 0
