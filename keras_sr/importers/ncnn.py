"""ncnn ``.param`` / ``.bin`` models (realesrgan-ncnn-vulkan, desktop upscalers) as Keras models.

:func:`load_ncnn` translates the ncnn graph layer by layer into a plain functional
``keras.Model`` built from standard Keras layers and keras_sr's registered
:class:`~keras_sr.models.layers.DepthToSpace` only (no ``Lambda``: it saves as ``.keras`` and
exports to TFLite builtins), so community files of any width/depth load, not only the released
sizes. Conventions of the result: RGB ``[N, H, W, 3]`` in [0, 1] -> ``[N, sH, sW, 3]``, the
network's raw (unclipped) output, like the zoo's RGB models; ``model.sr_info`` is set.

Formats (Tencent/ncnn ``docs/developer-guide/param-and-model-file-structure.md`` and
``src/layer/*.cpp``, ``src/modelbin.cpp``):

- ``.param``: magic ``7767517``; ``layer_count blob_count``; one layer per line:
  ``type name n_in n_out in_blobs... out_blobs... key=value...``. Keys ``0..`` are scalars
  (a value with ``.`` or ``e`` is a float, else an int); ``-233xx=n,v1,...,vn`` is the array for
  key ``xx``; ``k=v1,v2`` (no count) is the modern array spelling.
- ``.bin``: the layers' weights in layer order. A *tagged* blob starts with a 4-byte storage tag
  (``0``: fp32; ``0x01306B47``: fp16, data padded to 4 bytes); biases and PReLU slopes are raw
  fp32 with no tag. Per layer: ``Convolution`` = tagged weight ``[out][in][kh][kw]`` (OIHW),
  then the fp32 bias if ``5=1``; ``PReLU`` = ``0=n`` fp32 slopes; the other supported layers
  have no weights. int8/quantized storage is refused.

Layer semantics mapped (ncnn ``src/layer``):

- ``Convolution``: explicit pads ``4/15/14/16`` (left/right/top/bottom), stride ``3/13``,
  dilation ``2/12``, fused ``9=activation_type`` (1 ReLU, 2 LeakyReLU with ``10=[slope]``).
- ``PixelShuffle`` ``0=r``, ``1=mode``: mode 0 reads channel ``c*r*r + i*r + j`` (PyTorch's
  order), mode 1 ``(i*r + j)*C + c`` (``depth_to_space``'s). Mode 0 becomes a permutation of
  the producing convolution's output channels + ``DepthToSpace`` when that convolution feeds
  only the shuffle (exact, no extra op); otherwise a 1x1 permutation convolution (exact in fp32).
- ``Interp`` ``0=resize_type`` (1 nearest, 2 bilinear, 3 bicubic), ``1/2`` = height/width
  scale: nearest with equal integer scales only, as ``s*s`` channel copies + ``DepthToSpace``
  (exactly nearest, as :func:`keras_sr.models.realesr.srvgg`; two int8 TFLite builtins).
  Bilinear and bicubic are refused: Keras' resizing layers do not export with unknown image
  sizes, and ncnn's bicubic (A = -0.75) is not TensorFlow's kernel.
- ``BinaryOp`` ``0=op_type`` (0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 7 rsub),
  ``1=with_scalar``, ``2=b``; a scalar operand becomes ``Rescaling`` (``x*scale + offset``).
- ``Eltwise`` ``0=op_type`` (0 prod, 1 sum, 2 max), ``1=coeffs`` (sum weights: ``Rescaling``).
- ``Concat`` on the channel axis (``0=0``); ``Split`` copies a blob; ``ReLU`` ``0=slope``
  (LeakyReLU when non-zero); ``PReLU`` per-channel (``shared_axes=[1, 2]``) or one slope.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from keras_sr.errors import ModelLoadError

MAGIC = 7767517
TAG_FP32 = 0x00000000
TAG_FP16 = 0x01306B47
TAG_FP32_SCALED = 0x0002C056  # "raw data with extra scaling" in ncnn's modelbin: plain fp32 values
SUPPORTED = ("Input", "Split", "Convolution", "ReLU", "PReLU", "BinaryOp", "Eltwise", "Interp",
             "PixelShuffle", "Concat")


@dataclass
class NcnnLayer:
    """One ``.param`` line: ``type name n_in n_out inputs... outputs... key=value...``."""

    type: str
    name: str
    inputs: list
    outputs: list
    params: dict = field(default_factory=dict)
    line: int = 0

    def get(self, key: int, default=None):
        return self.params.get(key, default)

    def scalar(self, key: int, default):
        """A scalar parameter as ``type(default)`` (ncnn files spell floats as ints at times)."""
        v = self.params.get(key, default)
        if isinstance(v, list):
            raise ModelLoadError(f"ncnn layer {self.name} ({self.type}): parameter {key} is an array, "
                                 "expected a number")
        return type(default)(v)


@dataclass
class NcnnGraph:
    """A parsed ``.param`` file."""

    layers: list
    blob_count: int
    path: Path


def _number(text: str, where: str):
    try:
        return float(text) if ("." in text or "e" in text.lower()) else int(text)
    except ValueError:
        raise ModelLoadError(f"{where}: bad parameter value {text!r}") from None


_PARAM = re.compile(r"^(-?\d+)=(\S+)$")


def _parse_params(tokens, where: str) -> dict:
    params = {}
    for tok in tokens:
        m = _PARAM.match(tok)
        if not m:
            raise ModelLoadError(f"{where}: malformed parameter {tok!r} (expected key=value)")
        key, value = int(m.group(1)), m.group(2)
        if key <= -23300:  # -23300-k: array for key k, "count,v1,...,vcount"
            key = -key - 23300
            items = value.split(",")
            count = _number(items[0], where)
            if not isinstance(count, int) or count != len(items) - 1:
                raise ModelLoadError(f"{where}: array parameter {tok!r} has {len(items) - 1} values, "
                                     f"its count says {items[0]}")
            params[key] = [_number(v, where) for v in items[1:]]
        elif "," in value:  # modern spelling of an array: k=v1,v2
            params[key] = [_number(v, where) for v in value.split(",")]
        elif re.match(r"^[-+]?(\d|\.\d)", value):
            params[key] = _number(value, where)
        else:
            params[key] = value  # string parameter (expressions)
    return params


def parse_param(path) -> NcnnGraph:
    """Parse an ncnn text ``.param`` file; one-line :class:`ModelLoadError` on anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"no such ncnn param file: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    lines = [] if text is None else [(i + 1, ln.split()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines or lines[0][1] != [str(MAGIC)]:
        first = "binary data" if text is None else repr(" ".join(lines[0][1])[:40]) if lines else "an empty file"
        raise ModelLoadError(f"{path.name} is not an ncnn text param file (starts with {first}, expected the "
                             f"magic number {MAGIC}; binary .param.bin files are not supported)")
    if len(lines) < 2 or len(lines[1][1]) != 2 or not all(t.isdigit() for t in lines[1][1]):
        raise ModelLoadError(f"{path.name} line 2: expected 'layer_count blob_count'")
    layer_count, blob_count = (int(t) for t in lines[1][1])
    layers = []
    for lineno, tok in lines[2:]:
        where = f"{path.name} line {lineno}"
        if len(tok) < 4 or not tok[2].isdigit() or not tok[3].isdigit():
            raise ModelLoadError(f"{where}: malformed layer line (expected 'type name n_in n_out blobs... "
                                 f"key=value...'): {' '.join(tok)[:80]!r}")
        n_in, n_out = int(tok[2]), int(tok[3])
        blobs = tok[4:4 + n_in + n_out]
        if len(blobs) < n_in + n_out or any("=" in b for b in blobs):
            raise ModelLoadError(f"{where}: layer {tok[1]} declares {n_in} input and {n_out} output blob(s), "
                                 f"the line names fewer")
        layers.append(NcnnLayer(tok[0], tok[1], blobs[:n_in], blobs[n_in:],
                                _parse_params(tok[4 + n_in + n_out:], where), lineno))
    if len(layers) != layer_count:
        raise ModelLoadError(f"{path.name}: the header announces {layer_count} layers, the file has "
                             f"{len(layers)} layer lines (truncated?)")
    return NcnnGraph(layers, blob_count, path)


