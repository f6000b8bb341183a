"""tools/crops_figure.py: HR rows (bicubic / realworld LR) and real-photo rows without HR."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from keras_sr.models import ModelInfo, save_with_info, srvgg


def _tool():
    path = Path(__file__).resolve().parents[1] / "tools" / "crops_figure.py"
    spec = importlib.util.spec_from_file_location("crops_figure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_with_hr_and_real_rows(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    model = tmp_path / "m.keras"
    save_with_info(srvgg(2, filters=4, convs=1), model,
                   ModelInfo(architecture="srvgg", scale=2, color_space="rgb", input_mode="lr", degradation="realworld"))
    hr, real = tmp_path / "hr.png", tmp_path / "real.png"
    Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(hr)
    Image.fromarray(rng.integers(0, 255, (15, 17, 3), dtype=np.uint8)).save(real)  # odd sizes
    out = tmp_path / "fig.png"
    tool = _tool()
    monkeypatch.setattr(sys, "argv", ["crops_figure", str(model), "--factor", "2", "--degradation", "realworld",
                                      "--images", str(hr), "--real-images", str(real), "--crop", "16",
                                      "--out", str(out)])
    assert tool.main() == 0
    assert Image.open(out).size[0] > 500  # 4 columns: HR, degraded LR, bicubic, the model
    monkeypatch.setattr(sys, "argv", ["crops_figure", str(model), "--factor", "2", "--out", str(tmp_path / "x.png")])
    assert tool.main() == 2 and "give --images" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
