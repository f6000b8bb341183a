"""Local multi-worker launcher and strategy selection."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "launch_local_workers.py"


def test_tf_configs_are_consistent():
    sys.path.insert(0, str(TOOL.parent))
    from launch_local_workers import tf_configs

    cfgs = tf_configs(3)
    assert [c["task"]["index"] for c in cfgs] == [0, 1, 2]
    assert len({tuple(c["cluster"]["worker"]) for c in cfgs}) == 1
    assert len(set(cfgs[0]["cluster"]["worker"])) == 3


def test_launcher_prefixes_output_and_stops_all_when_one_fails(tmp_path):
    script = ("import os, json, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
              "print('hello', i, flush=True); time.sleep(0.5 if i == 1 else 60); sys.exit(3 if i == 1 else 0)")
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(TOOL), "2", "--", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and time.time() - t0 < 30
    assert "[worker 0] hello 0" in proc.stdout and "[worker 1] hello 1" in proc.stdout
    assert "stopping the others" in proc.stderr


def test_malformed_tf_config_and_unknown_strategy(monkeypatch):
    from keras_sr.errors import UsageError
    from keras_sr.training.trainer import get_strategy

    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UsageError, match="malformed TF_CONFIG"):
        get_strategy("multiworker")
    with pytest.raises(UsageError, match="unknown strategy"):
        get_strategy("horovod")


# --- multi-worker training on loopback workers (tools/launch_local_workers.py) ---------------

TINY = ["--factor", "2", "--patch-size", "24", "--batch-size", "8", "--steps-per-epoch", "4", "--track", "none"]


def _worker_command(data, out, epochs):
    return [sys.executable, str(TOOL), "2", "--", sys.executable, "-m", "keras_sr.cli.main", "train", "srcnn",
            "--strategy", "multiworker", "--data", str(data), *TINY, "--epochs", str(epochs), "--out", str(out)]


def _digests(output: str) -> dict:
    import re

    return dict(re.findall(r"\[worker (\d)\] final weights sha256: (\w+)", output))


def _epochs_printed(output: str, worker: int = 0) -> list:
    import re

    return [int(e) for e in re.findall(rf"\[worker {worker}\] Epoch (\d+)/", output)]


def test_killed_worker_then_rerun_resumes_and_only_the_chief_writes(tmp_path, tiny_data):
    """Two loopback workers train srcnn; worker 1 is killed with kill -9 at epoch 2 and the
    launcher stops the chief; the same command resumes from the backup. The finished run is one
    model (same weights on both workers) and only the chief wrote the run folder. (This also
    checks what a separate uninterrupted 2-worker run checked, at one launch less.)"""
    import os
    import signal

    from keras_sr.training.callbacks import read_log

    out, epochs = tmp_path / "run", 5
    cmd = _worker_command(tiny_data, out, epochs)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pids, seen, killed = {}, [], False
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("[launcher] worker"):
            pids[line.split()[2].rstrip(":")] = int(line.split()[-1])
        if line.startswith("[worker 0] Epoch 2/") and not killed:
            os.kill(pids["1"], signal.SIGKILL)
            killed = True
    assert proc.wait(timeout=120) != 0 and killed, "".join(seen)[-4000:]
    assert (out / "backup").is_dir() and not (out / "model.keras").exists()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "Resuming the interrupted run" in again.stdout
    resumed = _epochs_printed(again.stdout)
    assert resumed and resumed[0] >= 3 and resumed[-1] == epochs, resumed  # continues, not from 1
    rows = read_log(out / "log.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))  # one writer, no epoch twice
    assert set(rows[0]) == {"epoch", "loss", "psnr", "val_loss", "val_psnr", "epoch_s"}  # as fit()
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    digests = _digests(again.stdout)
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"], digests
    assert "[worker 1] Not the chief" in again.stdout and "[worker 0] Not the chief" not in again.stdout
    scratch = [line.split(" go to ")[1].split()[0] for line in again.stdout.splitlines() if "Not the chief" in line]
    assert scratch and not Path(scratch[0]).exists()  # worker 1's temporary folder is gone
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "curves.png", "log.csv", "model.keras",
                                                      "record.json"]  # no backup left either


FIT_UNDER_MWMS = """
import numpy as np, tensorflow as tf, keras
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
x = np.ones((16, 4), np.float32)
try:
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
    print("FIT_OK", flush=True)
except Exception as exc:
    print("FIT_FAILED", type(exc).__name__, str(exc).splitlines()[0], flush=True)
