"""keras-sr train through the real CLI: loss goes down, artifacts, resume after kill -9."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path


from keras_sr.training.config import TrainConfig

CLI = [sys.executable, "-m", "keras_sr.cli.main"]


def _log(run_dir: Path):
    path = run_dir / "log.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def _train_cmd(data, out, epochs, extra=()):
    return CLI + ["train", "srcnn", "--factor", "2", "--data", str(data), "--out", str(out),
                  "--epochs", str(epochs), "--steps-per-epoch", "4", "--batch-size", "16",
                  "--patch-size", "24", "--lr", "1e-3", "--seed", "1", *extra]


def test_train_lowers_loss_and_writes_the_run_folder(tiny_data, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(_train_cmd(tiny_data, out, 3), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = _log(out)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    for name in ("model.keras", "config.json", "record.json", "curves.png", "log.csv"):
        assert (out / name).exists(), name
    assert not (out / "backup").exists()
    record = json.loads((out / "record.json").read_text())
    assert record["config"]["degradation"] == "bicubic" and record["seed"] == 1
    assert len(record["data"]["file_list_sha256"]) == 64 and record["data"]["count"] == 4
    assert {"tensorflow", "keras", "keras_sr"} <= set(record["versions"])
    import keras_sr

    model = keras_sr.load_model(out)
    assert model.sr_info.degradation == "bicubic" and model.sr_info.scale == 2
    assert "Validation" in proc.stdout
    # a finished run is not overwritten
    again = subprocess.run(_train_cmd(tiny_data, out, 3), capture_output=True, text=True)
    assert again.returncode == 1 and "already holds a finished run" in again.stderr


def test_resume_after_kill_9(tiny_data, tmp_path):
    out = tmp_path / "run"
    cmd = _train_cmd(tiny_data, out, 12)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(_log(out)) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(_log(out))
    assert 2 <= done_before < 12, "the run was not interrupted mid-way"
    assert not (out / "model.keras").exists()
    resumed = subprocess.run(cmd, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming" in resumed.stderr
    epochs = [int(r["epoch"]) for r in _log(out)]
    assert epochs[-1] == 11 and len(set(epochs)) == len(epochs) >= 12 - 1
    # the resumed part did not start from scratch: fewer epochs were trained after the restart
    assert len(epochs) - done_before <= 12 - done_before + 1


def test_recipe_resolution_order():
    cfg = TrainConfig.resolve("srcnn", recipe="srcnn-keras", epochs=5)
    assert (cfg.degradation, cfg.patch_mode, cfg.patch_size, cfg.stride) == \
        ("bilinear-legacy", "sliding", 32, 16)
    assert cfg.epochs == 5 and cfg.batch_size == 128 and cfg.lr == 3e-4
    default = TrainConfig.resolve("srcnn")
    assert default.degradation == "bicubic" and default.epochs == 10


def test_resume_refuses_a_different_config(tiny_data, tmp_path):
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "backup" / "x").write_text("")
    (out / "config.json").write_text(json.dumps({"arch": "srcnn", "epochs": 999}))
    proc = subprocess.run(_train_cmd(tiny_data, out, 2), capture_output=True, text=True)
    assert proc.returncode == 1 and "different config" in proc.stderr


def test_paired_lr_hr_training_and_its_bad_inputs(paired_data, tmp_path):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    def run(*extra):
        return CliRunner().invoke(main, ["train", "fsrcnn", "--factor", "2", "--epochs", "1",
                                         "--steps-per-epoch", "3", "--batch-size", "8", "--patch-size", "24",
                                         "--val-fraction", "0.25", "--track", "none", *map(str, extra)])

    out = tmp_path / "run"
    r = run("--data", paired_data / "hr", "--lr-data", paired_data / "lr", "--out", out)
    assert r.exit_code == 0, r.output
    record = json.loads((out / "record.json").read_text())
    assert record["data"]["source"] == "paired LR/HR files"
    assert [f["path"] for f in record["data"]["lr_files"]] == [f"{f['path'][:4]}x2.png" for f in record["data"]["files"]]
    assert json.loads((out / "config.json").read_text())["lr_data"] == [str(paired_data / "lr")]
    r = run("--factor", "3", "--data", paired_data / "hr", "--lr-data", paired_data / "lr", "--out", tmp_path / "b")
    assert r.exit_code == 1 and "not x3" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("--lr-data", paired_data / "lr", "--out", tmp_path / "c")
    assert r.exit_code == 2 and "--lr-data needs the matching HR folders" in r.stderr


def test_resume_accepts_a_run_from_before_an_option_existed():
    from keras_sr.training.trainer import _same_config

    cfg = TrainConfig.resolve("fsrcnn", factor=2)
    saved = cfg.to_dict()
    del saved["lr_data"]  # a run started by an older keras_sr
    assert _same_config(json.loads(json.dumps(saved)), cfg)
    cfg.lr_data = ["lr/"]
    assert not _same_config(json.loads(json.dumps(saved)), cfg)
    assert not _same_config(dict(json.loads(json.dumps(saved)), epochs=999), TrainConfig.resolve("fsrcnn", factor=2))


def test_a_run_stopped_after_its_last_epoch_is_finished_not_restarted(tmp_path, tiny_data):
    """Killed (or failed) between the end of fit() and writing model.keras: re-running the same
    command finishes the run from best.keras and its log instead of training again."""
    import csv

    from click.testing import CliRunner

    from keras_sr.cli.main import main

    args = ["train", "fsrcnn-s", "--factor", "2", "--data", str(tiny_data), "--epochs", "2",
            "--steps-per-epoch", "2", "--batch-size", "4", "--out", str(tmp_path / "run")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    run = tmp_path / "run"
    (run / "model.keras").rename(run / "best.keras")  # the state of a run that stopped at the end
    (run / "record.json").unlink()
    log_before = (run / "log.csv").read_text()
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "finishing it from best.keras" in r.stderr
    assert (run / "log.csv").read_text() == log_before  # no epoch trained again
    record = json.loads((run / "record.json").read_text())
    assert record["finished_from_best_checkpoint"] is True and record["epochs_completed"] == 2
    assert record["optimizer_iterations"] == {"model": None, "logged_epochs_x_steps": 4}
    assert (run / "model.keras").exists() and not (run / "best.keras").exists()
    with open(run / "log.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    (run / "model.keras").rename(run / "best.keras")  # same state, but another config: refused
    r = CliRunner().invoke(main, [*args[:-2], "--lr", "5e-4", *args[-2:]])
    assert r.exit_code == 1 and "holds a stopped run with a different config" in r.stderr
    r = CliRunner().invoke(main, args)  # the refusal left the run as it was: the same command finishes it
    assert r.exit_code == 0 and "finishing it from best.keras" in r.stderr, r.output


def test_init_from_another_scale_zeroes_the_output_layer_it_cannot_copy(tmp_path):
    """--init from an x4 SRVGG into an x2 one: every body layer copied, the output conv (other
    shape) zeroed, so the x2 model starts at its nearest-upscaled input."""
    import numpy as np

    from keras_sr.models import ModelInfo, build_model, save_with_info
    from keras_sr.training.config import TrainConfig
    from keras_sr.training.trainer import _initial_model

    src = build_model("srvgg", 4, channels=3, filters=8, convs=2)
    path = save_with_info(src, tmp_path / "x4.keras", ModelInfo("srvgg", 4, input_mode="lr", color_space="rgb"))
    cfg = TrainConfig.resolve("srvgg", factor=2, init=str(path), arch_kwargs={"filters": 8, "convs": 2})
    model = _initial_model(cfg, 3)
    for layer in model.layers[:-4]:
        if layer.weights:
            for a, b in zip(layer.get_weights(), src.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((1, 5, 5, 3), np.float32)
    np.testing.assert_allclose(model(x).numpy(), np.repeat(np.repeat(x, 2, 1), 2, 2), atol=1e-6)
