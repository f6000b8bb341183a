"""Zoo: loading by name with checksum verification, cards, the models table."""

import json
from pathlib import Path

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


def test_card_counts_the_trained_models_params(tmp_path):
    """A reduced generator (8 x 32, 1.2 MB) is carded with its own size, not the paper's 16 x 64;
    over 1 MB it ships as a generator but not as a phone-sized zoo model."""
    from keras_sr.errors import KerasSRError

    model = build_model("srresnet", 4, channels=3, blocks=8, filters=32)
    run = tmp_path / "run"
    run.mkdir()
    for arch in ("espcn", "srgan"):
        save_with_info(model, run / "model.keras", ModelInfo(arch, 4, color_space="rgb", input_mode="lr",
                                                             record={"params": int(model.count_params())}))
        if arch == "espcn":
            assert (run / "model.keras").stat().st_size > 1 << 20
            with pytest.raises(KerasSRError, match="espcn zoo models must be <= 1 MB"):
                ship(run, "espcn-x4", {}, dest=tmp_path)
    card = ship(run, "srgan-x4", {}, dest=tmp_path)
    assert card["params"] == model.count_params() < build_model("srresnet", 4).count_params()
    assert card["published"] == {"Set5": 29.40, "Set14": 26.02}
    assert card["published_lpips"] == {"Set5": 0.0882, "Set14": 0.1663}


