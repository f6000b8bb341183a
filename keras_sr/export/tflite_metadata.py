"""TFLite Metadata inside every exported ``.tflite`` file.

Every file :func:`keras_sr.export.exporter.export` writes carries standard TFLite Metadata:
a ``ModelMetadata`` flatbuffer of TensorFlow Lite Support's published schema
(``metadata_schema.fbs``, file identifier ``M001``) stored in one of the model's buffers and
named by a ``TFLITE_METADATA`` entry in the model's ``metadata`` list, as TFLite Support's
``MetadataPopulator`` stores it (no associated files are attached, so no zip is appended).
Its content comes from the export's metadata dict, the same dict that is written as
``metadata.json`` (:func:`model_metadata` only reads it and the file's own entry of it):

- ``ModelMetadata``: ``name``, ``description``, ``version``, ``author`` and ``license`` (the
  last two only where the model card or record names them; author ``keras_sr`` for models
  trained with it); ``min_parser_version`` :data:`MIN_PARSER_VERSION`.
- One ``SubGraphMetadata`` named after the file's signature (``serve``, ``photo``,
  ``serve_fixed``, ``photo_fixed``) with the tensor contract as its description and a
  ``CustomMetadata`` ``keras_sr``: UTF-8 JSON with the scale, colour space, value range, input
  mode, border, layout, degradation, signature, mode, contract and pixel normalization.
- Input and output ``TensorMetadata``: content ``ImageProperties`` (colour space ``RGB``, or
  ``GRAYSCALE`` for the Y channel of a YCbCr model; ``default_size`` for fixed shapes), and
  for float image tensors ``NormalizationOptions`` from the dict's ``pixel_normalization``
  (``tensor = (8-bit pixel - mean) / std``: values in [0, 1] are mean 0, std 255) and, on
  inputs, ``Stats`` with the value range. uint8 photo tensors are pixels themselves: no
  normalization, ``Stats`` 0..255. int8 raw files keep the float normalization (the schema's
  rule: quantized models share the float model's parameters; the tensor's own quantization
  scale / zero point then apply, and the description repeats them).

Why vendored generated code (and not hand-written builder calls or ``tflite-support``): the
metadata flatbuffer is written with ``keras_sr.export.vendor.metadata_schema_py_generated``,
code the FlatBuffers compiler generated from the unmodified official schema (both vendored,
Apache-2.0; see :mod:`keras_sr.export.vendor`). Field slots, unions and vector layouts then
come from the schema itself, not from hand-counted ``builder.Slot`` indices that would break
silently on a slip; the code needs only the ``flatbuffers`` runtime that TensorFlow already
installs. ``tflite-support`` 0.4.4 cannot be a dependency (it pins ``protobuf<4``, which
TensorFlow 2.21 does not accept, and its package ``__init__`` fails to import beside
protobuf 7). The model flatbuffer itself (``schema.fbs``) is edited with TensorFlow's own
``tensorflow.lite.tools.flatbuffer_utils`` (read / write through
``tensorflow.lite.python.schema_py_generated``), the code TensorFlow's tools use to rewrite
models; weight buffers are re-aligned to 16 bytes as ``schema.fbs`` asks (``force_align: 16``,
which the generated Python ``Pack`` ignores).
"""

from __future__ import annotations

import json

import numpy as np

METADATA_NAME = "TFLITE_METADATA"  # the model's metadata entry TFLite Support reads
FILE_IDENTIFIER = b"M001"  # metadata_schema.fbs: file_identifier
# The largest "Added in" version among the fields written: SubGraphMetadata.custom_metadata
# (1.5.0); everything else is 1.0.0. TFLite Support computes the same (metadata_version.cc).
MIN_PARSER_VERSION = "1.5.0"
CUSTOM_NAME = "keras_sr"
BUFFER_ALIGN = 16  # schema.fbs: Buffer.data (force_align: 16)


def _fb():
    from keras_sr.export.vendor import metadata_schema_py_generated as fb

    return fb


def _image_tensor(name: str, description: str, channels: int, shape, normalization=None, stats=None):
    fb = _fb()
    props = fb.ImagePropertiesT()
    props.colorSpace = fb.ColorSpaceType.RGB if channels == 3 else fb.ColorSpaceType.GRAYSCALE
    if len(shape) == 4 and shape[1] > 0 and shape[2] > 0:  # fixed shape: its size
        props.defaultSize = fb.ImageSizeT()
        props.defaultSize.width, props.defaultSize.height = int(shape[2]), int(shape[1])
    content = fb.ContentT()
    content.contentPropertiesType = fb.ContentProperties.ImageProperties
    content.contentProperties = props
    t = fb.TensorMetadataT()
    t.name, t.description, t.content = name, description, content
    if normalization is not None:
        opts = fb.NormalizationOptionsT()
        opts.mean = [float(normalization["mean"])] * channels
        opts.std = [float(normalization["std"])] * channels
        unit = fb.ProcessUnitT()
        unit.optionsType = fb.ProcessUnitOptions.NormalizationOptions
        unit.options = opts
        t.processUnits = [unit]
    if stats is not None:
        t.stats = fb.StatsT()
        t.stats.min = [float(stats[0])] * channels
        t.stats.max = [float(stats[1])] * channels
    return t


