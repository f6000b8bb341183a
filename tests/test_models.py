import numpy as np
import pytest

from keras_sr.models import ARCHITECTURES, ModelInfo, border, build_model, read_info, save_with_info
from keras_sr.models.srcnn import srcnn

# (name, params, pixels lost per side with the default padding)
EXPECTED = [("srcnn", 85_889, 6), ("srcnn-915", 20_353, 6), ("srcnn-955", 57_281, 8),
            ("srcnn-deep", 85_889 - 64 * 25 - 1 + 64 * 64 * 9 + 64 + 64 * 32 * 9 + 32
             + 32 * 32 * 9 + 32 + 32 * 25 + 1, 6)]


@pytest.mark.parametrize("name,params,lost", EXPECTED)
def test_builder_params_and_shape(name, params, lost):
    model = build_model(name, 2)
    assert model.count_params() == params
    out = model.predict(np.zeros((2, 41, 37, 1), np.float32), verbose=0)
    assert out.shape == (2, 41 - 2 * lost, 37 - 2 * lost, 1)
    assert border(model) == lost


def test_srcnn_mirror_layers():
    model = srcnn()
    convs = [l for l in model.layers if l.__class__.__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size, c.padding, c.activation.__name__) for c in convs] == [
        (128, (9, 9), "valid", "relu"), (64, (3, 3), "same", "relu"), (1, (5, 5), "valid", "linear")]
    assert convs[0].kernel_initializer.__class__.__name__ == "GlorotUniform"


def test_same_padding_keeps_size():
    model = srcnn(padding="same")
    assert model.predict(np.zeros((1, 17, 23, 1), np.float32), verbose=0).shape == (1, 17, 23, 1)
    assert border(model) == 0


def test_registry_is_explicit():
    assert set(ARCHITECTURES) >= {"srcnn", "srcnn-915", "srcnn-955", "srcnn-deep"}


def test_bad_builder_arguments():
    with pytest.raises(ValueError):
        srcnn(filters=(64,), kernel_sizes=(9, 3, 5))
    with pytest.raises(ValueError):
        srcnn(padding="reflect")


def test_keras_round_trip_keeps_weights_and_info(tmp_path):
    import keras_sr

    model = build_model("srcnn", 2)
    info = ModelInfo(architecture="srcnn", scale=3, degradation="bicubic", record={"seed": 7})
    path = save_with_info(model, tmp_path / "m.keras", info)
    loaded = keras_sr.load_model(path)
    x = np.random.default_rng(0).random((1, 30, 30, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.sr_info.scale == 3 and loaded.sr_info.record == {"seed": 7}
    assert read_info(path).architecture == "srcnn"


@pytest.mark.parametrize("name", ["fsrcnn", "fsrcnn-s", "espcn", "abpn"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_lr_space_models_upscale_by_scale(name, scale):
    model = build_model(name, scale)
    out = model.predict(np.zeros((1, 13, 17, 1), np.float32), verbose=0)
    assert out.shape == (1, 13 * scale, 17 * scale, 1)
    assert not any(l.__class__.__name__ == "Lambda" for l in model.layers)


def test_lr_space_param_counts():
    # FSRCNN(56,12,4) conv weights+biases 12,637 + PReLU alphas 172; FSRCNN-s 4,086; ESPCN x3 22,729
    assert build_model("fsrcnn", 2).count_params() == 12_809
    assert build_model("fsrcnn-s", 2).count_params() == 4_086
    assert build_model("espcn", 3).count_params() == (25 * 64 + 64) + (9 * 64 * 32 + 32) + (9 * 32 * 9 + 9)
    assert build_model("abpn", 3).count_params() == (9 * 28 + 28) + 4 * (9 * 28 * 28 + 28) + (9 * 28 * 9 + 9)


def test_abpn_starts_as_nearest_neighbour_upscaling():
    """With the residual convolution at zero, ABPN is exactly the anchor: each LR pixel repeated
    s x s (so training only learns a residual), clipped to [0, 1]."""
    model = build_model("abpn", 3)
    last = model.get_layer("residual_x3")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = np.random.default_rng(0).random((1, 5, 7, 1), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.repeat(np.repeat(x, 3, axis=1), 3, axis=2), atol=1e-7)


def test_espcn_round_trip_with_depth_to_space(tmp_path):
    import keras_sr

    model = build_model("espcn", 3)
    path = save_with_info(model, tmp_path / "e.keras", ModelInfo("espcn", 3, input_mode="lr"))
    x = np.random.default_rng(1).random((1, 10, 12, 1), dtype=np.float32)
    np.testing.assert_allclose(keras_sr.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-6)
