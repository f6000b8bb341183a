"""TFRecord shards for scale-out training (``keras-sr prepare``).

A shard folder holds ``shard-00000.tfrecord`` ... and ``manifest.json`` (counts, sha256 per
shard, sha256 per source file and of the source list, the factor if one was given). Each
record: the image as lossless PNG bytes (8-bit, gray or RGB, EXIF orientation applied), its
source name, the source file's sha256, height and width. Training reads the shards with a
parallel interleave; under ``tf.distribute`` the input is auto-sharded by file.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

from keras_sr.errors import ImageReadError, KerasSRError

MANIFEST = "manifest.json"


def is_shard_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MANIFEST).exists()


def prepare(sources, out, shard_mb: float = 64.0, factor: int | None = None, overwrite: bool = False,
            progress=None) -> dict:
    """Write TFRecord shards of the images in ``sources``; corrupt inputs are warned about and
    skipped. Returns the manifest."""
    from PIL import Image

    from keras_sr._backend import tf
    from keras_sr.data.io import atomic_write_text, eight_bit, list_images, read_image, sha256_file

    t = tf()
    files = list_images(sources)
    if not files:
        raise KerasSRError(f"no image files in {', '.join(map(str, sources))}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise KerasSRError(f"output folder is not empty (use --overwrite): {out}")
    if not out.parent.resolve().is_dir():
        raise KerasSRError(f"output folder's parent does not exist: {out.parent}")
    out.mkdir(exist_ok=True)
    for old in out.glob("shard-*.tfrecord"):
        old.unlink()
    shards, entries, skipped = [], [], []
    writer, size, index = None, 0, -1

    def close():
        if writer is not None:
            writer.close()
            path = out / f"shard-{index:05d}.tfrecord"
            shards.append({"file": path.name, "records": count, "bytes": path.stat().st_size,
                           "sha256": sha256_file(path)})

    count = 0
    for i, f in enumerate(files):
        try:
            img = read_image(f)
        except ImageReadError as exc:
            warnings.warn(f"skipping {f}: {exc}", UserWarning, stacklevel=2)
            skipped.append(str(f))
            continue
        img = eight_bit(img)
        if img.ndim == 3:
            img = img[..., :3]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        data = buf.getvalue()
        digest = sha256_file(f)
        if writer is None or size + len(data) > shard_mb * 2**20:
            close()
            index += 1
            count, size = 0, 0
            writer = t.io.TFRecordWriter(str(out / f"shard-{index:05d}.tfrecord"))
        feature = {
            "image": t.train.Feature(bytes_list=t.train.BytesList(value=[data])),
            "name": t.train.Feature(bytes_list=t.train.BytesList(value=[f.name.encode()])),
            "sha256": t.train.Feature(bytes_list=t.train.BytesList(value=[digest.encode()])),
            "height": t.train.Feature(int64_list=t.train.Int64List(value=[img.shape[0]])),
            "width": t.train.Feature(int64_list=t.train.Int64List(value=[img.shape[1]])),
        }
        writer.write(t.train.Example(features=t.train.Features(feature=feature)).SerializeToString())
        entries.append({"name": f.name, "sha256": digest, "height": int(img.shape[0]),
                        "width": int(img.shape[1]), "shard": index})
        count += 1
        size += len(data)
        if progress:
            progress(i + 1, len(files))
    close()
    if not entries:
        raise KerasSRError("no readable images to write")
    lines = sorted(f"{e['sha256']}  {e['name']}" for e in entries)
    manifest = {"format": "keras_sr-tfrecord-v1", "factor": factor, "count": len(entries),
                "file_list_sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
                "shards": shards, "files": entries, "skipped": skipped}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder, factor: int | None = None) -> dict:
    """The manifest, checked: every shard present with its sha256, the factor compatible."""
    from keras_sr.data.io import sha256_file

    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise KerasSRError(f"unreadable shard manifest in {folder}: {exc}") from None
    if factor and manifest.get("factor") and manifest["factor"] != factor:
        raise KerasSRError(f"shards in {folder} were prepared for x{manifest['factor']}, not x{factor}")
    for shard in manifest.get("shards", []):
        path = folder / shard["file"]
        if not path.exists() or sha256_file(path) != shard["sha256"]:
            raise KerasSRError(f"corrupt or missing shard {path} (sha256 differs from the manifest)")
    return manifest


def shard_images(folder, color_space: str, min_size: int, val_every: int = 0, validation: bool = False):
    """Decoded images (uint8, model space) from shards: ``val_every`` > 0 holds out every
    n-th record (deterministic) for validation."""
    from keras_sr._backend import tf
    from keras_sr.data.color import rgb_to_y

    t = tf()
    files = sorted(str(p) for p in Path(folder).glob("shard-*.tfrecord"))
    ds = t.data.Dataset.from_tensor_slices(files).interleave(
        t.data.TFRecordDataset, cycle_length=max(1, min(4, len(files))), num_parallel_calls=t.data.AUTOTUNE,
        deterministic=True)
    spec = {"image": t.io.FixedLenFeature([], t.string), "height": t.io.FixedLenFeature([], t.int64),
            "width": t.io.FixedLenFeature([], t.int64)}
    ds = ds.map(lambda r: t.io.parse_single_example(r, spec), num_parallel_calls=t.data.AUTOTUNE)
    if val_every:
        ds = ds.enumerate().filter(lambda i, _: t.equal(i % val_every == 0, validation)).map(lambda i, r: r)
    ds = ds.filter(lambda r: t.minimum(r["height"], r["width"]) >= min_size)

    def decode(r):
        img = t.io.decode_png(r["image"], channels=0)
        f = t.cast(img, t.float32) / 255.0
        if color_space == "rgb":
            out = t.cond(t.shape(img)[-1] < 3, lambda: t.tile(f[..., :1], [1, 1, 3]), lambda: f[..., :3])
        else:
            out = t.cond(t.shape(img)[-1] < 3, lambda: f[..., :1], lambda: rgb_to_y(f[..., :3], color_space))
        out = t.cast(t.clip_by_value(t.round(out * 255.0), 0.0, 255.0), t.uint8)
        out.set_shape([None, None, 3 if color_space == "rgb" else 1])
        return out

    return ds.map(decode, num_parallel_calls=t.data.AUTOTUNE)
