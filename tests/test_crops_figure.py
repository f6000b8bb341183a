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


def _y8(rgb):
    """8-bit BT.601 Y (MATLAB rgb2ycbcr), written out here rather than taken from keras_sr."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return np.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)


def test_ladder_mode_rows_columns_and_crop_psnr(tmp_path, monkeypatch, capsys):
    """--ladder: 3 rows (clean / light / heavy) x bicubic | models | HR, one crop; each title's
    PSNR is the crop's PSNR-Y recomputed with scikit-image from the pixels the figure shows."""
    import matplotlib

    matplotlib.use("Agg")
    from skimage.metrics import peak_signal_noise_ratio

    from keras_sr.inference import Upscaler

    rng = np.random.default_rng(1)
    x2, x4 = tmp_path / "small-x2.keras", tmp_path / "teach-x4.keras"
    for path, s in ((x2, 2), (x4, 4)):
        info = ModelInfo(architecture="srvgg", scale=s, color_space="rgb", input_mode="lr", degradation="realworld")
        save_with_info(srvgg(s, filters=4, convs=1), path, info)
    hr = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    hr[10:30, 20:40] = rng.integers(0, 255, (20, 20, 3)) // 8 + 100  # a smooth patch: the crop avoids it
    tool = _tool()
    ups = [("small-x2", Upscaler(x2)), ("teach-x4 (x4 to x2)", Upscaler(x4))]
    win, rows = tool.ladder_rows(hr, "hr.png", ups, 2, seed=0, crop=16, box=(4, 6))
    assert win == (slice(4, 20), slice(6, 22))
    assert list(rows) == ["clean", "light", "heavy"]
    fig = tool.ladder_figure([(Path("hr.png"), win, rows)], 2, 0)
    assert len(fig.axes) == 3 * 4
    n_psnr = 0
    for r, sev in enumerate(("clean", "light", "heavy")):
        axes = fig.axes[4 * r: 4 * r + 4]
        assert sev in axes[0].get_ylabel()
        titles = [ax.get_title() for ax in axes]
        assert [t.splitlines()[0] for t in titles] == ["bicubic", "small-x2", "teach-x4 (x4 to x2)", "HR (hr)"]
        shown = [np.asarray(ax.images[0].get_array()) for ax in axes]
        assert np.array_equal(shown[3], hr[4:20, 6:22])  # the HR column is the HR crop
        assert not np.array_equal(shown[0], shown[1])
        for title, img in zip(titles[:3], shown[:3]):
            label = float(title.splitlines()[1].split(" dB")[0])
            ref = peak_signal_noise_ratio(_y8(shown[3]), _y8(img), data_range=255)
            assert abs(label - ref) <= 0.005 + 1e-9, (sev, title, ref)
            n_psnr += 1
    assert n_psnr == 9
    assert rows["clean"][0][2] > rows["heavy"][0][2]  # bicubic loses detail down the ladder
    # the textured-window default keeps off the smooth patch
    win, _ = tool.ladder_rows(hr, "hr.png", [], 2, crop=16)
    assert not (win[0].start >= 10 - 8 and win[0].stop <= 30 + 8 and win[1].start >= 20 - 8 and win[1].stop <= 40 + 8)

    # the command line: a PNG of 3 rows x 4 columns of 2x crops; LPIPS left out with a note
    src, out = tmp_path / "hr.png", tmp_path / "fig" / "ladder.png"
    Image.fromarray(hr).save(src)
    monkeypatch.setattr(tool, "SHARED", tmp_path / "no_shared")
    monkeypatch.setenv("KERAS_SR_WEIGHTS", str(tmp_path / "no_weights"))
    monkeypatch.setenv("KERAS_SR_CACHE", str(tmp_path / "no_cache"))
    monkeypatch.setattr(sys, "argv", ["crops_figure", str(x2), str(x4), "--ladder", "-f", "2", "--crop", "16",
                                      "--images", str(src), "-o", str(out)])
    assert tool.main() == 0
    assert Image.open(out).size == (20 + 4 * (32 + 6), 22 + 3 * (32 + 26)) and Image.open(out).mode == "RGB"
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[1] for ln in lines[1:]] == ["clean", "light", "heavy"] and "LPIPS" not in lines[1]
    for argv, err in (([str(x4), "--ladder", "-f", "4", "--box", "30", "0"], "leaves hr.png (48x40)"),
                      ([str(x2), "--ladder", "-f", "4"], "upscales x2, less than --factor 4"),
                      ([str(x2), "--ladder", "-f", "2", "--degradation", "realworld"], "do not apply to --ladder")):
        monkeypatch.setattr(sys, "argv", ["crops_figure", *argv, "--crop", "16", "--images", str(src),
                                          "-o", str(tmp_path / "bad.png")])
        assert tool.main() == 2 and err in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()
