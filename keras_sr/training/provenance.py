"""Where a model's training data and command came from, written without machine paths.

``record.json`` and model cards travel with a model; an absolute path in them says nothing on
another machine and leaks the trainer's folder layout. Conventions:

* Training data is recorded per ``--data`` root as its dataset name (the folder's name), file
  count and file-list sha256, and per file as its path relative to that root plus its sha256
  (:func:`data_record`).
* Paths in the recorded config and command (``--data``, ``--out``, ``--init``, weights) are
  written as given when relative; absolute ones are rewritten relative to the working
  directory the run was started from (:func:`portable_path`), so the recorded command runs as
  printed from that folder (for the zoo: the repository root, with data in ``../shared``).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# config fields that hold paths (TrainConfig)
PATH_FIELDS = ("data", "lr_data", "out", "init", "vgg_weights", "vgg19_weights")

_ABSOLUTE = re.compile(r"""(?:^|(?<=[\s"'=(,\[]))(?:/|~/|[A-Za-z]:[\\/])[^\s"',;)\]]+""")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)


def portable_path(path, start=None) -> str:
    """``path`` as it was given when relative; an absolute path rewritten relative to ``start``
    (default: the working directory), in POSIX form."""
    p = str(path)
    if not os.path.isabs(p):
        return p
    try:
        return Path(os.path.relpath(p, start or os.getcwd())).as_posix()
    except ValueError:  # another drive (Windows): no relative form
        return Path(p).name


def portable_command(command: str, start=None) -> str:
    """A command line with every absolute path argument (``--x /a/b`` or ``--x=/a/b``)
    rewritten by :func:`portable_path`."""
    out = []
    for token in command.split(" "):
        opt, eq, value = token.partition("=") if token.startswith("--") else ("", "", token)
        value = portable_path(value, start) if len(value) > 1 and os.path.isabs(value) else value
        out.append(f"{opt}{eq}{value}")
    return " ".join(out)


def portable_config(config: dict, start=None) -> dict:
    """A copy of a :class:`~keras_sr.training.config.TrainConfig` dict with its path fields
    (:data:`PATH_FIELDS`) made portable."""
    out = dict(config)
    for key in PATH_FIELDS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [portable_path(v, start) for v in value]
        elif isinstance(value, str) and value:
            out[key] = portable_path(value, start)
    return out


def portable_record(record: dict, start=None) -> dict:
    """A copy of a ``record.json`` dict with its command and config paths made portable (for
    records written before keras_sr recorded them so)."""
    out = dict(record)
    if isinstance(out.get("command"), str):
        out["command"] = portable_command(out["command"], start)
    if isinstance(out.get("config"), dict):
        out["config"] = portable_config(out["config"], start)
    return out


def _list_digest(entries) -> str:
    lines = sorted(f"{e['sha256']}  {e['path']}" for e in entries)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _dataset_name(root) -> str:
    """A ``--data`` root's dataset name: its folder's name (a file's folder for a file)."""
    root = Path(root).resolve()
    return root.parent.name if root.is_file() else root.name


def _root_of(path: Path, roots: dict) -> tuple[str, str]:
    """(dataset name, path relative to its root) of a training file; ``roots``: {root: name}."""
    for root, name in roots.items():
        if path == root:  # a file given directly as --data
            return name, path.name
        try:
            return name, path.relative_to(root).as_posix()
        except ValueError:
            continue
    return "", path.name


def data_record(files, roots=(), sha256=None) -> dict:
    """The record of a list of training files.

    Count and file-list sha256 (sorted ``sha256  path`` lines) of the whole list; the same per
    dataset (a ``--data`` root, named by its folder, in ``--data`` order; counting the files in
    ``files``, i.e. without held-out ones); per file ``{"dataset", "path", "sha256"}`` with
    ``path`` relative to its root (the bare file name for files outside ``roots``).
    ``sha256``: the hash function (default: read the file)."""
    if sha256 is None:
        from keras_sr.data.io import sha256_file as sha256
    names = {Path(r): _dataset_name(r) for r in roots}
    entries = []
    for f in files:
        name, rel = _root_of(Path(f), names)
        entries.append({"dataset": name, "path": rel, "sha256": sha256(f)})
    datasets = []
    for name in dict.fromkeys([*names.values(), *(e["dataset"] for e in entries)]):
        group = [e for e in entries if e["dataset"] == name]
        if group:
            datasets.append({"name": name, "count": len(group), "file_list_sha256": _list_digest(group)})
    return {"count": len(entries), "file_list_sha256": _list_digest(entries),
            "datasets": datasets if roots else [], "files": entries}


def absolute_paths(obj, where: str = "") -> list[str]:
    """``"where: path"`` for every absolute path (POSIX ``/...``, ``~/...``, ``C:\\...``) found
    in the strings of a JSON-like object (URLs are not paths)."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += absolute_paths(v, f"{where}.{k}" if where else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found += absolute_paths(v, f"{where}[{i}]")
    elif isinstance(obj, str):
        found += [f"{where}: {m}" for m in _ABSOLUTE.findall(_URL.sub("", obj))]
    return found
