"""`keras-sr upscale --side-by-side`: bicubic | MODEL | the shipped default, one labelled PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cli_helpers import run
from keras_sr.inference import side_by_side as sbs
from keras_sr.zoo import default_model


def panel(fig: np.ndarray, p: dict) -> np.ndarray:
    return fig[p["y"]:p["y"] + p["height"], p["x"]:p["x"] + p["width"]]


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    """One run of the command on a 30x40 crop of the astronaut, x2 with fsrcnn-x2."""
    import skimage.data

    d = tmp_path_factory.mktemp("sbs")
    Image.fromarray(np.ascontiguousarray(skimage.data.astronaut()[100:130, 180:220])).save(d / "in.png")
    result = run("upscale", d / "in.png", "-o", d / "out.png", "-m", "fsrcnn-x2", "--side-by-side", d / "fig.png")
    assert result.exit_code == 0, result.output
    return d, result.output


def test_three_labelled_panels_of_the_output_size(figure):
    d, output = figure
    im = Image.open(d / "fig.png")
    layout = json.loads(im.text[sbs.TEXT_KEY])
    default = default_model(2)[0]
    assert [p["label"] for p in layout] == ["bicubic", "fsrcnn-x2", f"{default} (shipped default)"]
    assert all((p["width"], p["height"]) == (80, 60) for p in layout)
    assert im.size == (3 * 80 + 2 * sbs.GAP, 60 + sbs.LABEL_HEIGHT) and im.mode == "RGB"
    fig = np.asarray(im)
    for p in layout:  # each label strip holds dark text pixels, and only over its own panel
        strip = fig[:sbs.LABEL_HEIGHT, p["x"]:p["x"] + p["width"]]
        assert (strip.min(axis=-1) < 100).sum() > 20, p["label"]
    assert (fig[:, 80:80 + sbs.GAP] == 255).all()  # the gap stays white
    assert f"wrote {d / 'fig.png'}" in output


def test_panel_1_is_bicubic_of_the_input(figure):
    d, _ = figure
    im = Image.open(d / "fig.png")
    first = panel(np.asarray(im), json.loads(im.text[sbs.TEXT_KEY])[0])
    lr = np.asarray(Image.open(d / "in.png"))
    assert np.array_equal(first, sbs.bicubic(lr, 2))
    # independent reference: Pillow's bicubic (Keys a = -0.5 as well; it clamps borders where
    # MATLAB/keras_sr mirror them, so compare away from the border)
    ref = np.asarray(Image.fromarray(lr).resize((80, 60), Image.BICUBIC)).astype(int)
    assert np.abs(first[4:-4, 4:-4].astype(int) - ref[4:-4, 4:-4]).max() <= 1
    assert np.abs(first.astype(int) - np.asarray(Image.open(d / "out.png")).astype(int)).max() > 3  # not the model's


def test_panels_2_and_3_are_the_model_output_and_the_default_output(figure, tmp_path):
    d, _ = figure
    im = Image.open(d / "fig.png")
    fig, layout = np.asarray(im), json.loads(im.text[sbs.TEXT_KEY])
    assert np.array_equal(panel(fig, layout[1]), np.asarray(Image.open(d / "out.png")))
    result = run("upscale", d / "in.png", "-o", tmp_path / "default.png", "-f", 2)  # what the user gets by default
    assert result.exit_code == 0, result.output
    assert np.array_equal(panel(fig, layout[2]), np.asarray(Image.open(tmp_path / "default.png")))


@pytest.mark.parametrize("case", ["folder", "jpeg", "exists"])
def test_bad_side_by_side_is_one_line_before_any_work(figure, tmp_path, case):
    d, _ = figure
    args = [d / "in.png", "-o", tmp_path / "out.png", "-m", "fsrcnn-x2", "--side-by-side", tmp_path / "f.png"]
    if case == "folder":
        args[0] = d
    elif case == "jpeg":
        args[-1] = tmp_path / "f.jpg"
    else:
        (tmp_path / "f.png").write_bytes(b"keep")
    result = run("upscale", *args)
    assert result.exit_code == (1 if case == "exists" else 2), result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out.png").exists()  # nothing written
    if case == "exists":
        assert (tmp_path / "f.png").read_bytes() == b"keep"


def test_compose_rejects_panels_of_different_sizes():
    a, b = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match="expected"):
        sbs.compose([("a", a), ("b", b)])
