"""Key layouts of community SR checkpoints: one detector and one rename table per layout.

A layout is recognised from the names in a state dict (spandrel's approach, STYLE.md 11);
the hyperparameters (width, depth, growth, scale) are then read off tensor shapes, never asked
for. Each :class:`Layout` maps a Keras layer name of the registry builder
(:func:`keras_sr.models.realesr.rrdbnet` / :func:`~keras_sr.models.realesr.srvgg`) to the PyTorch
module prefix holding its ``.weight`` (and ``.bias``). Templates use ``{b}`` (RRDB block, from 0),
``{r}`` (RDB 1-3 in a block), ``{m}`` (conv 1-5 in an RDB), ``{i}`` (SRVGG body conv, from 1;
``{j}`` = 2i and ``{k}`` = 2i + 1 are its ``nn.ModuleList`` indices) and the inferred constants
``{blocks}``, ``{scale}`` and ``{last}``.

Layouts (the PyTorch sources they come from):

- ``basicsr-rrdbnet``: BasicSR ``rrdbnet_arch.RRDBNet`` (Real-ESRGAN x4plus/x2plus, most
  community fine-tunes); x2 and x1 pixel-unshuffle their input (``conv_first`` sees 12 / 48 channels).
- ``esrgan-new``: xinntao/ESRGAN ``RRDBNet_arch.py`` after its rewrite (BSRGAN, RealSR).
- ``esrgan-old``: the original ESRGAN release (``model.0`` ... ``model.10``, an ``nn.Sequential``
  with ``ShortcutBlock``; upsampling convs at ``model.3``/``model.6``).
- ``srvgg``: Real-ESRGAN ``srvgg_arch.SRVGGNetCompact`` with per-channel PReLU (``body.N``).
"""

from __future__ import annotations

import itertools
import math
import re
import string
from dataclasses import dataclass

import numpy as np

from keras_sr.errors import ModelLoadError

RRDB_LOOPS = {"b": None, "r": (1, 2, 3), "m": (1, 2, 3, 4, 5)}  # b: range(blocks)


@dataclass(frozen=True)
class Layout:
    """One key layout: the keys that identify it and its Keras-name -> PyTorch-prefix table."""

    name: str
    architecture: str  # registry name of the builder the weights go to
    signature: tuple  # keys that must all be present (the detector)
    table: dict  # Keras layer name template -> PyTorch module prefix template

    def detect(self, sd: dict) -> bool:
        return all(k in sd for k in self.signature)

    def key(self, keras_template: str, **fields) -> str:
        """The PyTorch prefix of one (formatted) table entry."""
        return self.table[keras_template].format(**fields)

    def expand(self, hyper: dict) -> dict:
        """``{keras layer name: pytorch prefix}`` for every weighted layer of the model."""
        loops = _loops(self.architecture, hyper)
        consts = _constants(self.architecture, hyper)
        out = {}
        for kt, tt in self.table.items():
            names = {f for _, f, _, _ in string.Formatter().parse(kt + tt) if f}
            varying = [n for n in loops if n in names or (n == "i" and names & {"j", "k"})]
            for values in itertools.product(*(loops[n] for n in varying)):
                fields = dict(consts, **dict(zip(varying, values)))
                if "i" in fields:
                    fields.update(j=2 * fields["i"], k=2 * fields["i"] + 1)
                out[kt.format(**fields)] = tt.format(**fields)
        return out


def _loops(arch: str, hyper: dict) -> dict:
    if arch == "rrdbnet":
        return dict(RRDB_LOOPS, b=range(hyper["blocks"]))
    return {"i": range(1, hyper["convs"] + 1)}


def _constants(arch: str, hyper: dict) -> dict:
    if arch == "rrdbnet":
        return {"blocks": hyper["blocks"], "scale": hyper["scale"]}
    return {"scale": hyper["scale"], "last": 2 * hyper["convs"] + 2}


_RRDB_COMMON = ("conv_first", "rrdb{b}_rdb{r}_conv{m}", "conv_body", "conv_up1", "conv_up2", "conv_hr",
                "conv_last")

BASICSR_RRDBNET = Layout(
    "basicsr-rrdbnet", "rrdbnet",
    ("conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_last.weight"),
    dict(zip(_RRDB_COMMON, ("conv_first", "body.{b}.rdb{r}.conv{m}", "conv_body", "conv_up1", "conv_up2",
                            "conv_hr", "conv_last"))))

ESRGAN_NEW = Layout(
    "esrgan-new", "rrdbnet",
    ("conv_first.weight", "RRDB_trunk.0.RDB1.conv1.weight", "trunk_conv.weight", "conv_last.weight"),
    dict(zip(_RRDB_COMMON, ("conv_first", "RRDB_trunk.{b}.RDB{r}.conv{m}", "trunk_conv", "upconv1",
                            "upconv2", "HRconv", "conv_last"))))

ESRGAN_OLD = Layout(
    "esrgan-old", "rrdbnet",
    ("model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight"),
    dict(zip(_RRDB_COMMON, ("model.0", "model.1.sub.{b}.RDB{r}.conv{m}.0", "model.1.sub.{blocks}", "model.3",
                            "model.6", "model.8", "model.10"))))

SRVGG = Layout(
    "srvgg", "srvgg",
    ("body.0.weight", "body.1.weight"),
    {"conv_first": "body.0", "prelu_first": "body.1", "conv{i}": "body.{j}", "prelu{i}": "body.{k}",
     "conv_last_x{scale}": "body.{last}"})

LAYOUTS = (BASICSR_RRDBNET, ESRGAN_NEW, ESRGAN_OLD, SRVGG)
ARCHITECTURES = ("rrdbnet", "srvgg")


