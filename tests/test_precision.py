"""keras_sr.training.precision and `keras-sr train --precision`: which layers compute in 16 bits,
the saved model is float32, bf16 and fp32 training agree, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from keras_sr._backend import keras
from keras_sr.models import build_model
from keras_sr.training import precision as P

CLI = [sys.executable, "-m", "keras_sr.cli.main"]


def _policies(model) -> dict:
    return {layer.name: layer.dtype_policy.name for layer in model.layers
            if not isinstance(layer, keras().layers.InputLayer)}


@pytest.mark.parametrize("arch, channels, tail", [
    ("srvgg", 3, {"conv_last_x2", "plus_base", "shuffle", "base_tile"}),
    ("abpn", 1, {"anchor", "residual_x2", "plus_anchor", "shuffle", "clip"}),
    ("fsrcnn", 1, {"deconv_x2"}),
])
def test_bf16_keeps_the_tail_and_input_path_float32(arch, channels, tail):
    model = build_model(arch, 2, channels=channels)
    mixed = P.with_precision(model, "bf16")
    policies = _policies(mixed)
    assert {n for n, p in policies.items() if p == "float32"} == tail
    assert all(p == "mixed_bfloat16" for n, p in policies.items() if n not in tail)
    assert keras().mixed_precision.global_policy().name == "float32"  # never the global policy
    x = np.random.default_rng(0).random((2, 12, 12, channels), np.float32)
    out = mixed(x)
    assert out.dtype.name == "float32"
    ref = model(x).numpy()
    assert 0 < np.abs(out.numpy() - ref).max() < 0.05  # 16-bit inner convs: close, not equal
    back = P.float32_copy(mixed)
    assert set(_policies(back).values()) == {"float32"}
    np.testing.assert_array_equal(back(x).numpy(), ref)  # same weights, float32 again
    assert P.with_precision(model, "fp32") is model


def test_unknown_precision_and_fp16_gan_are_usage_errors():
    from keras_sr.errors import UsageError
    from keras_sr.training.config import TrainConfig

    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        TrainConfig.resolve("srvgg", precision="fp8")
    with pytest.raises(UsageError, match="loss scaling"):
        TrainConfig.resolve("realesrgan", precision="fp16")
    with pytest.raises(UsageError, match="contradicts"):
        TrainConfig.resolve("srvgg", precision="bf16", mixed_precision=True)
    cfg = TrainConfig.resolve("srvgg", mixed_precision=True)  # the old flag is fp16
    assert cfg.precision == "fp16" and cfg.mixed_precision
    assert TrainConfig.resolve("srvgg", precision="bf16").mixed_precision is False
    with pytest.raises(UsageError, match="pair-reuse"):
        TrainConfig.resolve("srvgg", pair_reuse=0)
    with pytest.raises(UsageError, match="at most 8, got 9"):
        TrainConfig.resolve("srvgg", pair_reuse=9, augment_on="device")
    assert TrainConfig.resolve("srvgg", pair_reuse=8, augment_on="device").pair_reuse == 8


def test_bf16_without_hardware_support_warns_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(P, "_cpu_flags", lambda: {"avx2", "avx512f"})
    P.check_support("bf16")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "emulates bfloat16" in err and "slower" in err
    monkeypatch.setattr(P, "_cpu_flags", lambda: {"avx512_bf16"})
    P.check_support("bf16")
    assert capsys.readouterr().err == ""


def _train(data, out, *extra, epochs=2):
    cmd = CLI + ["train", "espcn", "--factor", "2", "-d", str(data), "--epochs", str(epochs),
                 "--steps-per-epoch", "3", "--batch-size", "8", "--patch-size", "24", "--track", "none",
                 "--seed", "3", "-o", str(out), *map(str, extra)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_bf16_training_saves_a_float32_model_that_matches_fp32_training(tiny_data, tmp_path):
    runs = {}
    for name in ("fp32", "bf16"):
        proc = _train(tiny_data, tmp_path / name, "--precision", name, "--lr", "1e-3")
        assert proc.returncode == 0, proc.stderr[-1500:]
        runs[name] = tmp_path / name
    rec = json.loads((runs["bf16"] / "record.json").read_text())
    assert rec["config"]["precision"] == "bf16" and rec["ms_per_step"] > 0
    # the saved file names no mixed policy: it loads as float32 with plain Keras (keras_sr only
    # registers its layer classes; no policy is set)
    with zipfile.ZipFile(runs["bf16"] / "model.keras") as z:
        config = z.read("config.json").decode()
    assert "bfloat16" not in config and "mixed" not in config
    code = ("import keras, numpy as np, sys, keras_sr.models.layers; m = keras.saving.load_model(sys.argv[1], compile=False); "
            "print(m.dtype_policy.name, {l.dtype_policy.name for l in m.layers}, "
            "m(np.zeros((1, 8, 8, 1), 'float32')).dtype.name)")
    plain = subprocess.run([sys.executable, "-c", code, str(runs["bf16"] / "model.keras")],
                           capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-1500:]
    assert plain.stdout.strip() == "float32 {'float32'} float32"
    # same seed, same batches: the two runs' losses and validation agree within bf16's rounding
    from keras_sr.training.callbacks import read_log

    logs = {n: read_log(p / "log.csv") for n, p in runs.items()}
    for a, b in zip(logs["fp32"], logs["bf16"]):
        assert abs(a["loss"] - b["loss"]) < 0.1 * a["loss"]
        assert abs(a["val_psnr"] - b["val_psnr"]) < 0.5
    # resuming a run with another precision is refused in one line
    (runs["bf16"] / "backup").mkdir()
    (runs["bf16"] / "backup" / "x").write_text("")
    again = _train(tiny_data, runs["bf16"], "--precision", "fp32", "--lr", "1e-3")
    assert again.returncode == 1 and "different config" in again.stderr
    assert again.stderr.strip().count("\n") == 0


def test_unknown_precision_on_the_command_line_is_one_line_exit_2(tiny_data, tmp_path):
    proc = _train(tiny_data, tmp_path / "x", "--precision", "fp8")
    assert proc.returncode == 2 and "unknown precision 'fp8'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()

