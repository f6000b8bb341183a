"""Zoo: loading by name with checksum verification, cards, the models table."""

import json

import numpy as np
import pytest

import keras_sr
from keras_sr.errors import ModelLoadError
from keras_sr.models import ModelInfo, build_model, save_with_info
from keras_sr.zoo import cards, ship


@pytest.fixture()
def zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SR_ZOO_DIR", str(tmp_path / "zoo"))
    (tmp_path / "zoo").mkdir()
    model = build_model("espcn", 3)
    run = tmp_path / "run"
    run.mkdir()
    save_with_info(model, run / "model.keras", ModelInfo("espcn", 3, input_mode="lr",
                                                         record={"command": "keras-sr train espcn"}))
    measured = {"Set5": {"psnr": 30.0, "ssim": 0.9}, "Set14": {"psnr": 27.0, "ssim": 0.8}}
    card = ship(run, "espcn-x3", measured)
    return tmp_path / "zoo", card, model


def test_load_by_name_checks_sha256(zoo):
    folder, card, model = zoo
    assert set(cards()) == {"espcn-x3"} and card["params"] == model.count_params()
    loaded = keras_sr.load_model("espcn-x3")
    x = np.random.default_rng(0).random((1, 9, 11, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.sr_info.scale == 3 and card["published"]["Set5"] == 33.13
    data = (folder / "espcn-x3.keras").read_bytes()
    (folder / "espcn-x3.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="checksum mismatch .*tampered with or truncated"):
        keras_sr.load_model("espcn-x3")


def test_models_command_lists_the_zoo(zoo):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and "espcn-x3" in r.stdout and "30.00" in r.stdout
    data = json.loads(CliRunner().invoke(main, ["models", "--json"]).stdout)
    assert data["shipped"]["espcn-x3"]["scale"] == 3


def test_unknown_name_lists_shipped(zoo):
    with pytest.raises(ModelLoadError, match="shipped: espcn-x3"):
        keras_sr.load_model("fsrcnn-x9")