def _shape(sd: dict, key: str, source: str, ndim: int | None = None) -> tuple:
    if key not in sd:
        raise ModelLoadError(f"{source}: missing key {key}")
    v = sd[key]
    if not isinstance(v, np.ndarray):
        raise ModelLoadError(f"{source}: {key} is not a tensor ({type(v).__name__})")
    if ndim is not None and v.ndim != ndim:
        raise ModelLoadError(f"{source}: {key} has shape {tuple(v.shape)}, expected {ndim} dimensions")
    return tuple(int(s) for s in v.shape)


def _count(sd: dict, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in sd if (m := rx.fullmatch(k))})


def infer(layout: Layout, sd: dict, source: str) -> dict:
    """Hyperparameters of the builder, read off tensor shapes (and key counts)."""
    if layout.architecture == "rrdbnet":
        return _infer_rrdbnet(layout, sd, source)
    return _infer_srvgg(layout, sd, source)


def _infer_rrdbnet(layout: Layout, sd: dict, source: str) -> dict:
    rdb = layout.table["rrdb{b}_rdb{r}_conv{m}"]
    pat = re.escape(rdb).replace(r"\{b\}", r"(\d+)").replace(r"\{r\}", "1").replace(r"\{m\}", "1")
    blocks = _count(sd, pat + r"\.weight")
    if blocks != list(range(len(blocks))):
        raise ModelLoadError(f"{source}: RRDB block indices are not 0..{len(blocks) - 1}: {blocks[:8]}")
    nb = len(blocks)
    if layout is ESRGAN_OLD:
        seq = _count(sd, r"model\.(\d+)\.weight")
        ups = (seq[-1] + 1 - 5) // 3
    else:
        prefix = layout.table["conv_up1"][:-1]
        ups = len(_count(sd, re.escape(prefix) + r"(\d+)\.weight"))
    if ups != 2:
        raise ModelLoadError(f"{source}: RRDBNet ({layout.name}) with {ups} upsampling stage(s) (x{2 ** ups} "
                             "before unshuffle) is not supported: the rrdbnet builder has two (x4)")
    fields = {"blocks": nb, "b": 0, "r": 1, "m": 1}
    first = _shape(sd, layout.key("conv_first", **fields) + ".weight", source, 4)
    last = _shape(sd, layout.key("conv_last", **fields) + ".weight", source, 4)
    growth = _shape(sd, layout.key("rrdb{b}_rdb{r}_conv{m}", **fields) + ".weight", source, 4)[0]
    channels = last[0]
    if channels != 3:
        raise ModelLoadError(f"{source}: RRDBNet with {channels} output channel(s): only RGB (3) models "
                             "are supported")
    fold2 = first[1] / channels
    folds = {1: 4, 4: 2, 16: 1}
    if fold2 not in folds:
        raise ModelLoadError(f"{source}: conv_first takes {first[1]} channels; an RGB RRDBNet takes 3 (x4), "
                             "12 (x2, pixel-unshuffle 2) or 48 (x1, pixel-unshuffle 4)")
    return {"scale": folds[int(fold2)], "channels": channels, "filters": first[0], "blocks": nb,
            "growth": growth}


def _infer_srvgg(layout: Layout, sd: dict, source: str) -> dict:
    first = _shape(sd, "body.0.weight", source, 4)
    act = _shape(sd, "body.1.weight", source)
    if act != (first[0],):
        raise ModelLoadError(f"{source}: body.1.weight has shape {act}; SRVGG's per-channel PReLU has "
                             f"({first[0]},) (other activations are not supported)")
    convs = [i for i in _count(sd, r"body\.(\d+)\.weight") if sd[f"body.{i}.weight"].ndim == 4]
    if not convs or convs != list(range(0, 2 * len(convs), 2)):
        raise ModelLoadError(f"{source}: SRVGG conv indices are not 0, 2, 4, ...: {convs[:8]}")
    n = len(convs) - 2
    if n < 0:
        raise ModelLoadError(f"{source}: SRVGG needs at least two convolutions, found {len(convs)}")
    channels = first[1]
    if channels != 3:
        raise ModelLoadError(f"{source}: SRVGG with {channels} input channel(s): only RGB (3) models "
                             "are supported")
    out = _shape(sd, f"body.{2 * n + 2}.weight", source, 4)[0]
    scale = int(round(math.sqrt(out / channels)))
    if scale < 1 or scale * scale * channels != out:
        raise ModelLoadError(f"{source}: SRVGG last conv has {out} output channels, not 3 * scale^2")
    return {"scale": scale, "channels": channels, "filters": first[0], "convs": n}


def detect(sd: dict, source: str, arch: str = "auto") -> Layout:
    """The layout of ``sd`` (restricted to ``arch`` unless ``"auto"``), or a one-line error
    naming the keys that were expected and some that were found."""
    if arch not in ("auto",) + ARCHITECTURES:
        raise ModelLoadError(f"unknown architecture {arch!r} for import; known: auto, {', '.join(ARCHITECTURES)}")
    candidates = [lay for lay in LAYOUTS if arch in ("auto", lay.architecture)]
    for lay in candidates:
        if lay.detect(sd):
            return lay
    expected = " or ".join(f"{lay.name} keys ({', '.join(lay.signature)}, ...)" for lay in candidates)
    found = list(sd)[:6]
    raise ModelLoadError(f"unrecognised state dict in {source}: expected {expected}; found: "
                         f"{', '.join(found) or 'no keys'}{', ...' if len(sd) > 6 else ''} ({len(sd)} keys)")