"""


def test_keras_fit_multiworker_still_broken():
    """keras-team/keras#20585: when this fails, fit() works with 2 workers: drop the custom loop
    (keras_sr.training.distributed.needs_custom_loop -> False) and this test."""
    proc = subprocess.run([sys.executable, str(TOOL), "2", "--", sys.executable, "-c", FIT_UNDER_MWMS],
                          capture_output=True, text=True, timeout=120)
    if proc.stdout.count("FIT_OK") == 2:
        pytest.fail("keras#20585 fixed upstream: switch multiworker back to fit()")
    assert "FIT_FAILED ValueError Attempt to convert a value (PerReplica" in proc.stdout, proc.stdout[-3000:]


def test_unreachable_workers_give_a_one_line_error_after_the_timeout(tmp_path, tiny_data):
    import json
    import os

    sys.path.insert(0, str(TOOL.parent))
    from launch_local_workers import tf_configs

    env = dict(os.environ, TF_CONFIG=json.dumps(tf_configs(2)[1]), KERAS_SR_WORKER_TIMEOUT="3")
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "keras_sr.cli.main", "train", "srcnn", "--strategy", "multiworker",
                           "--data", str(tiny_data), *TINY, "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and time.time() - t0 < 60
    assert "Error: worker 1 could not reach the other workers (127.0.0.1:" in proc.stderr
    assert "within 3 s" in proc.stderr and not (tmp_path / "run").exists()


def test_timeout_setting_is_checked(monkeypatch):
    from keras_sr.errors import UsageError
    from keras_sr.training.distributed import connect_timeout

    monkeypatch.delenv("KERAS_SR_WORKER_TIMEOUT", raising=False)
    assert connect_timeout() == 120
    monkeypatch.setenv("KERAS_SR_WORKER_TIMEOUT", "abc")
    with pytest.raises(UsageError, match="KERAS_SR_WORKER_TIMEOUT must be"):
        connect_timeout()


SRGAN_MIRRORED = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras_sr.models import build_model, discriminator
from keras_sr.training.gan import SRGAN
from keras_sr.training.losses import pixel_loss


def make(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        gan = SRGAN(build_model("srresnet", 2, channels=3, blocks=1, filters=8), discriminator(filters=4, dense=8),
                    pixel_loss("mse"), scale=2)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        gan.build_all(8)
    return gan


rng = np.random.default_rng(0)
hr = rng.random((4, 16, 16, 3), dtype=np.float32)
lr = hr.reshape(4, 8, 2, 8, 2, 3).mean(axis=(2, 4))
# the same 4 patches on both replicas: per-replica BatchNorm statistics equal the full batch's
lr2, hr2 = np.concatenate([lr, lr]), np.concatenate([hr, hr])
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
runs = {}
for name, strategy in (("single", tf.distribute.get_strategy()), ("mirrored", mirrored)):
    gan = make(strategy)
    hist = gan.fit(lr2, hr2, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    runs[name] = (gan, {k: v[0] for k, v in hist.items()})
more = runs["mirrored"][0].fit(rng.random((32, 8, 8, 3), dtype=np.float32),
                               rng.random((32, 16, 16, 3), dtype=np.float32), batch_size=8, epochs=1, verbose=0).history
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "single": runs["single"][1],
                  "mirrored": runs["mirrored"][1],
                  "more": {k: v[-1] for k, v in more.items()}}))
"""


def test_srgan_under_mirrored_two_devices_matches_one_device():
    import json

    proc = subprocess.run([sys.executable, "-c", SRGAN_MIRRORED], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    for key in ("g_loss", "d_loss", "content_loss", "adversarial_loss"):
        assert abs(result["single"][key] - result["mirrored"][key]) < 1e-4, (key, result)
    assert all(np.isfinite(v) for v in result["more"].values()), result


def test_global_batch_not_divisible_by_replicas(tiny_data, tmp_path):
    """--batch-size 7 over the 2 replicas of MirroredStrategy (2 logical CPUs): one line, exit 2."""
    script = (
        "import sys, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from keras_sr.cli.main import main\n"
        "sys.argv = ['keras-sr'] + sys.argv[1:]\n"
        "main()\n")
    proc = subprocess.run([sys.executable, "-c", script, "train", "srcnn", "--data", str(tiny_data),
                           "--strategy", "mirrored", "--batch-size", "7", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("Error")]
    assert proc.returncode == 2 and len(lines) == 1 and "not divisible by the 2 replicas" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r" / "model.keras").exists()
