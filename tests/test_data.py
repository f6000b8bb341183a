"""Colour conversion, degradations, image I/O and the tf.data pipeline."""

import warnings

import numpy as np
import pytest
from PIL import Image

from keras_sr.data.color import quantize, rgb_to_y, rgb_to_ycbcr, y_of_uint8, ycbcr_to_rgb
from keras_sr.data.degradations import DEGRADATIONS, get_degradation
from keras_sr.data.io import read_image, write_image
from keras_sr.data.pipeline import (DataWarning, PipelineConfig, scan_images, split_files,
                                    training_dataset, validation_dataset)
from keras_sr.errors import ImageReadError, KerasSRError, UsageError


# -- colour ------------------------------------------------------------------------------
def test_bt601_studio_range_and_opencv_full_range():
    white, black = np.ones((1, 1, 3)), np.zeros((1, 1, 3))
    assert rgb_to_y(white, "y-bt601")[0, 0, 0] * 255 == pytest.approx(235.0)
    assert rgb_to_y(black, "y-bt601")[0, 0, 0] * 255 == pytest.approx(16.0)
    assert rgb_to_y(white, "y-opencv")[0, 0, 0] == pytest.approx(1.0)
    # OpenCV: Y = 0.299 R + 0.587 G + 0.114 B
    assert rgb_to_y(np.array([[[1.0, 0, 0]]]), "y-opencv")[0, 0, 0] == pytest.approx(0.299)


@pytest.mark.parametrize("space", ["y-bt601", "y-opencv"])
def test_ycbcr_round_trip_numpy_and_tf(space):
    import tensorflow as tf

    rgb = np.random.default_rng(0).random((5, 7, 3))
    back = ycbcr_to_rgb(rgb_to_ycbcr(rgb, space), space)
    np.testing.assert_allclose(back, rgb, atol=1e-6)
    tf_y = rgb_to_ycbcr(tf.constant(rgb, tf.float32), space).numpy()
    np.testing.assert_allclose(tf_y, rgb_to_ycbcr(rgb, space), atol=1e-5)


def test_gray_image_y_is_its_gray_value():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(y_of_uint8(gray), gray)


def test_quantize_rounds_to_8bit_grid():
    np.testing.assert_allclose(quantize(np.array([0.0, 0.5, 1.2, -0.1])) * 255, [0, 128, 255, 0])


# -- degradations --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(n for n, d in DEGRADATIONS.items() if not d.stochastic))  # realworld: test_realworld
def test_degradation_sizes_ranges_and_constant_images(name):
    deg = get_degradation(name)
    hr = np.full((33, 20, 1), 0.4, np.float32)
    lr = np.asarray(deg.downscale(hr, 3))
    assert lr.shape == (11, 6, 1)
    np.testing.assert_allclose(lr, np.round(0.4 * 255) / 255, atol=1e-6)  # 8-bit LR
    up = np.asarray(deg.upscale(lr, size=(33, 20)))
    assert up.shape == (33, 20, 1) and up.min() >= 0 and up.max() <= 1


def test_bilinear_legacy_matches_opencv_inter_linear_on_a_known_vector():
    # cv2.resize INTER_LINEAR, half-pixel centres: x2 down = mean of pairs; x2 up of [a, b]
    # samples at -0.25, 0.25, 0.75, 1.25 (edge-clamped).
    deg = get_degradation("bilinear-legacy")
    row = np.array([0, 40, 80, 120], np.float32)[None, :, None] / 255.0
    lr = np.asarray(deg.downscale(row.repeat(2, 0), 2, quantize_output=False))[0, :, 0] * 255
    np.testing.assert_allclose(lr, [20, 100], atol=1e-4)
    up = np.asarray(deg.upscale(np.array([[[20.0], [100.0]]]) / 255.0, size=(1, 4)))[0, :, 0] * 255
    np.testing.assert_allclose(up, [20, 40, 80, 100], atol=1e-4)


def test_bicubic_is_antialiased_and_differs_from_legacy():
    hr = np.zeros((16, 16, 1), np.float32)
    hr[:, ::2] = 1.0  # Nyquist stripes: antialiased bicubic averages them out
    bic = np.asarray(get_degradation("bicubic").downscale(hr, 2, quantize_output=False))
    assert np.ptp(bic[2:-2, 2:-2]) < 0.05 and abs(float(bic[2:-2, 2:-2].mean()) - 0.5) < 0.05
    legacy = np.asarray(get_degradation("bilinear-legacy").downscale(hr, 2, quantize_output=False))
    assert not np.allclose(bic, legacy, atol=1e-3)


