#!/usr/bin/env python
"""Rewrite shipped model cards (and the record embedded in their ``.keras`` files) without
machine paths: absolute paths in the training command and config become relative to the
repository root (where tools/train_zoo.py runs them: ``../shared/datasets/T91``,
``../runs/fsrcnn_x2``), and training files recorded by name only get their dataset and path
relative to their ``--data`` root (checked: the recomputed file-list sha256 must equal the
recorded one). Weights are not touched (the embedded record is stored deflated); the card's sha256/bytes
follow the rewritten file.

    python tools/portable_cards.py [NAME ...] [--start /work/main] [--rename OLD=NEW ...] [--check]

``--start``: the folder the recorded commands ran from (default: this repository's root).
``--rename``: a run folder renamed since the card was written (exact path tokens, applied to
the command and config after they are made relative). ``--check``: only list absolute paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_sr.data.io import atomic_write_text, list_images, replace_atomically, sha256_file  # noqa: E402
from keras_sr.models.info import INFO_ENTRY  # noqa: E402
from keras_sr.training.provenance import absolute_paths, data_record, portable_command, portable_record  # noqa: E402


def _renamed(record: dict, renames: dict) -> dict:
    if not renames:
        return record
    cmd = " ".join(renames.get(t, t) for t in record["command"].split(" "))
    config = {k: ([renames.get(x, x) for x in v] if isinstance(v, list) else renames.get(v, v) if isinstance(v, str) else v)
              for k, v in record["config"].items()}
    return dict(record, command=cmd, config=config)


def _with_paths(entries: list, roots: list, old_digest: str) -> list | None:
    """Training-file entries recorded as ``{"name", "sha256"}``: find each in its root (relative
    to ROOT), and return the new entries if the file-list sha256 matches ``old_digest``."""
    if not entries or "path" in entries[0] or not roots:
        return None
    where = {}
    for root in roots:
        folder = ROOT / root
        if not folder.is_dir():
            raise SystemExit(f"Error: {folder} is absent (../shared is needed to add dataset paths)")
        for f in list_images([folder]):
            where.setdefault(f.name, f)
    want = {e["name"]: e["sha256"] for e in entries}
    files = [where[e["name"]] for e in entries]
    new = data_record(files, [ROOT / r for r in roots], sha256=lambda f: want[Path(f).name])
    if new["file_list_sha256"] != old_digest:
        raise SystemExit(f"Error: file list of {roots} does not match the record ({old_digest[:12]}...)")
    for f in files:  # the named files are those trained on: same bytes
        if sha256_file(f) != want[f.name]:
            raise SystemExit(f"Error: {f} differs from the file the model was trained on")
    return new


def _name_digest(entries: list) -> str:
    """The file-list sha256 as records before dataset paths computed it (``sha256  name`` lines)."""
    lines = sorted(f"{e['sha256']}  {e['name']}" for e in entries)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def portable(record: dict, start: Path, renames: dict) -> dict:
    record = _renamed(portable_record(record, start), renames)
    data = dict(record.get("data") or {})
    roots = record["config"].get("data") or []
    new = _with_paths(data.get("files") or [], roots, data.get("file_list_sha256"))
    if new is not None:
        record["data"] = {**{k: v for k, v in data.items() if k not in new}, **new}
        val = record.get("validation_files") or []
        new_val = _with_paths(val, roots, _name_digest(val) if val else None)
        if new_val is not None:
            record["validation_files"] = new_val["files"]
    return record


def rewrite(card_path: Path, start: Path, renames: dict) -> list[str]:
    card = json.loads(card_path.read_text())
    model = card_path.with_name(card["file"])
    with zipfile.ZipFile(model) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    info = json.loads(dict((i.filename, b) for i, b in items)[INFO_ENTRY])
    info["record"] = portable(info.get("record") or {}, start, renames)
    record = info["record"]
    tmp = model.with_name(f".{model.name}.portable")
    with zipfile.ZipFile(tmp, "w") as z:
        for i, b in items:  # same entries and order; weights byte-identical; the record deflated
            if i.filename == INFO_ENTRY:
                i.compress_type, b = zipfile.ZIP_DEFLATED, json.dumps(info, indent=2, default=str)
            z.writestr(i, b)
    replace_atomically(tmp, model)
    card.update(sha256=sha256_file(model), bytes=model.stat().st_size,
                training_data={k: v for k, v in (record.get("data") or {}).items() if k != "files"},
                training_config=record.get("config"), training_command=record.get("command"))
    if isinstance(card.get("notes"), str):
        card["notes"] = portable_command(card["notes"], start)
    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    return absolute_paths(card, card_path.name) + absolute_paths(info, f"{model.name}:{INFO_ENTRY}")


def check(card_path: Path) -> list[str]:
    card = json.loads(card_path.read_text())
    with zipfile.ZipFile(card_path.with_name(card["file"])) as z:
        info = json.loads(z.read(INFO_ENTRY))
    return absolute_paths(card, card_path.name) + absolute_paths(info, f"{card['file']}:{INFO_ENTRY}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="cards to rewrite (default: all in saved_models/)")
    ap.add_argument("--start", type=Path, default=ROOT)
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    folder = ROOT / "saved_models"
    paths = [folder / f"{n}.json" for n in args.names] or sorted(folder.glob("*.json"))
    renames = dict(r.split("=", 1) for r in args.rename)
    left = []
    for p in paths:
        left += check(p) if args.check else rewrite(p, args.start, renames)
    for line in left:
        print(f"absolute path: {line}", file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
