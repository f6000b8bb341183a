"""Export for mobile: SavedModel + TFLite (fp32 / fp16 / dynamic-range / int8), builtin ops
only, with metadata and an automatic parity check against the Keras model.

Layout of an export folder::

    saved_model/            model.export-style SavedModel, signatures "serve" and "photo"
    model_<mode>.tflite     raw model: float [1, h, w, C] in [0, 1] (C=1: Y) -> [1, H, W, C]
    photo_<mode>.tflite     end-to-end: uint8 RGB [1, h, w, 3] -> uint8 RGB [1, s*h, s*w, 3]
    *_fixed_<mode>.tflite   the same with a fixed input size (--input-size)
    metadata.json           tensor contract, conventions, source sha256, int8 parameters (the
                            same dict is in every .tflite as TFLite Metadata: tflite_metadata.py)
    parity.json / .md       Keras vs SavedModel vs LiteRT on the parity images
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_sr._backend import keras, tf
from keras_sr.data.color import GRAPH_NAME
from keras_sr.errors import KerasSRError, UsageError

MODES = ("fp32", "fp16", "dynamic", "int8")
# mode -> (criterion, limit): fp32 is compared by max |delta| on [0, 1], the others by
# the PSNR they lose against the Keras output (dB).
TOLERANCES = {"fp32": 1e-4, "fp16": 0.02, "dynamic": 0.10, "int8": 0.20}
# Ops the TFLite GPU delegates are known not to run (they fall back to the CPU).
GPU_UNSUPPORTED = {"CAST", "ROUND", "SHAPE", "PACK", "GATHER", "WHILE", "IF", "QUANTIZE",
                   "DEQUANTIZE", "BATCH_MATMUL"}


@dataclass
class ExportConfig:
    """Options of one export (saved as ``export_config.json``)."""

    model: str
    out: str
    modes: list = field(default_factory=lambda: ["fp32"])
    saved_model: bool = True
    input_size: tuple | None = None  # (h, w) of the LR input for the fixed-shape variant
    calibration: str | None = None
    int8_io: str = "float"  # "float" or "int8" (raw model input/output type)
    tolerances: dict = field(default_factory=lambda: dict(TOLERANCES))
    parity_data: str | None = None
    overwrite: bool = False
    factor: int | None = None  # when given, the model must upscale by it
    denoise: float | None = None  # blend with the weak-denoise sibling at this strength (upscale --denoise)
    only: tuple | None = None  # convert only these signatures (e.g. ("photo_fixed",) for --web); None = all
    # layers whose ops int8 files keep float (``--int8-float-layer``); None = the card's
    # ``int8_float_layers`` (shipped models), else none
    int8_float_layers: tuple | None = None


def _quiet(fn, *args, **kwargs):
    """Run ``fn`` with fd 1 and 2 captured (the converter and LiteRT print C++ notices)."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as cap:
        os.dup2(cap.fileno(), 1)
        os.dup2(cap.fileno(), 2)
        try:
            return fn(*args, **kwargs)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for s in saved:
                os.close(s)


# TensorFlow's rule for a root name scope (tensorflow/python/framework/ops.py): a SavedModel
# names each variable ``<layer name>/<weight>`` under such a scope.
TF_SCOPE_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")


def check_exportable(model) -> None:
    """Refuse models with ``Lambda`` layers (they break reloads and export) and models whose
    layer names TensorFlow refuses as variable scopes (e.g. ``_body_54_Conv``, from ncnn files
    imported before :func:`keras_sr.importers.ncnn.layer_name` cleaned such names)."""
    k = keras()
    layers = list(model._flatten_layers())
    bad = [layer.name for layer in layers if isinstance(layer, k.layers.Lambda)]
    if bad:
        raise KerasSRError(f"model has Lambda layer(s) {', '.join(bad)}: rebuild it with registered "
                           "layers (Lambda layers do not survive .keras reloads or export)")
    bad = [layer.name for layer in layers if not TF_SCOPE_NAME.match(layer.name)]
    if bad:
        raise KerasSRError(f"{len(bad)} layer name(s) TensorFlow cannot export, e.g. {bad[0]!r} (a name must "
                           "start with a letter, digit or '.'): import the source file again with "
                           "`keras-sr import`, which names layers validly")


def _flex_ops(message: str) -> list[str]:
    import re

    ops = sorted(set(re.findall(r"'?(tf\.[A-Za-z0-9_]+|Flex[A-Za-z0-9_]+)'?", message)))
    return ops or [line.strip() for line in message.splitlines() if "op" in line.lower()][:3]