def test_unknown_degradation_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown degradation 'nearest'"):
        get_degradation("nearest")


# -- image files ---------------------------------------------------------------------------
def test_read_image_errors(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, not a PNG")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    for name, match in [("missing.png", "no such file"), ("zero.png", "empty file"),
                        ("text.png", "not an image"), ("trunc.jpg", "corrupt or truncated")]:
        with pytest.raises(ImageReadError, match=match):
            read_image(tmp_path / name)


def test_write_image_is_atomic_and_refuses_overwrite(tmp_path, photo):
    target = write_image(tmp_path / "x.png", photo)
    np.testing.assert_array_equal(read_image(target), photo)
    with pytest.raises(KerasSRError, match="output exists"):
        write_image(target, photo)
    with pytest.raises(KerasSRError, match="does not exist"):
        write_image(tmp_path / "nope" / "x.png", photo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


# -- pipeline ------------------------------------------------------------------------------
def _files(folder):
    return sorted(folder.iterdir())


def test_pipeline_shapes_ranges_and_mixed_formats(tiny_data):
    cfg = PipelineConfig(scale=2, patch_size=32, label_border=6, batch_size=8, seed=3)
    x, y = next(iter(training_dataset(_files(tiny_data), cfg)))
    assert x.shape == (8, 32, 32, 1) and y.shape == (8, 20, 20, 1)
    for t in (x, y):
        assert 0.0 <= float(np.min(t)) and float(np.max(t)) <= 1.0
    lr_cfg = PipelineConfig(scale=3, patch_size=48, batch_size=4, input_mode="lr", color_space="rgb")
    x, y = next(iter(training_dataset(_files(tiny_data), lr_cfg)))
    assert x.shape == (4, 16, 16, 3) and y.shape == (4, 48, 48, 3)


def test_pipeline_is_deterministic_with_a_seed(tiny_data):
    def batches(seed):
        cfg = PipelineConfig(scale=2, patch_size=24, batch_size=4, seed=seed)
        return [x.numpy() for x, _ in training_dataset(_files(tiny_data), cfg).take(3)]

    a, b, c = batches(5), batches(5), batches(6)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


def test_sliding_window_mode_counts_and_alignment(tiny_data):
    cfg = PipelineConfig(scale=2, patch_size=32, label_border=6, stride=16, batch_size=1000,
                         mode="sliding", degradation="bilinear-legacy", color_space="y-opencv")
    x, y = next(iter(training_dataset([tiny_data / "a.png"], cfg)))
    # 96 px: positions range(0, 96 - 32, 16) = 0, 16, 32, 48 -> 4 x 4 windows
    assert x.shape == (16, 32, 32, 1) and y.shape == (16, 20, 20, 1)
    # labels are the HR centres: compare with the Y of the file at window (16, 32)
    hr = y_of_uint8(read_image(tiny_data / "a.png"), "y-opencv") / 255.0
    centres = {tuple(np.round(hr[i + 6: i + 26, j + 6: j + 26] * 255).ravel()[:40])
               for i in range(0, 64, 16) for j in range(0, 64, 16)}
    assert tuple(np.round(y.numpy()[6, :, :, 0] * 255).ravel()[:40]) in centres


def test_scan_skips_small_and_broken_files_with_a_warning(tmp_path, tiny_data):
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    files = [tiny_data / "a.png", tmp_path / "small.png", tmp_path / "broken.png"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = scan_images(files, min_size=32)
    assert usable == [tiny_data / "a.png"]
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert any("small.png" in m and "smaller" in m for m in msgs)
    assert any("broken.png" in m for m in msgs)


def test_split_and_validation_set(tiny_data):
    train, val = split_files(_files(tiny_data), 0.2, seed=0)
    assert len(val) == 1 and len(train) == 4 and not set(train) & set(val)
    cfg = PipelineConfig(scale=2, patch_size=32, batch_size=64)
    x, y = next(iter(validation_dataset(val, cfg)))
    assert x.shape == (9, 32, 32, 1) and y.shape == (9, 32, 32, 1)


def test_patch_not_divisible_by_scale():
    with pytest.raises(KerasSRError, match="not divisible"):
        PipelineConfig(scale=3, patch_size=32).validate()


@pytest.mark.parametrize("input_mode,border", [("lr", 0), ("pre-upsampled", 6)])
def test_pairs_of_a_batch_equal_pairs_of_each_patch(input_mode, border):
    """Training degrades whole batches in one resize call: it must give each patch's own pair."""
    from keras_sr.data.pipeline import MARGIN, _Pairs

    cfg = PipelineConfig(scale=3, patch_size=24, label_border=border, input_mode=input_mode)
    pairs = _Pairs(cfg)
    hr = np.random.default_rng(0).random((5, 24 + 2 * MARGIN * 3, 24 + 2 * MARGIN * 3, 1)).astype(np.float32)
    xb, yb = pairs.from_hr(hr, MARGIN)
    for i in range(5):
        x, y = pairs.from_hr(hr[i], MARGIN)
        np.testing.assert_array_equal(np.asarray(xb[i]), np.asarray(x))
        np.testing.assert_array_equal(np.asarray(yb[i]), np.asarray(y))
    assert xb.shape[1] == (8 if input_mode == "lr" else 24) and yb.shape[1] == 24 - 2 * border


@pytest.mark.parametrize("input_mode", ["lr", "pre-upsampled"])
def test_paired_lr_hr_patches_are_aligned(paired_data, input_mode):
    from keras_sr.data.pipeline import match_pairs

    files = match_pairs(_files(paired_data / "hr"), _files(paired_data / "lr"), 2)
    assert [f.name for f in files.lr] == ["0000x2.png", "0001x2.png", "0002x2.png", "0003x2.png"]
    cfg = PipelineConfig(scale=2, patch_size=24, batch_size=16, input_mode=input_mode, seed=1)
    for x, y in training_dataset(files, cfg).take(2):
        x, y = x.numpy(), y.numpy()
        assert y.shape == (16, 24, 24, 1) and x.shape == ((16, 12, 12, 1) if input_mode == "lr" else y.shape)
        if input_mode == "lr":  # the LR file's pixels, at the place and orientation of the HR patch
            block_means = y.reshape(16, 12, 2, 12, 2, 1).mean(axis=(2, 4))
            assert np.abs(x - block_means).max() <= 0.51 / 255
    val = list(validation_dataset(files, cfg, max_patches=20))
    assert sum(len(b[0]) for b in val) == 20


def test_paired_lr_hr_bad_inputs(paired_data, tmp_path):
    from keras_sr.data.pipeline import match_pairs

    hr = _files(paired_data / "hr")
    with pytest.raises(KerasSRError, match="not x3"):
        match_pairs(hr, _files(paired_data / "lr"), 3)
    with pytest.raises(KerasSRError, match="no LR file for .*0003.png"):
        match_pairs(hr, _files(paired_data / "lr")[:3], 2)


def _dihedral(a):
    """The 8 rotations/flips of [H, W, C] arrays."""
    out = []
    for k in range(4):
        r = np.rot90(a, k)
        out += [r, r[:, ::-1]]
    return out


@pytest.mark.parametrize("degradation, input_mode", [("realworld", "lr"), ("bicubic", "pre-upsampled")])
def test_pair_reuse_serves_each_degraded_pair_n_times_rotated(tiny_data, degradation, input_mode):
    """--pair-reuse 3: every training pair is a rotation/flip of a pair of the plain stream (same
    seed: the same degradation draws), each used at most 3 times, mixed across batches."""
    from keras_sr.data.io import list_images
    from keras_sr.data.pipeline import PipelineConfig, training_dataset

    files = list_images([tiny_data])
    kw = dict(scale=4 if input_mode == "lr" else 2, patch_size=16, degradation=degradation,
              color_space="rgb" if input_mode == "lr" else "y-bt601", input_mode=input_mode,
              batch_size=4, seed=2, label_border=2 if input_mode == "pre-upsampled" else 0)
    plain = [(x.numpy(), y.numpy()) for x, y in training_dataset(files, PipelineConfig(**kw)).take(6)]
    reused = [(x.numpy(), y.numpy()) for x, y in
              training_dataset(files, PipelineConfig(**kw, pair_reuse=3)).take(6)]
    source = [(x[i], y[i]) for x, y in plain for i in range(len(x))]
    uses = np.zeros(len(source), int)
    mixed = 0
    for x, y in reused:
        origin = set()
        assert x.shape == plain[0][0].shape and y.shape == plain[0][1].shape
        for i in range(len(x)):
            hits = [j for j, (sx, sy) in enumerate(source)
                    if any(np.array_equal(x[i], a) and np.array_equal(y[i], b)
                           for a, b in zip(_dihedral(sx), _dihedral(sy)))]
            assert hits, "a reused pair is no rotation/flip of a degraded pair"
            uses[hits[0]] += 1
            origin.add(hits[0] // 4)
        mixed += len(origin) > 1
    assert uses.max() <= 3 and (uses > 0).sum() >= 6  # re-used, not one pair over and over
    assert mixed >= 2  # batches mix pairs of several degraded batches
