"""No machine paths in record.json, model cards or the record inside shipped .keras files; the
training data recorded by dataset name, file-list sha256 and root-relative paths."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from keras_sr.training.provenance import absolute_paths, data_record, portable_command, portable_path

REPO = Path(__file__).resolve().parents[1]
CARDS = sorted((REPO / "saved_models").glob("*.json"))


def machine_paths(obj) -> list[str]:
    """Independent of keras_sr's scanner: every whitespace/'='-separated token of every string
    that is an absolute path (os.path.isabs, or ~/...)."""
    if isinstance(obj, dict):
        return [p for v in obj.values() for p in machine_paths(v)]
    if isinstance(obj, list):
        return [p for v in obj for p in machine_paths(v)]
    if not isinstance(obj, str):
        return []
    tokens = [t.strip("\"'(),;[]") for part in obj.split() for t in part.split("=")]
    return [t for t in tokens if len(t) > 1 and (os.path.isabs(t) or t.startswith("~/")) and "://" not in t]


def test_scanners_find_planted_paths():
    planted = {"a": ["../shared/x", "ok 1/2 and MB/s / dB"], "b": {"c": "keras-sr train --data /home/u/T91"},
               "d": "see --out=/tmp/run (then)", "e": "https://example.org/a/b"}
    assert machine_paths(planted) == ["/home/u/T91", "/tmp/run"]
    assert absolute_paths(planted) == ["b.c: /home/u/T91", "d: /tmp/run"]


def test_portable_paths_and_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path.parent / "shared" / "T91"
    assert portable_path(data) == "../shared/T91" and portable_path("runs/x") == "runs/x"
    cmd = f"keras-sr train srcnn --data {data} --out=/{tmp_path.name}x --lr 1e-3 --init fsrcnn-x2"
    assert portable_command(cmd) == (f"keras-sr train srcnn --data ../shared/T91 --out={portable_path('/' + tmp_path.name + 'x')} "
                                     "--lr 1e-3 --init fsrcnn-x2")
    assert not machine_paths(portable_command(cmd))


def test_data_record_names_datasets_and_relative_paths(tmp_path):
    for rel in ("T91/a.png", "T91/sub/b.png", "BSD/c.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(rel.encode())
    files = [tmp_path / "T91/a.png", tmp_path / "T91/sub/b.png", tmp_path / "BSD/c.png"]
    rec = data_record(files, [str(tmp_path / "T91"), str(tmp_path / "BSD")])
    sha = {f"{f.parent.name}/{f.name}": hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert [(e["dataset"], e["path"]) for e in rec["files"]] == [("T91", "a.png"), ("T91", "sub/b.png"), ("BSD", "c.png")]
    lines = sorted([f"{sha['T91/a.png']}  a.png", f"{sha['sub/b.png']}  sub/b.png", f"{sha['BSD/c.png']}  c.png"])
    assert rec["file_list_sha256"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    t91 = sorted(lines[i] for i in range(3) if not lines[i].endswith("  c.png"))
    assert rec["datasets"] == [
        {"name": "T91", "count": 2, "file_list_sha256": hashlib.sha256("\n".join(t91).encode()).hexdigest()},
        {"name": "BSD", "count": 1, "file_list_sha256": hashlib.sha256(f"{sha['BSD/c.png']}  c.png".encode()).hexdigest()}]
    assert not machine_paths(rec)


def test_train_record_has_no_absolute_path_and_run_files_plain_modes(tmp_path, tiny_data):
    """A short CLI run given absolute --data/--out, started in another folder and under umask
    0o027 (inherited by the child): record.json and the model's embedded record hold no absolute
    path, the recorded command's paths resolve from that folder, run files are 0640."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "keras_sr.cli.main", "train", "espcn", "--factor", "2", "--data",
           str(tiny_data.resolve()), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "2",
           "--batch-size", "4", "--patch-size", "16", "--val-fraction", "0.2", "--track", "none"]
    old = os.umask(0o027)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "record.json").read_text())
    with zipfile.ZipFile(out / "model.keras") as z:
        embedded = json.loads(z.read("keras_sr.json"))
    assert machine_paths(record) == [] and machine_paths(embedded) == []
    assert str(tmp_path) not in json.dumps(record) + json.dumps(embedded)
    data = record["data"]
    assert [d["name"] for d in data["datasets"]] == [tiny_data.name] and data["datasets"][0]["count"] == data["count"]
    assert {e["path"] for e in data["files"] + record["validation_files"]} == {
        "a.png", "b.png", "c.jpg", "d.bmp", "e_gray.png"}
    args = shlex.split(record["command"])
    assert args[:3] == ["keras-sr", "train", "espcn"]
    assert (cwd / args[args.index("--data") + 1]).resolve() == tiny_data.resolve()
    assert (cwd / args[args.index("--out") + 1]).resolve() == out.resolve()
    assert (cwd / record["config"]["data"][0]).resolve() == tiny_data.resolve()
    names = ("model.keras", "record.json", "config.json", "curves.png", "log.csv")
    assert {n: stat.S_IMODE((out / n).stat().st_mode) for n in names} == {n: 0o640 for n in names}


@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_shipped_cards_and_their_models_hold_no_machine_path(card_path):
    card = json.loads(card_path.read_text())
    with zipfile.ZipFile(card_path.with_name(card["file"])) as z:
        info = json.loads(z.read("keras_sr.json"))
    assert machine_paths(card) == [] and absolute_paths(card) == []
    assert machine_paths(info) == [] and absolute_paths(info) == []
    assert {d["name"] for d in card["training_data"]["datasets"]} == {Path(d).name for d in card["training_config"]["data"]}


def _train_zoo():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_zoo", REPO / "tools" / "train_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_card_training_command_runs_from_the_repo_root(card_path, shared_path):
    """The printed command parses as `keras-sr train`, its data and weights exist relative to the
    repository root (../shared), its --out/--init are train_zoo row folders in ../runs."""
    from keras_sr.cli.main import main

    card = json.loads(card_path.read_text())
    shared_path("datasets", "T91")
    args = shlex.split(card["training_command"])
    assert args[0] == "keras-sr" and args[1] in ("train", "distill")
    ctx = main.make_context("keras-sr", args[1:])
    with ctx:
        params = main.get_command(ctx, args[1]).make_context(args[1], args[2:], parent=ctx).params
    for path in [*params["data"], *(params.get(k) for k in ("vgg_weights", "vgg19_weights", "teacher") if params.get(k))]:
        assert path.startswith("../shared/") and (REPO / path).exists(), path
    rows = {name.replace("-", "_") for name in _train_zoo().ZOO}
    for key in ("out", "init"):
        if params[key]:  # distilled models: their run folders are named in the card's notes, not train_zoo rows
            assert params[key].startswith("../runs/") and (args[1] == "distill" or Path(params[key]).name in rows), \
                (key, params[key])
    assert card["training_config"]["data"] == list(params["data"])
