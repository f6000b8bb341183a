"""Files keras_sr writes atomically get the mode a plain ``open(path, "w")`` gives under the
process umask (0o666 & ~umask; folders 0o777 & ~umask), not mkstemp's 0600 / mkdtemp's 0700."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from PIL import Image

from keras_sr.cli.main import main
from keras_sr.data.io import current_umask, replace_atomically, staged_folder, write_image
from keras_sr.models import ModelInfo, build_model, save_with_info


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def plain_modes(folder):
    """(file mode, folder mode) that ``open(.., "w")`` and ``os.mkdir`` create right now: the
    independent reference."""
    probe, probe_dir = folder / ".probe-file", folder / ".probe-dir"
    with open(probe, "w"):
        pass
    probe_dir.mkdir()
    modes = stat.S_IMODE(probe.stat().st_mode), stat.S_IMODE(probe_dir.stat().st_mode)
    probe.unlink()
    probe_dir.rmdir()
    return modes


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "fsrcnn.keras"
    save_with_info(build_model("fsrcnn", 2, d=16, s=8, m=1), path, ModelInfo("fsrcnn", 2, input_mode="lr"))
    return path


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_current_umask_reads_without_changing(mask):
    with umask(mask):
        assert current_umask() == mask
        assert current_umask() == mask  # unchanged by the first read


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_upscale_output_and_report_files(tmp_path, photo, model_file, mask):
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "photo.png"
    Image.fromarray(photo[:24, :30]).save(src)
    with umask(mask):
        file_mode, dir_mode = plain_modes(tmp_path)
        assert file_mode == 0o666 & ~mask
        out = tmp_path / "out.png"
        res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "--model", str(model_file)],
                                 catch_exceptions=False)
        assert res.exit_code == 0, res.output
        report = tmp_path / "report"
        res = CliRunner().invoke(main, ["evaluate", "--data", str(src.parent), "--model", str(model_file), "--factor", "2",
                                        "--report", str(report)], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        written = write_image(tmp_path / "direct.jpg", photo[:8, :8])
        tmp = tmp_path / ".folder.part"
        tmp.mkdir(mode=0o700)
        folder = replace_atomically(tmp, tmp_path / "folder")
    assert mode(out) == file_mode and mode(written) == file_mode and mode(folder) == dir_mode
    files = sorted(report.iterdir())
    assert {"per_image.csv", "summary.json", "summary.txt", "gains_hist.png"} <= {f.name for f in files}
    assert {f.name: mode(f) for f in files} == {f.name: file_mode for f in files}
    assert not list(tmp_path.glob(".*.part*")) and not list(report.glob(".*"))


def test_export_folder_and_files(tmp_path, tiny_data, model_file):
    from keras_sr.export import ExportConfig
    from keras_sr.export.exporter import export

    with umask(0o027):
        file_mode, dir_mode = plain_modes(tmp_path)
        out = tmp_path / "export"
        export(ExportConfig(model=str(model_file), out=str(out), modes=["fp32"], input_size=(24, 20),
                            parity_data=str(tiny_data)))
    assert mode(out) == dir_mode == 0o750  # was 0700 (mkdtemp)
    files = [f for f in out.iterdir() if f.is_file()]
    assert {f.name for f in files} >= {"metadata.json", "parity.md", "model_fp32.tflite", "photo_fp32.tflite"}
    assert {f.name: mode(f) for f in files} == {f.name: file_mode for f in files}


# train run files: tests/test_provenance.py (one short run checks both)


def test_staged_folder_replaces_whole_or_not_at_all(tmp_path):
    """export, --web and study write through ``staged_folder``: a failure leaves the old folder
    and no partial sibling; success replaces it, with a plain folder's mode; an existing folder
    needs ``overwrite``."""
    from keras_sr.errors import KerasSRError

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KerasSRError, match="output folder exists"):
        with staged_folder(out):
            pass
    with pytest.raises(RuntimeError):
        with staged_folder(out, overwrite=True) as work:
            (work / "new.txt").write_text("new")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (out / "old.txt").exists()
    with staged_folder(out, overwrite=True) as work:
        (work / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~current_umask()
