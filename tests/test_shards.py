"""TFRecord shards: round trip, manifest checks, training from shards, --strategy."""

import numpy as np
import pytest

from keras_sr.data.io import list_images, read_image
from keras_sr.data.shards import prepare, read_manifest, shard_images
from keras_sr.errors import KerasSRError


def test_round_trip_reads_back_the_source_images(tmp_path, tiny_data):
    manifest = prepare([tiny_data], tmp_path / "shards", shard_mb=0.02, factor=2)
    assert manifest["count"] == 5 and len(manifest["shards"]) >= 2
    got = [img.numpy() for img in shard_images(tmp_path / "shards", "rgb", 0)]
    want = {}
    for f in list_images([tiny_data]):
        img = read_image(f)
        want[f.name] = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
    assert len(got) == 5
    for img in got:
        assert any(img.shape == w.shape and np.array_equal(img, w) for w in want.values())
    names = sorted(e["name"] for e in manifest["files"])
    assert names == sorted(want)


def test_manifest_guards(tmp_path, tiny_data):
    prepare([tiny_data], tmp_path / "s", factor=2)
    with pytest.raises(KerasSRError, match="prepared for x2, not x3"):
        read_manifest(tmp_path / "s", factor=3)
    shard = next((tmp_path / "s").glob("shard-*.tfrecord"))
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(KerasSRError, match="corrupt or missing shard"):
        read_manifest(tmp_path / "s", factor=2)
    with pytest.raises(KerasSRError, match="not empty"):
        prepare([tiny_data], tmp_path / "s")


def test_train_from_shards_with_mirrored_strategy(tmp_path, tiny_data):
    from click.testing import CliRunner

    from keras_sr.cli.main import main

    prepare([tiny_data], tmp_path / "s", factor=2)
    r = CliRunner().invoke(main, ["train", "srcnn", "--data", str(tmp_path / "s"), "--factor", "2",
                                  "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
                                  "--patch-size", "24", "--strategy", "mirrored", "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    import json

    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["data"]["count"] == 5 and record["strategy"]["name"] == "mirrored"
    assert record["optimizer_iterations"] == {"model": 2}  # read off a MirroredVariable
    r = CliRunner().invoke(main, ["train", "srcnn", "--data", str(tmp_path / "s"), "--factor", "3",
                                  "--epochs", "1", "--out", str(tmp_path / "run3")])
    assert r.exit_code == 1 and "prepared for x2" in r.stderr
