"""Upscaler: exact output sizes for RGB, gray, RGBA and odd sizes; the Python API."""

import numpy as np
import pytest

import keras_sr
from keras_sr.inference import Upscaler
from keras_sr.models import ModelInfo, build_model


def _model(arch="srcnn", scale=2, color_space="y-bt601"):
    m = build_model(arch, scale, channels=3 if color_space == "rgb" else 1)
    m.sr_info = ModelInfo(architecture=arch, scale=scale, color_space=color_space)
    return m


@pytest.mark.parametrize("shape", [(37, 51, 3), (37, 51), (20, 31, 4), (1, 1, 3), (9, 7)])
@pytest.mark.parametrize("scale", [2, 3])
def test_output_sizes_and_dtypes(shape, scale):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = keras_sr.upscale(image, _model(scale=scale))
    assert out.shape == (shape[0] * scale, shape[1] * scale) + shape[2:]
    assert out.dtype == np.uint8


def test_uint16_and_rgb_model():
    image = np.random.default_rng(1).integers(0, 65536, (12, 10, 3), dtype=np.uint16)
    out = Upscaler(_model(color_space="rgb"), 2)(image)
    assert out.shape == (24, 20, 3) and out.dtype == np.uint16


def test_identity_like_model_gives_bicubic_result(photo):
    """A 'same' model whose output equals its input makes the Upscaler a bicubic upscaler:
    checks the colour round trip and the chroma path."""
    import keras

    inp = keras.Input((None, None, 1))
    model = keras.Model(inp, keras.layers.Identity()(inp))
    model.sr_info = ModelInfo(architecture="identity", scale=2)
    out = Upscaler(model, 2)(photo).astype(float)
    import tensorflow as tf

    ref = tf.image.resize(photo / 255.0, (192, 256), "bicubic", antialias=True).numpy()
    ref = np.round(np.clip(ref, 0, 1) * 255)
    inner = (slice(4, -4), slice(4, -4))  # borders: symmetric extension vs TF's renormalisation
    assert np.abs(out - ref)[inner].max() <= 1.0
    assert np.abs(out - ref).max() <= 12.0


def test_factor_is_validated():
    from keras_sr.errors import UsageError

    with pytest.raises(UsageError, match="factor must be one of"):
        Upscaler(_model(), 7)


def test_one_trace_for_all_image_sizes():
    up = Upscaler(_model(), 2)
    for shape in [(10, 12, 3), (31, 17, 3), (8, 40), (25, 25, 3)]:
        up(np.zeros(shape, np.uint8))
    assert up._fn.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("arch,kwargs", [("srcnn", {}), ("srcnn-955", {}), ("fsrcnn", {}), ("espcn", {})])
@pytest.mark.parametrize("tile", [7, 16, 23])
def test_tiled_equals_untiled(arch, kwargs, tile):
    scale = 3 if arch == "espcn" else 2
    model = build_model(arch, scale, **kwargs)
    mode = "pre-upsampled" if arch.startswith("srcnn") else "lr"
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 1 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.05,
                                  w.shape).astype(np.float32) for w in model.get_weights()])
    model.sr_info = ModelInfo(arch, scale, input_mode=mode)
    image = rng.random((45, 38, 3), dtype=np.float32)  # float in -> float out: no rounding
    whole = Upscaler(model, scale, tile=1000)
    tiled = Upscaler(model, scale, tile=tile, tile_batch={7: 1, 16: 4, 23: 2}[tile])  # batches of tiles
    a, b = whole(image), tiled(image)
    assert a.shape == b.shape == (45 * scale, 38 * scale, 3)
    assert np.abs(a - b).max() <= 1e-4
    rgba = (rng.random((31, 27, 4)) * 255).astype(np.uint8)
    assert np.abs(whole(rgba).astype(int) - tiled(rgba).astype(int)).max() <= 1


def test_tile_size_from_memory_budget_and_progress():
    calls = []
    up = Upscaler(_model(), 2, max_memory_mb=1.0, progress=lambda i, n: calls.append((i, n)))
    assert 16 <= up.tile_size() < 64
    up(np.zeros((70, 90, 3), np.uint8))
    assert calls and calls[-1][0] == calls[-1][1] > 1


def test_tiles_shrink_for_models_with_wide_high_resolution_layers():
    from keras_sr.models import ModelInfo, rrdbnet, srvgg
    from keras_sr.models.cost import activation_elements_per_pixel

    wide, slim = rrdbnet(4, filters=16, blocks=1, growth=8), srvgg(4, filters=16, convs=1)
    assert activation_elements_per_pixel(wide) == 16 * 16  # 16 channels at 16x the LR pixels
    assert activation_elements_per_pixel(slim) == 48  # conv_last + base: 3 * 16 channels at LR
    for m in (wide, slim):
        m.sr_info = ModelInfo(architecture=m.name, scale=4, color_space="rgb", input_mode="lr")
    tiles = [Upscaler(m, 4, max_memory_mb=64.0).tile_size() for m in (wide, slim)]
    assert tiles[0] * 2 < tiles[1]
    # memory per tile stays within the budget: elements x 4 bytes x tile^2 <= 64 MB
    assert 16 * 16 * 4 * 3 * tiles[0] ** 2 <= 64 * 2**20


def test_degradation_warning_accepts_the_training_mix():
    """A model trained on a comma list of degradations (``distill --degradation a,b``) is used
    within its conditions on any of them or on the same mix; only other ones warn."""
    import warnings

    from keras_sr.inference import KerasSRWarning, check_compatibility

    info = ModelInfo(architecture="srvgg", scale=2, degradation="bicubic,light,realworld")
    with warnings.catch_warnings():
        warnings.simplefilter("error", KerasSRWarning)
        for ok in ("bicubic", "light", "bicubic,light,realworld", "realworld,bicubic"):
            assert check_compatibility(info, degradation=ok) == []
    with pytest.warns(KerasSRWarning, match="'bicubic,light,realworld' degradation, used with 'realworld-accurate'"):
        assert len(check_compatibility(info, degradation="realworld-accurate")) == 1
    with pytest.warns(KerasSRWarning):
        assert len(check_compatibility(ModelInfo(architecture="srvgg", scale=2, degradation="bicubic"),
                                       degradation="bicubic,light")) == 1
