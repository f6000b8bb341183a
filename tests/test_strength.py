"""--denoise auto: the JPEG table reader, the pixel noise estimator, the strength it picks."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from keras_sr.inference import strength

SIGMAS = (3, 5, 10, 15, 25)


def _jpeg_bytes(pixels, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", **kw)
    return buf.getvalue()


def _noisy(image, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


def _unreadable_table_jpeg(pixels) -> bytes:
    """A JPEG that decodes, with one step of its first quantization table set to 0."""
    data = bytearray(_jpeg_bytes(pixels, quality=80))
    i = data.index(b"\xff\xdb")
    data[i + 5 + 10] = 0  # marker, length (2), Pq/Tq (1), then 64 8-bit steps in zigzag order
    return bytes(data)


# -- JPEG tables -------------------------------------------------------------------------------

def test_ijg_formula_is_what_libjpeg_writes(photo):
    """The formula against libjpeg itself (through Pillow), luminance and chrominance."""
    for q in (1, 10, 25, 49, 50, 51, 75, 90, 100):
        im = Image.open(io.BytesIO(_jpeg_bytes(photo, quality=q)))
        luma, chroma = strength.ijg_tables(q)
        assert list(im.quantization[0]) == luma.tolist() and list(im.quantization[1]) == chroma.tolist(), q


@pytest.mark.parametrize("subsampling", [0, 2])
def test_table_reader_gives_libjpeg_quality_within_2(photo, subsampling):
    errors = []
    for q in range(10, 101):
        im = Image.open(io.BytesIO(_jpeg_bytes(photo, quality=q, subsampling=subsampling)))
        got, why = strength.jpeg_quality(im)
        assert why is None
        errors.append(abs(got - q))
    assert max(errors) <= 2, errors


def test_table_reader_gray_and_file_path(tmp_path, photo):
    p = tmp_path / "g.jpg"
    Image.fromarray(photo).convert("L").save(p, quality=37)
    assert strength.jpeg_quality(p) == (37, None)


def test_table_reader_says_why_not(tmp_path, photo):
    png = tmp_path / "a.png"
    Image.fromarray(photo).save(png)
    assert strength.jpeg_quality(png) == (None, "not a JPEG")
    assert strength.jpeg_quality(tmp_path / "missing.jpg")[0] is None
    bad = Image.open(io.BytesIO(_unreadable_table_jpeg(photo)))
    assert np.asarray(bad).shape == photo.shape  # the picture itself decodes
    assert strength.jpeg_quality(bad) == (None, "unreadable quantization tables")
    assert strength.quality_from_tables([list(range(1, 64))]) is None  # 63 entries
    assert strength.quality_from_tables([[0] * 64]) is None
    assert strength.quality_from_tables(None) is None


# -- pixel noise estimator ------------------------------------------------------------------------

def _skimage_photos():
    import skimage.data

    return {name: getattr(skimage.data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")}


def test_noise_estimator_recovers_sigma_within_25_percent_on_photos():
    for name, hr in _skimage_photos().items():
        assert strength.noise_sigma(hr) < 1.6, name  # a clean photo reads low
        for s in SIGMAS:
            got = strength.noise_sigma(_noisy(hr, s, seed=s))
            assert abs(got - s) <= 0.25 * s, (name, s, got)


# Photos of Set5/Set14 without noise of their own. Left out: head (= Set14 face), lenna, man,
# pepper (grainy scans: 3-4.3 levels before any noise is added, so sigma 3 reads 4.5-6.8) and
# baboon (fur at the pixel scale reads as 8.9 levels); tools/fit_strength.py noise lists all.
CLEAN_PHOTOS = {"Set5": ("baby_GT", "bird_GT", "butterfly_GT", "woman_GT"),
                "Set14": ("barbara", "bridge", "coastguard", "comic", "flowers", "foreman", "monarch", "zebra")}


def test_noise_estimator_on_set5_set14(shared_path):
    for dataset, names in CLEAN_PHOTOS.items():
        for name in names:
            f = shared_path("datasets", dataset, f"{name}.bmp")
            hr = np.asarray(Image.open(f).convert("RGB"))
            for s in SIGMAS:
                got = strength.noise_sigma(_noisy(hr, s, seed=s))
                assert abs(got - s) <= 0.25 * s, (f.name, s, got)


def test_noise_estimator_dtypes_gray_and_clipping(photo):
    noisy = _noisy(photo.astype(np.float64), 10)
    ref = strength.noise_sigma(noisy)
    assert strength.noise_sigma(noisy.astype(np.uint16) * 257) == pytest.approx(ref, rel=1e-4)
    assert strength.noise_sigma(noisy.astype(np.float32) / 255) == pytest.approx(ref, rel=1e-4)
    gray = _noisy(np.full((80, 90), 120.0), 7)
    assert strength.noise_sigma(gray) == pytest.approx(7, rel=0.1)
    # a blown-out (clipped) half has no noise left and must not pull the estimate to 0
    half = _noisy(np.concatenate([np.full((80, 45), 128.0), np.full((80, 45), 300.0)], axis=1), 7)
    assert strength.noise_sigma(half) == pytest.approx(7, rel=0.1)
    assert strength.noise_sigma(np.zeros((5, 5, 3), np.uint8)) == 0.0


# -- the strength ---------------------------------------------------------------------------------

def test_strength_is_monotone_in_every_cue():
    base = {"sigma": 1.0, "sigma_binned": 1.0, "blockiness": 0.0, "sharpness": 1.0}
    w0 = strength.strength_from(base, 95)
    assert 0.0 <= w0 <= 0.2
    for key, up in (("sigma", 1), ("sigma_binned", 1), ("blockiness", 1), ("sharpness", -1)):
        ws = [strength.strength_from(dict(base, **{key: base[key] + up * d}), 95) for d in np.linspace(0, 0.9, 10)]
        assert all(b >= a for a, b in zip(ws, ws[1:])), key
        assert ws[-1] > ws[0], key
    qs = [strength.strength_from(base, q) for q in range(100, 0, -5)]
    assert all(b >= a for a, b in zip(qs, qs[1:])) and qs[0] == w0 and qs[-1] == 1.0
    assert strength.strength_from(dict(base, sigma=12.0)) == 1.0


def _heavy_draws(hr, n=2):
    """The LR of the first ``n`` ``realworld`` draws (seeds [k, 4]) that its own sampled
    parameters call heavy: final JPEG quality <= 60 or second Gaussian noise sigma >= 10
    (the chain also draws near-clean cases, which auto rightly leaves weak)."""
    from keras_sr.data import realworld

    out, k = [], 0
    while len(out) < n:
        lr, params = realworld.degrade_batch(hr, [k, 4], 4, return_params=True)
        rec = realworld.records(params)[0]
        noise2 = rec["noise2"].get("sigma", 0.0) if rec["noise2"]["kind"] == "gaussian" else 0.0
        if rec["jpeg2_quality"] <= 60 or noise2 >= 10:
            out.append(np.clip(np.round(np.asarray(lr) * 255), 0, 255).astype(np.uint8))
        k += 1
    return out


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_auto_picks_weak_on_clean_and_strong_on_heavy(name):
    import skimage.data

    from keras_sr.data.degradations import get_degradation

    hr = getattr(skimage.data, name)().astype(np.float32) / 255.0
    hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
    clean = np.clip(np.round(np.asarray(get_degradation("bicubic").downscale(hr[None], 4)[0]) * 255), 0, 255)
    assert strength.estimate(clean.astype(np.uint8)).strength <= 0.2
    for heavy in _heavy_draws(hr):
        assert strength.estimate(heavy).strength >= 0.8


def test_estimate_names_its_source(tmp_path, photo):
    jpg, png = tmp_path / "a.jpg", tmp_path / "a.png"
    Image.fromarray(photo).save(jpg, quality=40)
    Image.fromarray(photo).save(png)
    pixels = np.asarray(Image.open(jpg))
    s = strength.estimate(pixels, jpg)
    assert (s.source, s.jpeg_quality, s.fallback, s.strength) == ("tables", 40, None, 1.0)
    s = strength.estimate(photo, png)
    assert (s.source, s.jpeg_quality, s.fallback) == ("pixels", None, "not a JPEG")
    assert s.strength == round(s.strength, 1)
    json.dumps(s.to_dict())


# -- upscale --denoise auto ----------------------------------------------------------------------

@pytest.fixture()
def zoo(tmp_path, monkeypatch):
    """A private zoo: 'full' names its sibling 'weak'; 'weak' has none."""
    from keras_sr.data.io import sha256_file
    from keras_sr.models import ModelInfo, save_with_info, srvgg

    rng = np.random.default_rng(0)
    for name in ("full", "weak"):
        m = srvgg(2, filters=4, convs=2)
        m.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in m.get_weights()])
        path = tmp_path / f"{name}.keras"
        save_with_info(m, path, ModelInfo(architecture="srvgg", scale=2, color_space="rgb", input_mode="lr",
                                          degradation="realworld"))
        card = {"name": name, "file": path.name, "sha256": sha256_file(path), "scale": 2}
        if name == "full":
            card["denoise_sibling"] = "weak"
        (tmp_path / f"{name}.json").write_text(json.dumps(card))
    monkeypatch.setenv("KERAS_SR_ZOO_DIR", str(tmp_path))
    return tmp_path


def _upscale(args):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    return CliRunner().invoke(main, ["upscale", *map(str, args)])


def test_upscale_auto_is_the_default_and_reports_per_file(zoo, tmp_path, photo):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo[:40, :48]).save(src / "a.png")
    Image.fromarray(photo[:40, :48]).save(src / "b.jpg", quality=30)
    (src / "c.jpg").write_bytes(_unreadable_table_jpeg(photo[:40, :48]))
    r = _upscale([src, "-o", tmp_path / "out", "--model", "full", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["input"].rsplit("/", 1)[-1]: row for row in json.loads(r.stdout)["denoise"]}
    assert rows["a.png"]["source"] == "pixels" and rows["a.png"]["fallback"] == "not a JPEG"
    assert rows["b.jpg"]["source"] == "tables" and rows["b.jpg"]["jpeg_quality"] == 30
    assert rows["b.jpg"]["strength"] == 1.0
    assert rows["c.jpg"]["source"] == "pixels" and rows["c.jpg"]["fallback"] == "unreadable quantization tables"
    for row in rows.values():
        assert 0.0 <= row["strength"] <= 1.0 and row["sigma"] >= 0.0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.jpg"]


def test_auto_output_is_the_blend_at_the_picked_strength(zoo, tmp_path, photo):
    from keras_sr.inference import Upscaler
    from keras_sr.models.denoise import with_denoise

    src = tmp_path / "b.jpg"
    Image.fromarray(photo[:40, :48]).save(src, quality=70)
    r = _upscale([src, "-o", tmp_path / "auto.png", "--model", "full", "--json"])
    w = json.loads(r.stdout)["denoise"][0]["strength"]
    assert 0.0 < w < 1.0  # a real blend, not one of the two models
    r = _upscale([src, "-o", tmp_path / "fixed.png", "--model", "full", "--denoise", w])
    assert r.exit_code == 0, r.output
    a, b = np.asarray(Image.open(tmp_path / "auto.png")), np.asarray(Image.open(tmp_path / "fixed.png"))
    np.testing.assert_array_equal(a, b)
    ref = Upscaler(with_denoise("full", w))(np.asarray(Image.open(src)))
    np.testing.assert_array_equal(a, ref)


def test_blends_are_cached_per_strength(zoo, tmp_path, photo, monkeypatch):
    from keras_sr.inference.batch import upscale_files
    from keras_sr.models import denoise

    src = tmp_path / "in"
    src.mkdir()
    for i, q in enumerate((30, 35, 40, 30)):  # all at strength 1.0
        Image.fromarray(photo[:32, :32 + i]).save(src / f"{i}.jpg", quality=q)
    calls = []
    real = denoise.blend_models
    monkeypatch.setattr(denoise, "blend_models", lambda a, b, w: calls.append(w) or real(a, b, w))
    summary = upscale_files([src], tmp_path / "out", "full", denoise="auto", progress=False)
    assert len(summary.written) == 4 and [s.strength for _, s in summary.denoise] == [1.0] * 4
    assert calls == [1.0]


def test_auto_is_ignored_without_a_sibling_and_a_number_still_overrides(zoo, tmp_path, photo):
    img = tmp_path / "in.png"
    Image.fromarray(photo[:16, :16]).save(img)
    r = _upscale([img, "-o", tmp_path / "o.png", "--model", "weak", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and "denoise" not in out and "no weak-denoise sibling" in out["notes"][0]
    r = _upscale([img, "-o", tmp_path / "o2.png", "--model", "weak", "--denoise", "auto"])
    assert r.exit_code == 0, r.output
    r = _upscale([img, "-o", tmp_path / "o3.png", "--model", "full", "--denoise", "0.3", "--json"])
    assert r.exit_code == 0 and "denoise" not in json.loads(r.stdout)


@pytest.mark.parametrize("value", ["2", "foo", "-0.1", "nan"])
def test_denoise_out_of_range_is_one_line_exit_2(zoo, tmp_path, photo, value):
    img = tmp_path / "in.png"
    Image.fromarray(photo[:16, :16]).save(img)
    r = _upscale([img, "-o", tmp_path / "o.png", "--model", "full", "--denoise", value])
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0 and f"--denoise is a strength in [0, 1], got {value}" in r.stderr
    assert not (tmp_path / "o.png").exists()
