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


def test_16bit_colour_round_trip(tmp_path, photo):
    import tifffile

    from keras_sr._backend import tf

    rng = np.random.default_rng(3)
    rgb16 = photo[:20, :24].astype(np.uint16) * 257 + rng.integers(0, 256, (20, 24, 3)).astype(np.uint16)
    rgba16 = np.dstack([rgb16, np.full((20, 24), 40000, np.uint16)])
    (tmp_path / "rgb16.png").write_bytes(tf().io.encode_png(rgb16).numpy())  # encoders independent of ours
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb16, photometric="rgb")
    (tmp_path / "rgba16.png").write_bytes(tf().io.encode_png(rgba16).numpy())
    Image.fromarray(photo[:20, :24]).save(tmp_path / "rgb8.png")
    out = tmp_path / "out"
    names = ("rgb16.png", "rgb16.tif", "rgba16.png", "rgb8.png")
    r = up(*(tmp_path / n for n in names), "-o", out, "-m", "fsrcnn-x2")  # a trained model: real pictures
    assert r.exit_code == 0, r.output
    eight = np.asarray(Image.open(out / "rgb8.png")).astype(float)
    png = tf().io.decode_png((out / "rgb16.png").read_bytes(), dtype=tf().uint16).numpy()
    tif = tifffile.imread(out / "rgb16.tif")
    rgba = tf().io.decode_png((out / "rgba16.png").read_bytes(), dtype=tf().uint16).numpy()
    for arr in (png, tif, rgba[..., :3]):
        assert arr.dtype == np.uint16 and arr.shape == (40, 48, 3)
        assert np.any(arr % 257 != 0)  # 16-bit precision, not 8-bit values scaled up
        assert np.abs(arr / 257.0 - eight).max() <= 2.5  # the same picture as the 8-bit run
    assert np.abs(rgba[..., 3].astype(int) - 40000).max() <= 1


def test_16bit_colour_keeps_orientation_and_icc(tmp_path, photo):
    from PIL import ImageOps

    from keras_sr.data.io import write_image
    from keras_sr.data.photo import open_photo

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb16 = photo[:12, :20].astype(np.uint16) * 257 + 7
    write_image(tmp_path / "o.png", rgb16, icc_profile=icc, exif=exif.tobytes())
    ph = open_photo(tmp_path / "o.png")
    assert ph.pixels.dtype == np.uint16 and ph.pixels.shape == (20, 12, 3) and ph.icc_profile == icc
    with Image.open(tmp_path / "o.png") as im:  # Pillow's own (8-bit) reading agrees after rotation
        assert np.array_equal(ph.pixels >> 8, np.asarray(ImageOps.exif_transpose(im)))
    assert Image.open(tmp_path / "o.png").getexif().get(0x0112) == 6
    kept = Image.Exif()
    kept.load(ph.exif)
    assert kept.get(0x0112) == 1  # pixels are upright now


def test_killed_batch_resumes(tmp_path, photo, model_file):
    """A batch killed mid-way (SIGKILL) leaves only complete outputs; the same command then
    writes the rest and skips what exists."""
    import os
    import signal
    import subprocess
    import sys
    import time

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(40):
        Image.fromarray(np.roll(photo, i * 7, axis=1)).save(src / f"p{i:02d}.png")
    cmd = [sys.executable, "-m", "keras_sr.cli.main", "upscale", str(src), "-o", str(out), "-m", str(model_file),
           "--tile", "32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("p*.png"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = sorted(p.name for p in out.glob("p*.png"))
    assert 3 <= len(first) < 40, f"kill came too late to test resuming ({len(first)} written)"
    for p in out.glob("p*.png"):  # every file present is complete and readable
        assert Image.open(p).size == (photo.shape[1] * 2, photo.shape[0] * 2)
    r = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert sorted(p.split("/")[-1] for p in summary["skipped"]) == first
    assert len(summary["written"]) == 40 - len(first)
    assert sorted(p.name for p in out.glob("*")) == [f"p{i:02d}.png" for i in range(40)]  # no leftovers