def test_ship_drops_the_optimizer_state(tmp_path):
    """A run's model.keras holds Adam's moments (3x the weights); the shipped file holds the
    weights only and predicts the same."""
    import keras

    model = build_model("espcn", 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    model.fit(x, np.zeros((2, 16, 16, 1), np.float32), epochs=1, verbose=0)
    run = tmp_path / "run"
    run.mkdir()
    save_with_info(model, run / "model.keras", ModelInfo("espcn", 2, input_mode="lr", record={}))
    ship(run, "espcn-x2", {}, dest=tmp_path)
    shipped = tmp_path / "espcn-x2.keras"
    assert shipped.stat().st_size < 0.6 * (run / "model.keras").stat().st_size
    assert not list(tmp_path.glob(".*.keras"))
    again = keras_sr.load_model(shipped)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.sr_info.scale == 2 and getattr(again, "optimizer", None) is None


def test_models_command_lists_the_zoo(zoo):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and "espcn-x3" in r.stdout and "30.00" in r.stdout
    header, row = r.stdout.splitlines()[1:3]
    assert header.split()[7:9] == ["Set5", "LPIPS"] and row.split()[5] == "-"  # a Y model: no LPIPS
    data = json.loads(CliRunner().invoke(main, ["models", "--json"]).stdout)
    assert data["shipped"]["espcn-x3"]["scale"] == 3


def test_unknown_name_lists_shipped(zoo):
    with pytest.raises(ModelLoadError, match="shipped: espcn-x3"):
        keras_sr.load_model("fsrcnn-x9")


def _shipped():
    import os

    saved = os.environ.pop("KERAS_SR_ZOO_DIR", None)
    try:
        return cards()
    finally:
        if saved is not None:
            os.environ["KERAS_SR_ZOO_DIR"] = saved


@pytest.mark.parametrize("name", sorted(_shipped()) or ["(none shipped)"])
def test_shipped_models_load_verify_and_reproduce_their_card(name, shared_path):
    """From the installed package (CI installs a wheel): checksum, then Set5/Set14 within 0.02 dB."""
    if name == "(none shipped)":
        pytest.skip("no model is shipped yet")
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.zoo import max_bytes, zoo_dir

    card = cards()[name]
    assert (zoo_dir() / card["file"]).stat().st_size <= max_bytes(card["architecture"])
    model = keras_sr.load_model(name)
    lpips = "lpips" in card["measured"]["Set5"]  # the RGB (SRResNet/SRGAN) cards
    alex = shared_path("weights", "perceptual", "lpips_alex_v0.1.npz") if lpips else None
    for ds in ("Set5", "Set14"):
        m = evaluate(model, shared_path("datasets", ds), card["scale"],
                     metric_names=("psnr", "ssim", "lpips") if lpips else ("psnr", "ssim"), lpips_weights=alex).means()
        assert abs(m["model_psnr"] - card["measured"][ds]["psnr"]) <= 0.02, (name, ds, m)
        if lpips:
            assert abs(m["model_lpips"] - card["measured"][ds]["lpips"]) <= 0.002, (name, ds, m)
    if "measured_realworld" in card:  # real-world models: the degraded sets, same LR every run
        from keras_sr.evaluation.protocol import get_protocol

        for ds in ("Set5", "Set14"):
            m = evaluate(model, shared_path("datasets", ds), card["scale"], metric_names=("psnr", "ssim", "lpips"),
                         protocol=get_protocol("paper", degradation=card["degradation"], seed=0),
                         lpips_weights=shared_path("weights", "perceptual", "lpips_alex_v0.1.npz")).means()
            assert abs(m["model_psnr"] - card["measured_realworld"][ds]["psnr"]) <= 0.02, (name, ds, m)
            assert abs(m["bicubic_psnr"] - card["measured_realworld"][ds]["bicubic_psnr"]) <= 0.02, (name, ds, m)
            assert abs(m["model_lpips"] - card["measured_realworld"][ds]["lpips"]) <= 0.002, (name, ds, m)


INT8_ARCHITECTURES = ("abpn", "srvgg", "realesrgan")  # shipped as int8 phone models (issues 15 and 17)


@pytest.mark.parametrize("name", sorted(n for n, c in _shipped().items() if c["architecture"] in INT8_ARCHITECTURES)
                         or ["(none shipped)"])
def test_shipped_int8_models_pass_tflite_int8_parity(name, shared_path, tmp_path):
    """Raw (float I/O) and photo (uint8 RGB I/O) int8 TFLite files within 0.20 dB of Keras on Set5
    (keras-sr export NAME --tflite int8; the export itself refuses a file over the limit)."""
    if name == "(none shipped)":
        pytest.skip("no int8 model is shipped")
    from keras_sr.export import ExportConfig
    from keras_sr.export.exporter import export

    report = export(ExportConfig(model=name, out=str(tmp_path / "exp"), modes=["int8"], saved_model=False,
                                 parity_data=str(shared_path("datasets", "Set5"))))
    rows = {r["file"]: r for r in report["rows"]}
    for file in ("model_int8.tflite", "photo_int8.tflite"):
        assert rows[file]["ok"] and rows[file]["delta_psnr_db"] >= -0.20, (name, rows[file])


@pytest.fixture()
def photo_zoo(tmp_path, monkeypatch):
    """A private zoo with a real-world x4 model and a benchmark x3 model, nothing at x2."""
    from keras_sr.data.io import sha256_file
    from keras_sr.models import srvgg

    folder = tmp_path / "pz"
    folder.mkdir()
    for name, scale, degradation in (("restore-x4", 4, "bicubic,light,realworld"), ("fsrcnn-x3", 3, "bicubic")):
        path = folder / f"{name}.keras"
        save_with_info(srvgg(scale, filters=4, convs=1), path,
                       ModelInfo(architecture="srvgg", scale=scale, color_space="rgb", input_mode="lr",
                                 degradation=degradation))
        (folder / f"{name}.json").write_text(json.dumps({"name": name, "file": path.name, "scale": scale,
                                                         "sha256": sha256_file(path), "params": 0,
                                                         "bytes": path.stat().st_size, "degradation": degradation}))
    monkeypatch.setenv("KERAS_SR_ZOO_DIR", str(folder))
    return folder


def test_default_model_is_the_real_world_model_of_the_factor_else_a_named_fallback(photo_zoo, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from keras_sr.cli.main import main
    from keras_sr.zoo import default_model

    assert default_model(4) == ("restore-x4", None)
    name, note = default_model(3)
    assert name == "fsrcnn-x3" and "no real-world x3 model shipped; using fsrcnn-x3" in note
    with pytest.raises(ModelLoadError, match="no shipped x2 model.*restore-x2, fsrcnn-x2"):
        default_model()
    img = tmp_path / "in.png"
    Image.fromarray(np.full((6, 5, 3), 90, np.uint8)).save(img)
    run = CliRunner().invoke
    r = run(main, ["upscale", str(img), "-o", str(tmp_path / "x4.png"), "--factor", "4"])
    assert r.exit_code == 0 and "Note:" not in r.stderr, r.output
    assert Image.open(tmp_path / "x4.png").size == (20, 24)
    r = run(main, ["upscale", str(img), "-o", str(tmp_path / "x3.png"), "--factor", "3"])
    assert r.exit_code == 0 and "Note: no real-world x3 model shipped; using fsrcnn-x3" in r.stderr, r.output
    assert Image.open(tmp_path / "x3.png").size == (15, 18)
    r = run(main, ["upscale", str(img), "-o", str(tmp_path / "x2.png")])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "no shipped x2 model" in r.stderr
    assert not (tmp_path / "x2.png").exists()
    r = run(main, ["models"])
    assert r.exit_code == 0 and ("Default for photos (upscale/export without --model): x3 fsrcnn-x3 "
                                 "(bicubic-trained: no real-world model), x4 restore-x4") in r.output, r.output


@pytest.mark.parametrize("factor", sorted(__import__("keras_sr.zoo").zoo.PHOTO_MODELS))
def test_shipped_photo_default_beats_the_bicubic_model_on_degraded_set5(factor, shared_path):
    """The switch of issue 15: the default for photos is the real-world model only where it
    beats the bicubic-trained benchmark model of its scale on degraded Set5 (realworld, seed 0)."""
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.protocol import get_protocol
    from keras_sr.zoo import BENCHMARK_MODELS, PHOTO_MODELS

    shipped = _shipped()
    if PHOTO_MODELS[factor] not in shipped:
        pytest.skip(f"{PHOTO_MODELS[factor]} is not shipped (x{factor} falls back to {BENCHMARK_MODELS[factor]})")
    protocol = get_protocol("paper", degradation="realworld", seed=0)
    psnr = {name: evaluate(keras_sr.load_model(name), shared_path("datasets", "Set5"), factor,
                           metric_names=("psnr",), protocol=protocol).means()["model_psnr"]
            for name in (PHOTO_MODELS[factor], BENCHMARK_MODELS[factor])}
    assert psnr[PHOTO_MODELS[factor]] > psnr[BENCHMARK_MODELS[factor]] + 0.1, psnr


def _tool(name: str):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_zoo_table_matches_the_cards(tmp_path):
    """docs/model_zoo.md's model table is generated from saved_models/*.json (tools/readme_zoo.py):
    a re-shipped model whose row was not refreshed fails here. The table lives there only."""
    readme_zoo = _tool("readme_zoo")
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "model_zoo.md").read_text()
    assert readme_zoo.PAGE == root / "docs" / "model_zoo.md"
    assert readme_zoo.updated(page, readme_zoo.table()) == page, "run python tools/readme_zoo.py"
    assert readme_zoo.START not in (root / "README.md").read_text()  # no second copy to go stale
    card = json.loads(next((Path(__file__).resolve().parents[1] / "saved_models").glob("*.json")).read_text())
    (tmp_path / "x.json").write_text(json.dumps(dict(card, params=card["params"] + 1)))
    assert f"{card['params'] + 1:,}" in readme_zoo.table(tmp_path)  # the table is read from the cards


def test_every_train_zoo_row_is_a_valid_train_command(tmp_path):
    """Each row of tools/train_zoo.py parses as `keras-sr train` options and resolves to a
    config the pipeline accepts (a row with a patch size the scale does not divide, say,
    would only fail when its turn comes in a long queue)."""
    from keras_sr.cli.main import main
    from keras_sr.data.pipeline import PipelineConfig
    from keras_sr.training.config import TrainConfig

    train_zoo = _tool("train_zoo")
    for name in train_zoo.ZOO:
        cmd = train_zoo.command(name, tmp_path / "runs", tmp_path / "datasets")
        args = cmd[cmd.index("train") + 1:]
        ctx = main.make_context("keras-sr", ["train", *args])
        with ctx:
            sub = main.get_command(ctx, "train")
            params = sub.make_context("train", args, parent=ctx).params
        cfg = TrainConfig.resolve(params["arch"], factor=params["factor"], patch_size=params["patch_size"],
                                  epochs=params["epochs"], lr=params["lr"], batch_size=params["batch_size"])
        PipelineConfig(scale=cfg.factor, patch_size=cfg.patch_size).validate()  # raises on a bad row
        assert params["out"].endswith(name.replace("-", "_"))


def test_export_factor_and_models_json_defaults_follow_default_model(photo_zoo, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KERAS_SR_DATA", raising=False)
    run = CliRunner().invoke
    data = json.loads(run(main, ["models", "--json"]).stdout)
    assert data["defaults"] == {"2": None, "3": "fsrcnn-x3", "4": "restore-x4"}
    r = run(main, ["export", "-f", "3", "--tflite"])
    assert r.exit_code == 0 and "Note: no real-world x3 model shipped; using fsrcnn-x3" in r.stderr, r.output
    assert json.loads((tmp_path / "exports" / "fsrcnn-x3" / "metadata.json").read_text())["scale"] == 3
    r = run(main, ["export", "--factor", "4", "--tflite"])
    assert r.exit_code == 0 and "Note:" not in r.stderr, r.output
    assert json.loads((tmp_path / "exports" / "restore-x4" / "metadata.json").read_text())["scale"] == 4
    r = run(main, ["export", "-f", "2"])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "no shipped x2 model" in r.stderr
    r = run(main, ["export", "restore-x4", "-f", "3", "-o", str(tmp_path / "mismatch")])
    assert r.exit_code == 2 and "upscales x4, not x3 (--factor)" in r.stderr and not (tmp_path / "mismatch").exists()
    assert run(main, ["export", "-f", "5"]).exit_code == 2


def test_models_json_defaults_of_the_shipped_zoo(monkeypatch):
    from click.testing import CliRunner

    from keras_sr.cli.main import main
    from keras_sr.zoo import default_model

    monkeypatch.delenv("KERAS_SR_ZOO_DIR", raising=False)
    data = json.loads(CliRunner().invoke(main, ["models", "--json"]).stdout)
    expected = {}
    for factor in (2, 3, 4):
        try:
            expected[str(factor)] = default_model(factor)[0]
        except ModelLoadError:
            expected[str(factor)] = None
    assert data["defaults"] == expected and set(expected) == {"2", "3", "4"}


@pytest.mark.parametrize("factor", sorted(__import__("keras_sr.zoo").zoo.PHOTO_MODELS))
def test_shipped_photo_defaults_keep_the_colour_of_clean_photos(factor, shared_path):
    """Issue 24: the photo default of each factor adds <= 0.75 levels of colour bias (mean |per-channel
    mean error|, 8-bit RGB) on clean Set5 (bicubic LR, paper protocol), as its card's ladder says."""
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.zoo import PHOTO_MODELS, cards

    name = PHOTO_MODELS[factor]
    if name not in _shipped():
        pytest.skip(f"{name} is not shipped")
    bias = evaluate(keras_sr.load_model(name), shared_path("datasets", "Set5"), factor,
                    metric_names=("bias",)).means()["model_bias"]
    assert bias <= 0.75, (name, bias)
    assert abs(bias - cards()[name]["measured_ladder"]["Set5"]["clean"]["model_bias"]) <= 0.01, (name, bias)
