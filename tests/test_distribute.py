"""Local multi-worker launcher and strategy selection."""

import subprocess
import sys
import time
from pathlib import Path

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
