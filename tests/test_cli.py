"""The keras-sr command line: happy paths and every bad input of the foundation issue."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, run
from keras_sr.models import ModelInfo, build_model, save_with_info


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "srcnn.keras"
    info = ModelInfo(architecture="srcnn", scale=2, degradation="bicubic")
    save_with_info(build_model("srcnn", 2), path, info)
    return path


@pytest.fixture()
def images(tmp_path, photo):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(photo).save(d / "rgb.png")
    Image.fromarray(photo[:31, :45, 0]).save(d / "gray_odd.png")
    return d


def test_help_does_not_import_tensorflow():
    code = ("import sys, time; t = time.time(); from keras_sr.cli.main import main\n"
            "try:\n main(['--help'])\nexcept SystemExit: pass\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'\n"
            "assert 'keras' not in sys.modules, 'Keras imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Commands:" in proc.stdout


def test_closed_pipe_is_quiet():
    """`keras-sr models | head -1`: the reader closes the pipe; no 'internal error', exit 141."""
    proc = subprocess.Popen([sys.executable, "-m", "keras_sr.cli.main", "models"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # before the first line is written
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert "error" not in err.lower() and "Traceback" not in err, err


def test_upscale_rgb_gray_and_odd_sizes(tmp_path, images, model_file):
    out = tmp_path / "out"
    result = run("upscale", images / "rgb.png", images / "gray_odd.png", "-o", out, "--model", model_file)
    assert result.exit_code == 0, result.output
    rgb, gray = Image.open(out / "rgb.png"), Image.open(out / "gray_odd.png")
    assert rgb.size == (256, 192) and rgb.mode == "RGB"
    assert gray.size == (90, 62) and gray.mode == "L"
    # a single input writes exactly the named file; existing files are not replaced
    single = tmp_path / "one.png"
    assert run("upscale", images / "rgb.png", "-o", single, "-m", model_file).exit_code == 0
    before = single.read_bytes()
    assert_one_line_error(run("upscale", images / "rgb.png", "-o", single, "-m", model_file),
                          1, "output exists")
    assert single.read_bytes() == before
    assert run("upscale", images / "rgb.png", "-o", single, "-m", model_file, "--overwrite").exit_code == 0


def test_evaluate_table_and_json(images, model_file):
    result = run("evaluate", "--model", model_file, "--data", images, "--factor", "2", "--json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert {r["name"] for r in data["rows"]} == {"rgb", "gray_odd"}
    assert data["mean"]["bicubic_psnr"] > 20
    table = run("evaluate", "--model", model_file, "--data", images, "--factor", "2").stdout
    assert "mean" in table and "bicubic PSNR" in table


# -- bad input: one line, exit code 2 (usage) or 1 (runtime), no partial output ------------
@pytest.mark.parametrize("factor", ["0", "1", "7"])
def test_bad_factor(images, model_file, tmp_path, factor):
    r = run("upscale", images / "rgb.png", "-o", tmp_path / "o.png", "-m", model_file, "--factor", factor)
    assert r.exit_code == 2 and "not a supported scale" in r.stderr
    assert not (tmp_path / "o.png").exists()
    r = run("train", "srcnn", "--factor", factor, "--out", tmp_path / "run")
    assert r.exit_code == 2 and not (tmp_path / "run").exists()


def test_missing_input_and_folder(tmp_path, model_file):
    assert_one_line_error(run("upscale", tmp_path / "nope.png", "-o", tmp_path / "o.png", "-m", model_file),
                          1, "no such file", "nope.png")
    r = run("train", "srcnn", "--data", tmp_path / "nodir", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "no such file or folder" in r.stderr


@pytest.mark.parametrize("content,fragment", [(b"", "empty file"), (b"just text", "not an image"),
                                              ("truncated", "corrupt or truncated")])
def test_bad_image_files(tmp_path, model_file, photo, content, fragment):
    bad = tmp_path / "bad.png"
    if content == "truncated":
        Image.fromarray(photo).save(tmp_path / "full.jpg")
        content = (tmp_path / "full.jpg").read_bytes()[:2000]
        bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    out = tmp_path / "out.png"
    r = run("upscale", bad, "-o", out, "-m", model_file)
    assert r.exit_code == 1 and fragment in r.stderr and "Traceback" not in r.output
    assert not out.exists() and not list(tmp_path.glob(".out.png*"))


def test_unknown_model_and_bad_model_file(images, tmp_path):
    assert_one_line_error(run("upscale", images / "rgb.png", "-o", tmp_path / "o.png", "-m", "nosuch-x2"),
                          1, "unknown model name")
    (tmp_path / "bad.keras").write_text("nope")
    assert_one_line_error(run("upscale", images / "rgb.png", "-o", tmp_path / "o.png", "-m",
                              tmp_path / "bad.keras"), 1, "cannot load model")
    assert_one_line_error(run("train", "nosuchnet", "--out", tmp_path / "r"), 2, "unknown architecture")


def test_output_in_missing_or_read_only_folder(images, model_file, tmp_path):
    assert_one_line_error(run("upscale", images / "rgb.png", "-o", tmp_path / "no" / "o.png", "-m", model_file),
                          1, "does not exist")
    if os.geteuid() == 0:  # root ignores permission bits; /proc refuses new files even to root
        target = "/proc/keras_sr_out.png"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        target = ro / "o.png"
    r = run("upscale", images / "rgb.png", "-o", target, "-m", model_file)
    assert r.exit_code == 1 and ("not writable" in r.stderr or "cannot write" in r.stderr), r.output
    assert "Traceback" not in r.output and len(r.stderr.strip().splitlines()) == 1


def test_train_with_no_usable_images(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "notes.png").write_text("text")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "tiny.png")
    from keras_sr.data.pipeline import DataWarning

    with pytest.warns(DataWarning, match="skipping .*tiny.png: smaller"):
        r = run("train", "srcnn", "--data", d, "--out", tmp_path / "run", "--epochs", "1")
    assert r.exit_code == 1 and "no usable training images" in r.stderr.splitlines()[-1]
    assert not (tmp_path / "run" / "model.keras").exists()


def test_evaluate_bad_inputs(tmp_path, model_file):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run("evaluate", "-m", model_file, "-d", empty, "-f", "2"), 1, "no images")
    assert_one_line_error(run("evaluate", "-m", model_file, "-f", "2", "--protocol", "nope"),
                          2, "unknown protocol")


def test_evaluate_report_compare_and_dataset_errors(tmp_path, images, model_file):
    report = tmp_path / "report"
    r = run("evaluate", "-m", model_file, "--dataset", images, "-f", "2", "--report", report)
    assert r.exit_code == 0, r.output
    assert {p.name for p in report.iterdir()} >= {"per_image.csv", "summary.json", "summary.txt",
                                                  "gains_hist.png", "best_worst.png"}
    fig = tmp_path / "cmp.png"
    r = run("compare", model_file, model_file, "--dataset", images, "-f", "2", "--figure", fig)
    assert r.exit_code == 0 and "A wins 0, ties 2, B wins 0" in r.stdout and fig.exists()
    (tmp_path / "root" / "Set5").mkdir(parents=True)
    assert_one_line_error(run("evaluate", "-m", model_file, "--dataset", "Urban100", "--data-root",
                              tmp_path / "root", "-f", "2"), 1, "'Urban100' not found", "found: Set5")
    assert_one_line_error(run("evaluate", "-m", model_file, "--dataset", images, "-f", "3"),
                          2, "model is x2 but --factor is 3")
    assert_one_line_error(run("evaluate", "-m", model_file, "--dataset", images, "-f", "2",
                              "--metrics", "psnr,vif"), 2, "unknown metric 'vif'")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tiny / "t.png")
    assert_one_line_error(run("evaluate", "-m", model_file, "--dataset", tiny, "-f", "2"),
                          1, "too small")
