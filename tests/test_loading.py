"""load_model: SRCNN-keras's Keras-1 weights (legacy numbers) and bad model inputs."""

import numpy as np
import pytest

import keras_sr
from keras_sr.errors import ModelLoadError
from keras_sr.evaluation.evaluate import evaluate


@pytest.mark.parametrize("dataset,expected", [("Set5", 34.83), ("Set14", 30.60)])
def test_srcnn_keras_h5_reproduces_legacy_numbers(shared_path, dataset, expected):
    weights = shared_path("weights", "srcnn-keras", "3051crop_weight_200.h5")
    model = keras_sr.load_model(str(weights))
    assert model.count_params() == 85_889
    assert model.sr_info.degradation == "bilinear-legacy" and model.sr_info.scale == 2
    result = evaluate(model, shared_path("datasets", dataset), 2, protocol="srcnn-keras")
    means = result.means()
    assert abs(means["model_psnr"] - expected) <= 0.05, means
    # bilinear input numbers of the same README table
    assert abs(means["bicubic_psnr"] - {"Set5": 30.98, "Set14": 28.12}[dataset]) <= 0.05


def test_first_version_h5_loads_as_915(shared_path):
    weights = shared_path("weights", "srcnn-keras", "m_model_adam_new30.h5")
    model = keras_sr.load_model(weights)
    assert model.sr_info.architecture == "srcnn-915"
    assert model.count_params() == 20_353


@pytest.mark.parametrize("name,content,match", [
    ("missing.keras", None, "no such model file"),
    ("empty.keras", b"", "empty model file"),
    ("junk.keras", b"not a zip", "cannot load model"),
    ("junk.h5", b"not hdf5", "not a readable HDF5"),
    ("m.onnx", b"x", "unsupported model file type"),
    ("", None, "has no model.keras"),
])
def test_bad_model_paths(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=match):
        keras_sr.load_model(path)


def test_unknown_model_name():
    with pytest.raises(ModelLoadError, match="unknown model name 'nosuchmodel'"):
        keras_sr.load_model("nosuchmodel")


def test_loaded_h5_predicts_finite(shared_path):
    model = keras_sr.load_model(shared_path("weights", "srcnn-keras", "3051crop_weight_200.h5"))
    out = model.predict(np.full((1, 20, 20, 1), 0.5, np.float32), verbose=0)
    assert out.shape == (1, 8, 8, 1) and np.all(np.isfinite(out))