def _quantized(io: dict) -> str:
    if "scale" not in io:
        return ""
    return (f" Stored as {io['dtype']}: value = (q - {io['zero_point']}) * {io['scale']:.8g}.")


def model_metadata(meta: dict, file_name: str):
    """The ``ModelMetadataT`` of ``file_name`` from the export metadata dict ``meta`` (what
    ``metadata.json`` holds: ``meta["files"][file_name]`` is the file's entry, with its
    signature, mode and ``io`` details)."""
    fb = _fb()
    entry = meta["files"][file_name]
    sig, mode, io = entry["signature"], entry["mode"], entry["io"]
    photo = sig.startswith("photo")
    lo, hi = meta["value_range"]
    contract = meta["photo_contract"] if photo else meta["raw_contract"]
    i_io, o_io = io["inputs"][0], io["outputs"][0]
    if photo:
        inp = _image_tensor("rgb", "uint8 RGB photo, 8-bit pixels (no normalization).", 3, i_io["shape"],
                            stats=(0, 255))
        out = _image_tensor("rgb_sr", f"uint8 RGB photo upscaled x{meta['scale']}.", 3, o_io["shape"],
                            stats=(0, 255))
    else:
        channels = int(i_io["shape"][-1])
        norm = meta["pixel_normalization"]
        what = meta["tensor_colour"]
        inp = _image_tensor("image", f"{what}, float in [{lo:g}, {hi:g}] = (8-bit pixel - {norm['mean']:g}) / "
                            f"{norm['std']:g}.{_quantized(i_io)}", channels, i_io["shape"], norm, (lo, hi))
        out = _image_tensor("image_sr", f"{what} upscaled x{meta['scale']}, raw network output in "
                            f"[{lo:g}, {hi:g}] (not clipped: clip, then pixel = value * {norm['std']:g} + "
                            f"{norm['mean']:g}).{_quantized(o_io)}", channels, o_io["shape"], norm)
    custom = fb.CustomMetadataT()
    custom.name = CUSTOM_NAME
    conventions = {k: meta[k] for k in ("scale", "color_space", "value_range", "input_mode", "border", "layout",
                                        "degradation", "pixel_normalization", "keras_sr_version")}
    conventions.update(signature=sig, mode=mode, contract=contract)
    custom.data = np.frombuffer(json.dumps(conventions, sort_keys=True).encode(), np.uint8)
    sub = fb.SubGraphMetadataT()
    sub.name, sub.description = sig, f"{mode} {'photo' if photo else 'raw'} signature: {contract}"
    sub.inputTensorMetadata, sub.outputTensorMetadata = [inp], [out]
    sub.customMetadata = [custom]
    m = fb.ModelMetadataT()
    m.name, m.version = meta["name"], meta["version"]
    m.description = f"{meta['description']} This file ({file_name}): {sub.description}"
    m.author, m.license = meta.get("author"), meta.get("license")
    m.subgraphMetadata = [sub]
    m.minParserVersion = MIN_PARSER_VERSION
    return m


def metadata_bytes(model_meta) -> bytes:
    """A finished ``ModelMetadata`` flatbuffer (with its ``M001`` identifier)."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model_meta.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


_ALIGNED = {}


def _aligned(buffer_t):
    """``buffer_t`` (a ``schema_py_generated.BufferT``) made to pack its data aligned to
    :data:`BUFFER_ALIGN` bytes: ``Prep`` pads so that the data, written next, starts aligned."""
    base = type(buffer_t)
    if base not in _ALIGNED:
        def pack(self, builder):
            if self.data is not None and len(self.data):
                builder.Prep(BUFFER_ALIGN, len(self.data))
            return base.Pack(self, builder)

        _ALIGNED[base] = type(f"Aligned{base.__name__}", (base,), {"Pack": pack})
    buffer_t.__class__ = _ALIGNED[base]
    return buffer_t


def with_metadata(content: bytes, metadata: bytes) -> bytes:
    """``content`` (a ``.tflite`` flatbuffer) with ``metadata`` as its ``TFLITE_METADATA``
    buffer (an existing one is replaced); everything else of the model is kept as it is."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    buf = schema.BufferT()
    buf.data = np.frombuffer(metadata, np.uint8)
    entries = [m for m in (model.metadata or []) if _name(m.name) == METADATA_NAME]
    if entries:
        model.buffers[entries[0].buffer] = buf
    else:
        entry = schema.MetadataT()
        entry.name = METADATA_NAME
        entry.buffer = len(model.buffers)
        model.buffers.append(buf)
        model.metadata = (model.metadata or []) + [entry]
    model.buffers = [_aligned(b) for b in model.buffers]
    return flatbuffer_utils.convert_object_to_bytearray(model)


def _name(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def read_metadata(content: bytes) -> bytes | None:
    """The ``TFLITE_METADATA`` buffer of a ``.tflite`` flatbuffer, or ``None``."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _name(entry.Name()) == METADATA_NAME:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None
