"""Photo I/O and batch upscaling: metadata, modes, bad inputs, resume (inference/batch module)."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

import keras_sr
from keras_sr.cli.main import main
from keras_sr.models import ModelInfo, build_model, save_with_info


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "fsrcnn.keras"
    save_with_info(build_model("fsrcnn", 2, d=8, s=4, m=1), path, ModelInfo("fsrcnn", 2, input_mode="lr"))
    return path


def up(*args):
    return CliRunner().invoke(main, ["upscale", *map(str, args)])


def test_exif_orientation_icc_and_unicode_paths(tmp_path, photo, model_file):
    folder = tmp_path / "fotos ü"
    folder.mkdir()
    src = folder / "bild mit leerzeichen.jpg"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "keras_sr test camera"
    Image.fromarray(photo[:40, :60]).save(src, exif=exif.tobytes(), icc_profile=icc, quality=95)
    out = folder / "ergebnis ü.png"
    r = up(src, "-o", out, "-m", model_file)
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.size == (80, 120)  # upright: 40x60 (h x w) rotated -> 60x40 -> x2
        assert im.info.get("icc_profile") == icc
        ex = im.getexif()
        assert ex.get(0x0112) == 1 and ex.get(0x010F) == "keras_sr test camera"


def test_modes_rgba_palette_gray16_cmyk_and_tiny(tmp_path, photo, model_file):
    rgba = np.dstack([photo[:20, :24], np.linspace(0, 255, 20 * 24).reshape(20, 24).astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    pal = Image.fromarray(photo[:20, :24]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pal.png", transparency=0)
    g16 = (np.arange(20 * 24).reshape(20, 24) * 97).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    Image.fromarray(photo[:20, :24]).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(photo[:1, :1]).save(tmp_path / "tiny.png")
    out = tmp_path / "out"
    r = up(tmp_path / "rgba.png", tmp_path / "pal.png", tmp_path / "g16.png", tmp_path / "cmyk.jpg",
           tmp_path / "tiny.png", "-o", out, "-m", model_file)
    assert r.exit_code == 0, r.output
    with Image.open(out / "rgba.png") as im:
        assert im.mode == "RGBA" and im.size == (48, 40)
        alpha = np.asarray(im)[..., 3].astype(int)
        assert abs(alpha[0, 0] - 0) <= 3 and abs(alpha[-1, -1] - 255) <= 3
    assert Image.open(out / "pal.png").mode == "RGBA"
    with Image.open(out / "g16.png") as im:
        arr = np.asarray(im)
        assert arr.dtype == np.uint16 and arr.shape == (40, 48)
        assert np.any(arr % 257 != 0)  # not 8-bit values scaled up: 16-bit precision survived
    assert Image.open(out / "cmyk.jpg").mode == "RGB"
    assert Image.open(out / "tiny.png").size == (2, 2)


def test_batch_resume_corrupt_and_json(tmp_path, photo, model_file):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(photo[i * 10: i * 10 + 20, :20]).save(src / f"p{i}.png")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    out.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(out / "p0.png")  # a previous, killed run
    before = (out / "p0.png").read_bytes()
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "-m", str(model_file), "--json"])
    assert r.exit_code == 1
    summary = json.loads(r.stdout)
    assert sorted(p.split("/")[-1] for p in summary["written"]) == ["p1.png", "p2.png"]
    assert [p.split("/")[-1] for p in summary["skipped"]] == ["p0.png"]
    assert len(summary["failed"]) == 1 and "broken.png" in summary["failed"][0]["error"]
    assert (out / "p0.png").read_bytes() == before
    assert not list(out.glob(".*part*"))


def test_same_file_bomb_limit_and_disk_full(tmp_path, photo, model_file, monkeypatch):
    src = tmp_path / "a.png"
    Image.fromarray(photo[:64, :64]).save(src)
    r = up(src, "-o", src, "-m", model_file, "--overwrite")
    assert r.exit_code == 1 and "same file" in r.stderr
    try:
        r = up(src, "-o", tmp_path / "b.png", "-m", model_file, "--max-pixels", "100")
        assert r.exit_code == 1 and "decompression-bomb" in r.stderr
    finally:
        Image.MAX_IMAGE_PIXELS = 89_478_485
    real_save = Image.Image.save

    def full(self, fp, *a, **k):
        with open(fp, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    r = up(src, "-o", tmp_path / "c.png", "-m", model_file)
    monkeypatch.setattr(Image.Image, "save", real_save)
    assert r.exit_code == 1 and "No space left" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c.png").exists() and not list(tmp_path.glob(".c.png*"))


def test_upscale_image_api_keeps_metadata(photo, model_file):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = Image.fromarray(photo[:30, :40])
    im.info["icc_profile"] = icc
    calls = []
    out = keras_sr.upscale_image(im, model=str(model_file), tile=16, progress=lambda i, n: calls.append(n))
    assert out.size == (80, 60) and out.info.get("icc_profile") == icc and calls and calls[0] > 1
