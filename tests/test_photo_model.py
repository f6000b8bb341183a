"""keras_sr.load_model(..., photo=True): uint8 RGB batches in and out, the exported photo graph
as a plain keras.Model; equal to keras_sr.upscale, survives a .keras round trip.

Tolerance against keras_sr.upscale: at most 1 uint8 level, on at most 0.1% of the values. The
network runs on the same inputs in both, but keras_sr.upscale does the colour conversion,
pre-upscaling and padding in NumPy float32 and the photo graph in TensorFlow float32: the last
bit of a value can differ, and where ``255 * x`` lies at a .5 tie the rounding goes one level
apart (measured on the shipped models: 0-5 values of ~10^5 differ, never by more than 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import keras_sr
from keras_sr.errors import ModelLoadError
from keras_sr.models import ModelInfo, build_model, save_with_info

SHIPPED = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "saved_models").glob("*.json"))


def assert_close_uint8(out, ref):
    assert out.dtype == np.uint8 and out.shape == ref.shape, (out.dtype, out.shape, ref.shape)
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= 1e-3, (diff.max(), int((diff > 0).sum()), diff.size)


@pytest.fixture(scope="module")
def inputs(photo):
    rgb = np.stack([photo[:23, :29], photo[40:63, 61:90]])  # a batch of two odd-sized RGB crops
    gray = photo[10:29, 30:51].mean(axis=-1).round().astype(np.uint8)
    return rgb, np.repeat(gray[..., None], 3, axis=-1)  # gray: passed as 3 equal channels


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_photo_model_equals_upscale(name, inputs):
    import keras

    from keras_sr.inference import Upscaler

    rgb, gray3 = inputs
    card = json.loads((Path(__file__).resolve().parents[1] / "saved_models" / f"{name}.json").read_text())
    model = keras_sr.load_model(name, photo=True)
    net = next(layer for layer in model.layers if isinstance(layer, keras.Model))  # the shipped network
    assert net.sr_info.scale == card["scale"] and net.count_params() == card["params"]
    reference = Upscaler(net, tile=4096)  # what keras_sr.upscale(image, name) runs (untiled)
    s = card["scale"]
    out = model.predict(rgb, verbose=0)
    assert out.shape == (2, 23 * s, 29 * s, 3)
    for i in range(2):
        assert_close_uint8(out[i], reference(rgb[i]))
    g = np.asarray(model(gray3[None]))[0]
    assert_close_uint8(g, reference(gray3))
    if card["color_space"] != "rgb":  # neutral chroma: a gray photo stays gray
        assert np.ptp(g.astype(int), axis=-1).max() <= 1


def _lambda_free(model) -> bool:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Lambda) or (isinstance(layer, keras.Model) and not _lambda_free(layer)):
            return False
    return True


def _small(arch):
    """Tiny untrained networks of the three kinds of shipped models (the round trip does not
    depend on the weights)."""
    if arch == "srcnn":  # pre-upsampling, 'valid' convolutions, Y
        return build_model("srcnn-955", 3), ModelInfo("srcnn-955", 3)
    if arch == "fsrcnn":  # LR input, transposed convolution, Y
        return build_model("fsrcnn", 2, d=8, s=4, m=1), ModelInfo("fsrcnn", 2, input_mode="lr")
    return (build_model("srresnet", 4, channels=3, blocks=1, filters=8),  # RGB, PReLU, BN, depth_to_space
            ModelInfo("srresnet", 4, color_space="rgb", input_mode="lr"))


@pytest.mark.parametrize("arch", ["srcnn", "fsrcnn", "srresnet"])
def test_keras_round_trip(arch, inputs, tmp_path):
    """Saved as .keras and loaded back by plain Keras (keras_sr imported: its layers are
    registered) and by keras_sr.load_model: the same bytes out."""
    import keras

    rgb, _ = inputs
    net, info = _small(arch)
    model = keras_sr.load_model(save_with_info(net, tmp_path / "net.keras", info), photo=True)
    assert _lambda_free(model) and model.input.dtype == "uint8"
    path = tmp_path / "photo.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    ours = keras_sr.load_model(path)
    assert keras_sr.load_model(path, photo=True) is not None and ours.name == model.name
    assert (ours.sr_info.scale, ours.sr_info.color_space, ours.sr_info.input_mode) == (
        info.scale, info.color_space, info.input_mode)
    expected = model.predict(rgb, verbose=0)
    assert expected.shape == (2, 23 * info.scale, 29 * info.scale, 3)
    np.testing.assert_array_equal(again.predict(rgb, verbose=0), expected)  # same call path: bit-equal
    np.testing.assert_array_equal(ours.predict(rgb, verbose=0), expected)


def test_edge_padded_valid_model(inputs, tmp_path):
    """pad_mode 'edge' (MATLAB-converted SRCNN) as repeated 1-px symmetric pads equals np.pad edge."""
    rgb, _ = inputs
    model = build_model("srcnn", 2, padding="valid")
    path = save_with_info(model, tmp_path / "m.keras", ModelInfo("srcnn", 2, pad_mode="edge"))
    photo = keras_sr.load_model(path, photo=True)
    assert_close_uint8(photo.predict(rgb[:1], verbose=0)[0], keras_sr.upscale(rgb[0], path))


@pytest.mark.parametrize("channels", [2, 4])
def test_photo_needs_one_or_three_channels(channels, tmp_path):
    path = save_with_info(build_model("espcn", 2, channels=channels), tmp_path / "m.keras",
                          ModelInfo("espcn", 2, input_mode="lr"))
    with pytest.raises(ModelLoadError) as err:
        keras_sr.load_model(path, photo=True)
    assert "1 (Y) or 3 (RGB) input channels" in str(err.value) and "\n" not in str(err.value)
    assert keras_sr.load_model(path).input_shape[-1] == channels  # without photo=True: loads


def test_folding_model_pads_to_its_size_multiple_and_crops(inputs, tmp_path):
    """A network that needs even sizes (space_to_depth first, as imported x2 RRDBNets): odd
    photos are reflect-padded bottom/right and the output cropped back, as keras_sr.upscale does."""
    import keras

    from keras_sr.models.layers import DepthToSpace, SpaceToDepth

    x = inp = keras.Input((None, None, 3))
    x = SpaceToDepth(2)(x)
    x = keras.layers.Conv2D(3 * 16, 3, padding="same", kernel_initializer=keras.initializers.RandomNormal(0, 0.1, seed=1))(x)
    net = keras.Model(inp, DepthToSpace(4)(x))
    info = ModelInfo("folding", 2, color_space="rgb", input_mode="lr", size_multiple=2)
    path = save_with_info(net, tmp_path / "fold.keras", info)
    rgb, _ = inputs  # 23 x 29: both odd
    model = keras_sr.load_model(path, photo=True)
    out = model.predict(rgb, verbose=0)
    assert out.shape == (2, 46, 58, 3)
    for i in range(2):
        assert_close_uint8(out[i], keras_sr.upscale(rgb[i], path))
    model.save(tmp_path / "photo.keras")
    np.testing.assert_array_equal(keras_sr.load_model(tmp_path / "photo.keras").predict(rgb, verbose=0), out)