def convert(saved_dir: Path, signature: str, mode: str, representative=None, int8_io: str = "float",
            float_nodes: bool = False, float_layers: tuple = ()) -> bytes:
    """One signature of a SavedModel -> TFLite bytes, builtin ops only. ``float_nodes``: the
    graph has ops named with :data:`~keras_sr.export.graphs.FLOAT_MARKER` (ABPN's anchor) that
    int8 keeps float, with the output ops after them (:data:`ANCHOR_FLOAT_OPS`), when the raw
    model's I/O is float (``int8_io="int8"`` asks for an all-int8 graph and gets one).
    ``float_layers``: names of Keras layers whose ops int8 keeps float too (e.g. an output conv
    whose int8 activations cost parity), also only with float I/O."""
    t = tf()
    if mode not in MODES:
        raise UsageError(f"unknown quantization mode {mode!r}; known: {', '.join(MODES)}")
    conv = t.lite.TFLiteConverter.from_saved_model(str(saved_dir), signature_keys=[signature])
    conv.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS_INT8 if mode == "int8"
                                      else t.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "fp32":
        conv.optimizations = [t.lite.Optimize.DEFAULT]
    if mode == "fp16":
        conv.target_spec.supported_types = [t.float16]
    if mode == "int8":
        if representative is None:
            raise KerasSRError("int8 needs calibration images")
        conv.representative_dataset = representative
        if int8_io == "int8" and signature.startswith("serve"):
            conv.inference_input_type = t.int8
            conv.inference_output_type = t.int8
    try:
        if mode == "int8" and signature.startswith("photo"):
            return _quiet(_int8_core_only, conv, representative, PHOTO_FLOAT_OPS, float_layers)
        if mode == "int8" and (float_nodes or float_layers) and int8_io != "int8":  # int8 I/O: all int8
            return _quiet(_int8_core_only, conv, representative, ANCHOR_FLOAT_OPS if float_nodes else [],
                          float_layers)
        return _quiet(conv.convert)
    except KerasSRError:
        raise
    except Exception as exc:  # ConverterError and friends
        msg = str(exc)
        if "Flex" in msg or "flex" in msg or "not supported by" in msg:
            raise KerasSRError(f"{signature}/{mode}: the model needs TensorFlow ops outside the "
                               f"TFLite builtins: {', '.join(_flex_ops(msg))}") from None
        raise KerasSRError(f"TFLite conversion of {signature}/{mode} failed: "
                           f"{msg.strip().splitlines()[-1] if msg.strip() else type(exc).__name__}") from None


# Colour conversion, rounding, padding and shape ops of the photo graph stay float: quantizing
# them costs up to ~85 levels (measured); the convolutions (model and interpolation) are int8.
PHOTO_FLOAT_OPS = ["CONCATENATION", "ADD", "MUL", "SUB", "ROUND", "MINIMUM", "MAXIMUM", "RELU", "CAST",
                   "MIRROR_PAD", "PAD", "STRIDED_SLICE", "DEPTH_TO_SPACE", "PACK", "SHAPE"]


# ABPN-style models (output = float input repeated + int8 residual): the add and what follows it.
ANCHOR_FLOAT_OPS = ["ADD", "DEPTH_TO_SPACE", "MINIMUM", "MAXIMUM", "RELU"]


def _int8_core_only(conv, representative, float_ops, float_layers=()):
    """int8 for the network ops, float for ``float_ops``, the colour conversions, the ops
    named with ``FLOAT_MARKER`` and those of the layers ``float_layers`` (selective quantization
    through ``QuantizationDebugger``'s denylist)."""
    import warnings

    from keras_sr.export.graphs import FLOAT_MARKER

    t = tf()
    conv.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS_INT8, t.lite.OpsSet.TFLITE_BUILTINS]
    opts = t.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(float_ops))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        debugger = t.lite.experimental.QuantizationDebugger(
            converter=conv, debug_dataset=representative, debug_options=opts)
        # The colour conversions are 1x1 CONV_2Ds (keras_sr.data.color): keep them float too,
        # found by their op name in the calibrated float model.
        calibrated = debugger.calibrated_model
        found = {layer: _layer_tensor_names(calibrated, layer) for layer in float_layers}
        layers = [n for names in found.values() for n in names]
        missing = [layer for layer, names in found.items() if not names]
        if missing:
            raise KerasSRError(f"int8 float layer(s) not in the graph: {', '.join(missing)}")
        opts.denylisted_nodes = (_tensor_names(calibrated, GRAPH_NAME) + _tensor_names(calibrated, FLOAT_MARKER)
                                 + layers)
        return debugger.get_nondebug_quantized_model()


def _layer_tensor_names(content: bytes, layer: str) -> list[str]:
    """Tensors of the Keras layer ``layer`` (a scope ``/layer/``, or ``/layer_N/`` as a traced
    model names it)."""
    scope = re.compile(rf"(^|/){re.escape(layer)}(_\d+)?/")
    it = interpreter(content, delegates=False)
    return sorted({d["name"] for d in it.get_tensor_details() if scope.search(d["name"])})


def _tensor_names(content: bytes, marker: str) -> list[str]:
    it = interpreter(content, delegates=False)
    return sorted({d["name"] for d in it.get_tensor_details() if marker in d["name"]})


