"""ESPCN's activation (issue 17): ReLU by default, the paper's tanh on request; shipped models
load with the activation they were trained with (stored in their config)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from keras_sr.cli.main import main
from keras_sr.errors import UsageError
from keras_sr.models import build_model

ROOT = Path(__file__).resolve().parents[1]


def _activations(model):
    return [model.get_layer(n).activation.__name__ for n in ("conv1", "conv2")]


def test_espcn_activation_default_relu_tanh_available():
    assert _activations(build_model("espcn", 3)) == ["relu", "relu"]
    assert _activations(build_model("espcn", 3, activation="tanh")) == ["tanh", "tanh"]
    with pytest.raises(UsageError, match="relu or tanh"):
        build_model("espcn", 3, activation="sigmoid")


SHIPPED_ACTIVATION = {2: "relu", 3: "relu", 4: "relu"}  # all three re-shipped with ReLU (issue 17)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_espcn_loads_as_saved(scale):
    """A shipped espcn .keras file keeps the activation it was trained with (stored in its config),
    whatever the builder default: same output as numpy's forward pass of its weights."""
    import keras_sr

    path = ROOT / "saved_models" / f"espcn-x{scale}.keras"
    if not path.exists():
        pytest.skip(f"{path.name} not in this checkout")
    model = keras_sr.load_model(path)
    act = SHIPPED_ACTIVATION[scale]
    assert _activations(model) == [act, act]
    fn = np.tanh if act == "tanh" else (lambda v: np.maximum(v, 0.0))
    x = np.random.default_rng(0).random((1, 6, 7, 1), dtype=np.float32)

    def conv(a, layer):  # 'same' convolution (cross-correlation, as Keras) in numpy
        w, b = (np.asarray(v) for v in layer.get_weights())
        k = w.shape[0] // 2
        p = np.pad(a, ((k, k), (k, k), (0, 0)))
        out = np.zeros(a.shape[:2] + (w.shape[3],), np.float64)
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                out += p[i:i + a.shape[0], j:j + a.shape[1], :] @ w[i, j]
        return out + b

    h = fn(conv(x[0].astype(np.float64), model.get_layer("conv1")))
    h = fn(conv(h, model.get_layer("conv2")))
    h = conv(h, model.get_layer(f"conv3_x{scale}"))  # [6, 7, s*s] -> depth_to_space
    ref = h.reshape(6, 7, scale, scale).transpose(0, 2, 1, 3).reshape(6 * scale, 7 * scale)
    np.testing.assert_allclose(model.predict(x, verbose=0)[0, ..., 0], ref, atol=1e-5)


def test_activation_option_is_for_espcn_only(tmp_path):
    r = CliRunner().invoke(main, ["train", "abpn", "--activation", "tanh", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "abpn takes no --activation" in r.stderr
    r = CliRunner().invoke(main, ["train", "espcn", "--activation", "sigmoid", "--out", str(tmp_path / "b")])
    assert r.exit_code == 2


def test_zoo_espcn_rows_train_relu():
    spec = importlib.util.spec_from_file_location("train_zoo", ROOT / "tools" / "train_zoo.py")
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    for scale in (2, 3, 4):
        cmd = zoo.command(f"espcn-x{scale}", Path("runs"), Path("data"))
        assert cmd[cmd.index("--activation") + 1] == "relu"
