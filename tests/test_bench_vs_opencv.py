"""tools/bench_vs_opencv.py: the report table, the quality scoring and the path without OpenCV."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "bench_vs_opencv.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("bench_vs_opencv", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(skipped=""):
    q = {"ours": {"psnr": 33.0, "ssim": 0.91}, "FSRCNN": {"psnr": 31.5, "ssim": 0.88},
         "bicubic": {"psnr": 30.0, "ssim": 0.86}}
    return {"sizes": [512, 1024], "datasets": ["Set5"], "rounds": 5, "per_round": 3, "threads": 2,
            "opencv": None if skipped else "4.14.0", "opencv_skipped": skipped, "litert": "2.3.0",
            "scales": [{"scale": 3, "ours": {"model": "abpn-x3", "mode": "int8", "note": "",
                                             "delegate": "XNNPACK ran 26/29 ops"},
                        "ours_speed": {"512": 100.0, "1024": 400.0},
                        "peers": [] if skipped else [{"peer": "FSRCNN", "speed": {
                            "512": {"ours_ms": 100.0, "peer_ms": 250.0}, "1024": {"ours_ms": 400.0, "peer_ms": 600.0}}}],
                        "quality": {"Set5": q}}]}


def test_report_row_has_ratio_times_and_both_scores(tool):
    text = tool.format_report(_result())
    header, _, row = text.splitlines()[:3]
    assert "speed ratio 512²" in header and "speed ratio 1024²" in header and "Set5 PSNR / SSIM" in header
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:5] == ["x3", "abpn-x3 int8", "FSRCNN", "2.50x", "1.50x"]  # peer ms / ours ms
    assert cells[5:7] == ["100 / 250", "400 / 600"]
    assert cells[7] == "33.00 / 0.9100" and cells[8] == "31.50 / 0.8800"
    assert "> 1 = keras_sr faster" in text and "bicubic on the same LR: x3 Set5 30.00 / 0.8600" in text


def test_report_says_why_opencv_was_skipped(tool):
    text = tool.format_report(_result(skipped="OpenCV peers folder absent: /x"))
    row = text.splitlines()[2]
    assert "skipped: OpenCV peers folder absent: /x" in row and "33.00 / 0.9100" in row
    assert "OpenCV columns skipped: OpenCV peers folder absent" in text


def test_ensure_opencv_without_peers_gives_the_reason(tool, tmp_path):
    py, why = tool.ensure_opencv(tmp_path / "venv", tmp_path / "absent")
    assert py is None and "absent" in why
    assert not (tmp_path / "venv").exists()  # nothing installed when there is nothing to compare


def test_quality_feeds_the_same_lr_and_scores_alike(tool, tmp_path):
    """A runner that is the bicubic baseline itself scores exactly as the baseline; the Y of a
    gray image is its gray value (as keras-sr evaluate)."""
    import skimage.data
    from PIL import Image

    from keras_sr.data.degradations import get_degradation

    Image.fromarray(skimage.data.astronaut()[100:160, 100:163]).save(tmp_path / "a.png")
    Image.fromarray(skimage.data.camera()[:61, :60]).save(tmp_path / "b.png")
    deg = get_degradation("bicubic")
    seen = []

    def bicubic(lr8):
        seen.append(lr8.copy())
        up = np.asarray(deg.upscale(lr8.astype(np.float32) / 255, size=(lr8.shape[0] * 3, lr8.shape[1] * 3)))
        return np.round(np.clip(up, 0, 1) * 255).astype(np.uint8)

    scores = tool.quality(tmp_path, 3, {"same": bicubic})
    assert scores["same"] == pytest.approx(scores["bicubic"], abs=1e-6)
    assert 15 < scores["bicubic"]["psnr"] < 60 and 0 < scores["bicubic"]["ssim"] <= 1
    assert [s.shape for s in seen] == [(20, 21, 3), (20, 20, 3)] and all(s.dtype == np.uint8 for s in seen)
    with pytest.raises(RuntimeError, match="output"):
        tool.quality(tmp_path, 3, {"bad": lambda lr8: lr8})


def test_runs_and_exits_0_without_opencv(tool, tmp_path):
    import skimage.data
    from PIL import Image

    from keras_sr.models import ModelInfo, build_model, save_with_info

    model = save_with_info(build_model("abpn", 3, filters=4, convs=1), tmp_path / "m.keras",
                           ModelInfo("abpn", 3, input_mode="lr", color_space="y-bt601"))
    (tmp_path / "data" / "Set5").mkdir(parents=True)
    Image.fromarray(skimage.data.astronaut()[:60, :60]).save(tmp_path / "data" / "Set5" / "a.png")
    out = tmp_path / "table.md"
    rc = tool.main(["--model", f"x3={model}:fp32", "--scales", "3", "--sizes", "24", "--quick",
                    "--peers", str(tmp_path / "absent"), "--venv", str(tmp_path / "venv"),
                    "--data", str(tmp_path / "data"), "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert "skipped: OpenCV peers folder absent" in text and "| x3 |" in text
    assert "XNNPACK ran" in text


def test_opencv_fsrcnn_matches_its_published_set5_score(tool, tmp_path, shared_path):
    """When the OpenCV venv is there (the bench made it), the worker's FSRCNN x2 scores Set5
    near the peers README's 34.85 dB (float-Y LR there, 8-bit RGB LR here)."""
    peers, set5 = shared_path("peers", "opencv_dnn_superres"), shared_path("datasets", "Set5")
    py, why = tool.ensure_opencv(tool.DEFAULT_VENV, peers, install=False)
    if py is None:
        pytest.skip(why)
    cv = tool.OpenCVWorker(py, 2, tmp_path)
    try:
        cv.load("f", "fsrcnn", 2, peers / "FSRCNN_x2.pb")
        scores = tool.quality(set5, 2, {"fsrcnn": lambda lr: cv.upsample_rgb("f", lr)})
    finally:
        cv.close()
    assert scores["fsrcnn"]["psnr"] == pytest.approx(34.85, abs=0.3)