def cpu_threads() -> int:
    """CPU cores this process may use (what TensorFlow's thread pools use by default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def interpreter(model_content: bytes | None = None, path=None, threads: int | None = None,
                delegates: bool = True):
    """A LiteRT interpreter (notices silenced) with ``threads`` CPU threads, default
    :func:`cpu_threads` (LiteRT's own Python default is 1 thread, which made every LiteRT vs
    Keras comparison one core against all of them). ``delegates=False``: no XNNPACK."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"num_threads": int(threads or cpu_threads())}
    if not delegates:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        return _quiet(Interpreter, model_content=model_content,
                      model_path=str(path) if path else None, **kwargs)
    except (ValueError, RuntimeError) as exc:
        raise KerasSRError(f"not a TFLite model: {path or 'bytes'} ({str(exc).splitlines()[0]})") from None


DELEGATES = ("XNNPACK", "none (builtin kernels)")


def delegate_info(it) -> dict:
    """Which delegate runs an interpreter's graph, read off its nodes after ``allocate_tensors``:
    ``delegate`` is ``"XNNPACK"`` when at least one node was handed to the default XNNPACK
    delegate (LiteRT's CPU delegate; it appears as DELEGATE nodes), else
    ``"none (builtin kernels)"`` (LiteRT's own CPU kernels run every op). ``ops`` counts the
    model's ops, ``delegated`` those XNNPACK runs, ``partitions`` the DELEGATE nodes and
    ``cpu_ops`` the op names left to the builtin kernels (each boundary between the two costs
    a tensor hand-over)."""
    nodes = it._get_ops_details()
    dels = [n for n in nodes if n["op_name"] == "DELEGATE"]
    ops = [n for n in nodes if n["op_name"] != "DELEGATE"]
    d_in = {int(t) for n in dels for t in n["inputs"]}
    d_out = {int(t) for n in dels for t in n["outputs"]}
    outputs = {int(d["index"]) for d in it.get_output_details()}
    consumers: dict = {}
    for n in ops:
        for t in n["inputs"]:
            consumers.setdefault(int(t), []).append(n["index"])
    # An op outside every partition produces a tensor that a DELEGATE node or the graph output
    # reads, or one that another such op reads; tensors a DELEGATE node produces are the only
    # way out of a partition.
    outside = {n["index"] for n in ops
               if any(int(t) not in d_out and (int(t) in d_in or int(t) in outputs) for t in n["outputs"])}
    changed = bool(dels)
    while changed:
        changed = False
        for n in ops:
            if n["index"] not in outside and any(
                    int(t) not in d_out and any(c in outside for c in consumers.get(int(t), []))
                    for t in n["outputs"]):
                outside.add(n["index"])
                changed = True
    if not dels:
        outside = {n["index"] for n in ops}
    return {"delegate": DELEGATES[0] if dels else DELEGATES[1], "partitions": len(dels),
            "ops": len(ops), "delegated": len(ops) - len(outside),
            "cpu_ops": sorted({n["op_name"] for n in ops if n["index"] in outside})}


def tflite_ops(content: bytes) -> list[str]:
    it = interpreter(content, delegates=False)
    return sorted({op["op_name"] for op in it._get_ops_details()})


def io_details(content: bytes) -> dict:
    it = interpreter(content, delegates=False)

    def conv(d):
        q = d.get("quantization_parameters", {})
        out = {"name": d["name"], "shape": [int(v) for v in d["shape_signature"]],
               "dtype": np.dtype(d["dtype"]).name}
        if len(q.get("scales", [])):
            out["scale"] = float(q["scales"][0])
            out["zero_point"] = int(q["zero_points"][0])
        return out

    return {"inputs": [conv(d) for d in it.get_input_details()],
            "outputs": [conv(d) for d in it.get_output_details()]}


def run_tflite(it, x: np.ndarray) -> np.ndarray:
    """Invoke a single-input interpreter on ``x`` (resizing as needed, int8 I/O handled)."""
    d = it.get_input_details()[0]
    if getattr(it, "_keras_sr_shape", None) != list(x.shape):
        if list(d["shape"]) != list(x.shape):
            it.resize_tensor_input(d["index"], list(x.shape))
        try:
            _quiet(it.allocate_tensors)
        except RuntimeError as exc:
            raise KerasSRError(f"LiteRT cannot run an input of shape {list(x.shape)}: "
                               f"{str(exc).splitlines()[0]}") from None
        it._keras_sr_shape = list(x.shape)
        d = it.get_input_details()[0]
    if np.dtype(d["dtype"]) == np.int8 and x.dtype != np.int8:
        scale, zero = d["quantization"]
        x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
    it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()
    o = it.get_output_details()[0]
    y = it.get_tensor(o["index"])
    if np.dtype(o["dtype"]) == np.int8:
        scale, zero = o["quantization"]
        y = (y.astype(np.float32) - zero) * scale
    return y