def check_supported(graph: NcnnGraph) -> None:
    """One line naming every layer type the translator does not handle."""
    unknown = sorted({layer.type for layer in graph.layers} - set(SUPPORTED))
    if unknown:
        raise ModelLoadError(f"unsupported ncnn layer type(s) {', '.join(unknown)} in {graph.path.name}; "
                             f"supported: {', '.join(SUPPORTED)}")


# ----------------------------------------------------------------------------------------- weights

class _BinReader:
    def __init__(self, data: bytes, path: Path, param_name: str):
        self.data, self.path, self.param_name, self.pos = data, path, param_name, 0
        self.storage = Counter()

    def _take(self, nbytes: int, layer: str) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise ModelLoadError(f"{self.path.name} is too short for {self.param_name}: layer {layer} needs "
                                 f"{nbytes} bytes at offset {self.pos}, the file has {len(self.data)} "
                                 "(truncated, or the .bin of another model?)")
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def raw(self, n: int, layer: str) -> np.ndarray:
        """``n`` untagged fp32 values (biases, slopes)."""
        return np.frombuffer(self._take(4 * n, layer), "<f4").astype(np.float32)

    def tagged(self, n: int, layer: str) -> np.ndarray:
        """``n`` values after a storage tag (fp32 or fp16), as float32."""
        at = self.pos
        tag = int.from_bytes(self._take(4, layer), "little")
        if tag in (TAG_FP32, TAG_FP32_SCALED):
            self.storage["fp32"] += 1
            return self.raw(n, layer)
        if tag == TAG_FP16:
            self.storage["fp16"] += 1
            chunk = self._take((2 * n + 3) // 4 * 4, layer)  # padded to 4 bytes
            return np.frombuffer(chunk[:2 * n], "<f2").astype(np.float32)
        raise ModelLoadError(f"{self.path.name}: layer {layer}'s weights at byte {at} have storage tag "
                             f"0x{tag:08X} (int8/quantized, or a .bin that does not match {self.param_name}); "
                             "only fp32 (0) and fp16 (0x01306B47) storage are supported")


def read_weights(graph: NcnnGraph, bin_path) -> tuple[dict, dict]:
    """Read each layer's weights from ``bin_path`` in layer order.

    Returns ``({layer_name: {"weight": ..., "bias": ...} | {"slope": ...}}, storage_counts)``.
    The file must be consumed exactly (too short or trailing bytes: one-line error).
    """
    bin_path = Path(bin_path)
    reader = _BinReader(bin_path.read_bytes(), bin_path, graph.path.name)
    weights = {}
    for layer in graph.layers:
        if layer.type == "Convolution":
            if layer.scalar(8, 0):
                raise ModelLoadError(f"{graph.path.name}: layer {layer.name} is int8-quantized "
                                     "(8=int8_scale_term); only fp32/fp16 models are supported")
            if layer.scalar(19, 0):
                raise ModelLoadError(f"{graph.path.name}: layer {layer.name} has dynamic weights (19=1), "
                                     "not supported")
            out, size = layer.scalar(0, 0), layer.scalar(6, 0)
            if out <= 0 or size <= 0:
                raise ModelLoadError(f"{graph.path.name} line {layer.line}: Convolution {layer.name} needs "
                                     "0=num_output and 6=weight_data_size")
            w = {"weight": reader.tagged(size, layer.name)}
            if layer.scalar(5, 0):
                w["bias"] = reader.raw(out, layer.name)
            weights[layer.name] = w
        elif layer.type == "PReLU":
            n = layer.scalar(0, 0)
            if n <= 0:
                raise ModelLoadError(f"{graph.path.name} line {layer.line}: PReLU {layer.name} needs 0=num_slope")
            weights[layer.name] = {"slope": reader.raw(n, layer.name)}
    extra = len(reader.data) - reader.pos
    if extra:
        raise ModelLoadError(f"{bin_path.name} has {extra} bytes after the last weight of {graph.path.name} "
                             f"(expected {reader.pos} bytes): the .bin of another model?")
    return weights, dict(reader.storage)


# ------------------------------------------------------------------------------------ translation

def _shuffle_perm(channels: int, r: int) -> np.ndarray:
    """``perm[k]``: the mode-0 (PyTorch order) channel that ``depth_to_space`` reads at ``k``.

    ``depth_to_space`` puts channel ``(i*r + j)*C + c`` at sub-pixel ``(i, j)`` of output channel
    ``c``; ncnn's mode 0 puts channel ``c*r*r + i*r + j`` there."""
    c_out = channels // (r * r)
    return np.array([c * r * r + i * r + j for i in range(r) for j in range(r) for c in range(c_out)])


VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def layer_name(base: str) -> str:
    """A Keras layer name for the ncnn layer/blob name ``base`` that every save and export
    format accepts (:data:`VALID_NAME`: a letter, then letters, digits and ``_``).

    ncnn files converted from ONNX name layers after their graph path (``/body.54/Conv``):
    each run of other characters becomes one ``_``, and leading/trailing ``_`` are dropped
    (``body_54_Conv``), since TensorFlow refuses a variable scope starting with ``_`` (``'_body_54_Conv'
    is not a valid root scope name``) and Keras refuses ``/``. A name that is then empty or starts
    with a digit gets an ``n`` prefix (``703`` -> ``n703``)."""
    n = re.sub(r"[^A-Za-z0-9_]+", "_", base).strip("_")
    if not n or not n[0].isalpha():
        n = f"n{n}" if n else "layer"
    return n


class _Translator:
    def __init__(self, graph: NcnnGraph, weights: dict):
        from keras_sr._backend import keras
        import keras_sr.models.layers as sr_layers

        self.k, self.L, self.sr = keras(), keras().layers, sr_layers
        self.graph, self.weights = graph, weights
        self.tensors, self.scales, self.used_names = {}, {}, {"lr"}  # "lr": the Input's name
        self.input = None
        consumers = Counter(b for layer in graph.layers for b in layer.inputs)
        producers = {b: layer for layer in graph.layers for b in layer.outputs}
        self.consumers, self.producers = consumers, producers
        # Convolutions that feed only a mode-0 PixelShuffle: permute their output channels instead.
        self.permute_conv, self.prepermuted = {}, set()
        for layer in graph.layers:
            if layer.type == "PixelShuffle" and layer.scalar(1, 0) == 0 and layer.scalar(0, 1) > 1:
                src = producers.get(layer.inputs[0]) if layer.inputs else None
                if src is not None and src.type == "Convolution" and consumers[layer.inputs[0]] == 1:
                    self.permute_conv[src.name] = layer.scalar(0, 1)
                    self.prepermuted.add(layer.name)

    def fail(self, layer, msg):
        raise ModelLoadError(f"{self.graph.path.name} line {layer.line}: {layer.type} {layer.name}: {msg}")

    def name(self, base: str) -> str:
        """A unique Keras layer name for ncnn name ``base``: see :func:`layer_name`."""
        n = layer_name(base)
        out, i = n, 1
        while out in self.used_names:
            i += 1
            out = f"{n}_{i}"
        self.used_names.add(out)
        return out

    def build(self):
        for layer in self.graph.layers:
            for b in layer.inputs:
                if b not in self.tensors:
                    self.fail(layer, f"input blob {b!r} is not produced by an earlier layer")
            ins = [self.tensors[b] for b in layer.inputs]
            scales = [self.scales[b] for b in layer.inputs]
            outs = getattr(self, f"_{layer.type.lower()}")(layer, ins)
            if len(outs) == 1 and len(layer.outputs) > 1 and layer.type == "Split":
                outs = outs * len(layer.outputs)
            if len(outs) != len(layer.outputs):
                self.fail(layer, f"expected {len(outs)} output blob(s), the line names {len(layer.outputs)}")
            scale = self._scale_of(layer, scales)
            for b, t in zip(layer.outputs, outs):
                self.tensors[b], self.scales[b] = t, scale
        if self.input is None:
            raise ModelLoadError(f"{self.graph.path.name} has no Input layer")
        if "output" in self.tensors:
            out_blob = "output"
        else:
            dangling = [b for layer in self.graph.layers for b in layer.outputs if self.consumers[b] == 0]
            if len(dangling) != 1:
                raise ModelLoadError(f"{self.graph.path.name}: cannot tell the output blob (no blob named "
                                     f"'output'; unconsumed blobs: {', '.join(dangling) or 'none'})")
            out_blob = dangling[0]
        sh, sw = self.scales[out_blob]
        if sh != sw or sh.denominator != 1 or sh < 1:
            raise ModelLoadError(f"{self.graph.path.name}: output blob {out_blob!r} is not an integer upscale of "
                                 f"the input (height x{sh}, width x{sw})")
        name = self.name(f"ncnn_{self.graph.path.stem}")
        return self.k.Model(self.input, self.tensors[out_blob], name=name), int(sh)

    def _scale_of(self, layer, scales):
        if not scales:
            return (Fraction(1), Fraction(1))
        sh, sw = scales[0]
        if layer.type == "Convolution":
            return sh / layer.scalar(13, layer.scalar(3, 1)), sw / layer.scalar(3, 1)
        if layer.type == "PixelShuffle":
            r = layer.scalar(0, 1)
            return sh * r, sw * r
        if layer.type == "Interp":
            return sh * int(layer.scalar(1, 1.0)), sw * int(layer.scalar(2, 1.0))
        return sh, sw

    # --- layer handlers: (layer, input tensors) -> output tensors -------------------------------

    def _input(self, layer, ins):
        if self.input is not None:
            self.fail(layer, "a second Input layer (only single-input models are supported)")
        c = layer.scalar(2, 0) or 3
        if c != 3:
            self.fail(layer, f"the model takes {c} input channels; keras_sr imports RGB models (3)")
        self.input = self.k.Input((None, None, 3), name="lr")
        return [self.input]

    def _split(self, layer, ins):
        return [ins[0]] * len(layer.outputs)

    def _convolution(self, layer, ins):
        L, x = self.L, ins[0]
        out, kw = layer.scalar(0, 0), layer.scalar(1, 0)
        kh = layer.scalar(11, kw)
        dw = layer.scalar(2, 1)
        dh = layer.scalar(12, dw)
        sw = layer.scalar(3, 1)
        sh = layer.scalar(13, sw)
        pl = layer.scalar(4, 0)
        pr, pt = layer.scalar(15, pl), layer.scalar(14, pl)
        pb = layer.scalar(16, pt)
        c_in = int(x.shape[-1])
        w = self.weights[layer.name]["weight"]
        if w.size != out * c_in * kh * kw:
            self.fail(layer, f"weight_data_size {w.size} does not fit {out} outputs x {c_in} input channels x "
                             f"{kh}x{kw} kernel")
        kernel = w.reshape(out, c_in, kh, kw).transpose(2, 3, 1, 0)  # OIHW -> HWIO
        bias = self.weights[layer.name].get("bias")
        if layer.name in self.permute_conv:
            r = self.permute_conv[layer.name]
            if out % (r * r):
                self.fail(layer, f"{out} channels cannot be pixel-shuffled by {r}")
            perm = _shuffle_perm(out, r)
            kernel = kernel[..., perm]
            bias = None if bias is None else bias[perm]
        pads = (pt, pb, pl, pr)
        if pads == (0, 0, 0, 0):
            padding = "valid"
        elif sh == sw == 1 and ((kh % 2 and kw % 2 and pt == pb == dh * (kh - 1) // 2
                                 and pl == pr == dw * (kw - 1) // 2) or pads == (-233,) * 4):
            padding = "same"
        elif min(pads) >= 0:
            if layer.scalar(18, 0.0) != 0:
                self.fail(layer, f"pad_value {layer.scalar(18, 0.0)} (only zero padding is supported)")
            x = L.ZeroPadding2D(((pt, pb), (pl, pr)), name=self.name(f"{layer.name}_pad"))(x)
            padding = "valid"
        else:
            self.fail(layer, f"automatic padding {pl} with stride {sh}x{sw} is not supported")
        conv = L.Conv2D(out, (kh, kw), strides=(sh, sw), dilation_rate=(dh, dw), padding=padding,
                        use_bias=bias is not None, kernel_initializer="zeros",  # overwritten below;
                        name=self.name(layer.name))                             # zeros: no RNG cost
        y = conv(x)
        conv.set_weights([kernel] if bias is None else [kernel, bias])
        act = layer.scalar(9, 0)
        if act == 1:
            y = L.ReLU(name=self.name(f"{layer.name}_relu"))(y)
        elif act == 2:
            slope = layer.get(10, [0.0])
            y = L.LeakyReLU(negative_slope=float(slope[0] if isinstance(slope, list) else slope),
                            name=self.name(f"{layer.name}_lrelu"))(y)
        elif act != 0:
            self.fail(layer, f"fused activation_type {act} is not supported (0 none, 1 ReLU, 2 LeakyReLU)")
        return [y]

    def _relu(self, layer, ins):
        slope = layer.scalar(0, 0.0)
        if slope == 0:
            return [self.L.ReLU(name=self.name(layer.name))(ins[0])]
        return [self.L.LeakyReLU(negative_slope=slope, name=self.name(layer.name))(ins[0])]

    def _prelu(self, layer, ins):
        slope = self.weights[layer.name]["slope"]
        c = int(ins[0].shape[-1])
        if slope.size == 1:
            slope = np.full(c, slope[0], np.float32)
        elif slope.size != c:
            self.fail(layer, f"{slope.size} slopes for {c} channels")
        prelu = self.L.PReLU(shared_axes=[1, 2], name=self.name(layer.name))
        y = prelu(ins[0])
        prelu.set_weights([slope.reshape(1, 1, c)])
        return [y]

    def _pixelshuffle(self, layer, ins):
        r, mode = layer.scalar(0, 1), layer.scalar(1, 0)
        x, c = ins[0], int(ins[0].shape[-1])
        if mode not in (0, 1):
            self.fail(layer, f"mode {mode} (expected 0 or 1)")
        if r < 1 or c % (r * r):
            self.fail(layer, f"{c} channels cannot be shuffled by upscale_factor {r}")
        if r == 1:
            return [x]
        if mode == 0 and layer.name not in self.prepermuted:
            # exact in fp32: each output channel is one input channel times 1.0
            perm = _shuffle_perm(c, r)
            eye = np.zeros((1, 1, c, c), np.float32)
            eye[0, 0, perm, np.arange(c)] = 1.0
            conv = self.L.Conv2D(c, 1, use_bias=False, kernel_initializer="zeros",
                                 name=self.name(f"{layer.name}_order"))
            x = conv(x)
            conv.set_weights([eye])
        return [self.sr.DepthToSpace(r, name=self.name(layer.name))(x)]

    def _interp(self, layer, ins):
        rt = layer.scalar(0, 0)
        hs, ws = layer.scalar(1, 1.0), layer.scalar(2, 1.0)
        if rt != 1:
            self.fail(layer, f"resize_type {rt} is not supported (only 1 = nearest; 2 bilinear and 3 bicubic "
                             "are not)")
        if layer.scalar(3, 0) or layer.scalar(4, 0) or layer.scalar(5, 0) or layer.get(9):
            self.fail(layer, "resizing to a fixed or dynamic output size is not supported (scale factors only)")
        if hs != ws or hs != int(hs) or hs < 1:
            self.fail(layer, f"scale {hs} x {ws}: only equal integer upscales are supported")
        s = int(hs)
        if s == 1:
            return ins
        tiled = self.L.Concatenate(name=self.name(f"{layer.name}_tile"))([ins[0]] * (s * s))
        return [self.sr.DepthToSpace(s, name=self.name(layer.name))(tiled)]

    def _binaryop(self, layer, ins):
        L, op = self.L, layer.scalar(0, 0)
        n = self.name(layer.name)
        if layer.scalar(1, 0):
            b = layer.scalar(2, 0.0)
            scalar = {0: (1.0, b), 1: (1.0, -b), 2: (b, 0.0), 7: (-1.0, b)}
            if op == 3 and b != 0:
                scalar[3] = (1.0 / b, 0.0)
            if op not in scalar:
                self.fail(layer, f"op_type {op} with a scalar is not supported (0 add, 1 sub, 2 mul, 3 div, 7 rsub)")
            scale, offset = scalar[op]
            return [L.Rescaling(scale, offset, name=n)(ins[0])]
        if len(ins) != 2:
            self.fail(layer, f"{len(ins)} inputs (expected 2, or with_scalar=1)")
        a, b = ins
        ops = {0: lambda: L.Add(name=n)([a, b]), 1: lambda: L.Subtract(name=n)([a, b]),
               2: lambda: L.Multiply(name=n)([a, b]), 4: lambda: L.Maximum(name=n)([a, b]),
               5: lambda: L.Minimum(name=n)([a, b]), 7: lambda: L.Subtract(name=n)([b, a])}
        if op not in ops:
            self.fail(layer, f"op_type {op} on two blobs is not supported (0 add, 1 sub, 2 mul, 4 max, 5 min, 7 rsub)")
        return [ops[op]()]

    def _eltwise(self, layer, ins):
        L, op = self.L, layer.scalar(0, 0)
        if len(ins) < 2:
            self.fail(layer, "needs at least two inputs")
        n = self.name(layer.name)
        if op == 0:
            return [L.Multiply(name=n)(ins)]
        if op == 2:
            return [L.Maximum(name=n)(ins)]
        if op != 1:
            self.fail(layer, f"op_type {op} (expected 0 prod, 1 sum, 2 max)")
        coeffs = layer.get(1, [])
        coeffs = coeffs if isinstance(coeffs, list) else [coeffs]
        if coeffs and len(coeffs) != len(ins):
            self.fail(layer, f"{len(coeffs)} coeffs for {len(ins)} inputs")
        terms = []
        for i, (t, c) in enumerate(zip(ins, coeffs or [1.0] * len(ins))):
            terms.append(t if c == 1 else L.Rescaling(float(c), name=self.name(f"{layer.name}_coeff{i}"))(t))
        return [L.Add(name=n)(terms)]

    def _concat(self, layer, ins):
        axis = layer.scalar(0, 0)
        if axis not in (0, -3):
            self.fail(layer, f"axis {axis}: only channel concatenation (axis 0) is supported")
        if len(ins) == 1:
            return ins
        return [self.L.Concatenate(axis=-1, name=self.name(layer.name))(ins)]


# ------------------------------------------------------------------------------ detection + entry

def detect_architecture(graph: NcnnGraph) -> tuple[str, dict]:
    """``("srvgg", hyper)`` / ``("rrdbnet", hyper)`` when the graph has the layer pattern of
    Real-ESRGAN's SRVGGNetCompact / RRDBNet (x4) export, else ``("ncnn-graph", {})``. Only the
    card uses it: every graph goes through the same layer-by-layer translation."""
    types = Counter(layer.type for layer in graph.layers)
    convs = [layer for layer in graph.layers if layer.type == "Convolution"]
    interps = [layer for layer in graph.layers if layer.type == "Interp"]
    shuffles = [layer for layer in graph.layers if layer.type == "PixelShuffle"]
    if (set(types) <= {"Input", "Split", "Convolution", "PReLU", "PixelShuffle", "Interp", "BinaryOp"}
            and len(convs) >= 2 and types["PReLU"] == len(convs) - 1 and len(shuffles) == 1
            and len(interps) == 1 and interps[0].scalar(0, 0) == 1 and types["BinaryOp"] == 1):
        scale = shuffles[0].scalar(0, 1)
        return "srvgg", {"scale": scale, "filters": convs[0].scalar(0, 0), "convs": len(convs) - 2}
    if set(types) <= {"Input", "Split", "Convolution", "Concat", "Eltwise", "BinaryOp", "Interp"} and len(convs) >= 21:
        blocks, rest = divmod(len(convs) - 6, 15)
        if (rest == 0 and types["Eltwise"] == 4 * blocks and len(interps) == 2
                and all(i.scalar(0, 0) == 1 and i.scalar(1, 1.0) == 2 for i in interps)):
            return "rrdbnet", {"scale": 4, "filters": convs[0].scalar(0, 0), "blocks": blocks,
                               "growth": convs[1].scalar(0, 0)}
    return "ncnn-graph", {}


def load_ncnn(param_path, bin_path=None):
    """An ncnn ``.param`` (+ ``.bin``, default: same stem) as a functional ``keras.Model``.

    RGB ``[N, H, W, 3]`` in [0, 1] -> ``[N, sH, sW, 3]``, raw output; ``model.sr_info`` is a
    :class:`~keras_sr.models.info.ModelInfo` (scale and architecture detected, degradation
    ``"unknown"``, record with both files' names and sha256). Bad input raises
    :class:`~keras_sr.errors.ModelLoadError` with a one-line message.
    """
    from keras_sr.data.io import sha256_file
    from keras_sr.models.info import ModelInfo

    param_path = Path(param_path)
    bin_path = Path(bin_path) if bin_path is not None else param_path.with_suffix(".bin")
    graph = parse_param(param_path)
    check_supported(graph)
    if not bin_path.is_file():
        raise ModelLoadError(f"ncnn weights file not found: {bin_path} (the .bin that goes with "
                             f"{param_path.name})")
    weights, storage = read_weights(graph, bin_path)
    try:
        model, scale = _Translator(graph, weights).build()
    except ModelLoadError:
        raise
    except (ValueError, TypeError) as exc:  # shape mismatches between blobs surface here
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot translate {param_path.name}: {msg}") from None
    arch, hyper = detect_architecture(graph)
    if arch == "ncnn-graph" or hyper.get("scale") != scale:
        arch, hyper = "ncnn-graph", {"scale": scale}
    sources = [{"file": param_path.name, "sha256": sha256_file(param_path)},
               {"file": bin_path.name, "sha256": sha256_file(bin_path)}]
    model.sr_info = ModelInfo(
        architecture=arch, scale=scale, degradation="unknown", color_space="rgb", input_mode="lr",
        source=", ".join(s["file"] for s in sources),
        record={"imported_from": sources, "layout": "ncnn", "hyperparameters": hyper,
                "params": int(model.count_params()), "storage": "+".join(sorted(storage)) or "none",
                "ncnn_layers": len(graph.layers)})
    return model
