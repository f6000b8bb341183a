"""``load_model``: one entry point for ``.keras`` files, run folders and legacy ``.h5`` weights."""

from __future__ import annotations

from pathlib import Path

from keras_sr._backend import keras
from keras_sr.errors import ModelLoadError
from keras_sr.models.info import ModelInfo, read_info
from keras_sr.models.srcnn import srcnn

# What SRCNN-keras's weights were trained on (../shared/weights/README.md).
LEGACY_SRCNN_KERAS = dict(degradation="bilinear-legacy", color_space="y-opencv", scale=2)


def load_model(model, photo: bool = False):
    """Return a ``keras.Model`` (inference-ready, not compiled) with ``model.sr_info`` set.

    ``model`` is a zoo name, a ``.keras`` file, a training run folder (holding ``model.keras``),
    a Keras-1/2 ``.h5`` weight file of the SRCNN-keras layer stack, a community checkpoint
    (PyTorch ``.pth``/``.pt``, ``.safetensors``, ncnn ``.param`` + ``.bin``; imported on the fly by
    :mod:`keras_sr.importers`, without executing anything in the file), or an already built
    ``keras.Model`` (returned as is, with default info when it has none).

    ``photo=True``: the network wrapped end to end (:func:`keras_sr.export.graphs.photo_model`,
    the graph of the exported ``photo`` signature): a plain functional ``keras.Model`` taking
    uint8 RGB ``[N, H, W, 3]`` and returning uint8 RGB ``[N, sH, sW, 3]``, colour conversion,
    chroma upscaling, padding, clipping and rounding inside; ``model.predict(batch)`` works on
    photos. Gray photos: pass 3 equal channels. ``sr_info`` describes the network inside.
    A model that already is a photo model is returned as it is.
    """
    net = _load(model)
    if not photo or is_photo_model(net):
        return net
    from keras_sr.export.graphs import photo_model

    wrapped = photo_model(net)
    wrapped.sr_info = net.sr_info
    return wrapped


def is_photo_model(model) -> bool:
    """Whether ``model`` is a photo model (uint8 RGB in and out, see :func:`load_model`)."""
    from keras_sr.models.layers import PhotoPreprocess

    return any(isinstance(layer, PhotoPreprocess) for layer in model.layers)


def _load(model):
    k = keras()
    if isinstance(model, k.Model):
        if not hasattr(model, "sr_info"):
            model.sr_info = ModelInfo(architecture=model.name, scale=0)
        return model
    path = Path(model)
    if path.is_dir():
        if not (path / "model.keras").exists():
            raise ModelLoadError(f"folder has no model.keras (not a finished run?): {path}")
        path = path / "model.keras"
    if not path.exists():
        if path.suffix or "/" in str(model) or "\\" in str(model):
            raise ModelLoadError(f"no such model file: {path}")
        from keras_sr.zoo import zoo_path

        path = zoo_path(str(model))
    if path.stat().st_size == 0:
        raise ModelLoadError(f"empty model file (0 bytes): {path}")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        return _load_h5(path)
    if suffix == ".keras":
        return _load_keras(path)
    if suffix in (".pth", ".pt", ".safetensors", ".param"):
        from keras_sr.importers import load_any

        return load_any(path)
    raise ModelLoadError(f"unsupported model file type {suffix!r} (expected .keras, .h5, .pth, .pt, "
                         f".safetensors or .param): {path}")


def _load_keras(path: Path):
    k = keras()
    import keras_sr.models  # noqa: F401  (registers custom layers)

    try:
        model = k.saving.load_model(path, compile=False)
    except Exception as exc:  # zip/h5/config errors all mean "not a usable .keras file"
        raise ModelLoadError(f"cannot load model {path}: {type(exc).__name__}: {exc}") from None
    info = read_info(path) or (_photo_info(model) if is_photo_model(model) else _guess_info(model))
    info.source = str(path)
    model.sr_info = info
    return model


def _photo_info(model) -> ModelInfo:
    """Conventions of the network inside a photo model saved without a keras_sr record, read
    off its :class:`~keras_sr.models.layers.PhotoPreprocess` layer."""
    from keras_sr.models.layers import PhotoPreprocess

    pre = next(layer for layer in model.layers if isinstance(layer, PhotoPreprocess))
    return ModelInfo(architecture=model.name, scale=pre.scale, color_space=pre.color_space,
                     input_mode=pre.input_mode, pad_mode=pre.pad_mode, size_multiple=pre.size_multiple,
                     degradation="bilinear-legacy" if pre.kernel == "bilinear" else "bicubic",
                     record={"note": "photo model (uint8 RGB in and out) saved without a keras_sr record"})


def _guess_info(model) -> ModelInfo:
    """Conventions of a plain Keras file (e.g. a ``ModelCheckpoint``): the input mode and
    scale are read off the model's output size; the rest are the package defaults."""
    channels = model.input_shape[-1] or 1
    try:
        out = model.compute_output_shape((1, 48, 48, channels))
        ratio = int(out[1]) / 48
    except Exception:  # noqa: BLE001 - unknown graph: fall back to the defaults
        ratio = 1
    lr_mode = ratio >= 2 and float(ratio).is_integer()
    return ModelInfo(architecture=model.name, scale=int(ratio) if lr_mode else 0,
                     input_mode="lr" if lr_mode else "pre-upsampled",
                     color_space="rgb" if channels == 3 else "y-bt601",
                     record={"note": "no keras_sr record in this file: conventions guessed"})


def _load_h5(path: Path):
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" in f.attrs:
                full = True
                shapes = None
            else:
                full = False
                shapes = _legacy_kernel_shapes(f, path)
    except OSError as exc:
        raise ModelLoadError(f"not a readable HDF5 file: {path} ({exc})") from None
    k = keras()
    if full:
        try:
            model = k.saving.load_model(path, compile=False)
        except Exception as exc:
            raise ModelLoadError(f"cannot load HDF5 model {path}: {exc}") from None
        model.sr_info = ModelInfo(architecture=model.name, scale=0, source=str(path))
        return model
    # Weights-only file of a plain conv stack (SRCNN-keras): rebuild the same stack.
    if len(shapes) < 2 or any(len(s) != 4 for s in shapes) or shapes[0][2] not in (1, 3):
        raise ModelLoadError(f"{path}: weight file is not an SRCNN-style conv stack: {shapes}")
    filters = [s[3] for s in shapes[:-1]]
    kernels = [s[0] for s in shapes]
    model = srcnn(filters=filters, kernel_sizes=kernels, padding="mirror",
                  channels=shapes[0][2], name="srcnn_keras_legacy")
    try:
        model.load_weights(path)
    except Exception as exc:
        raise ModelLoadError(f"{path}: weights do not fit an SRCNN stack: {exc}") from None
    arch = "srcnn" if kernels == [9, 3, 5] and filters == [128, 64] else \
        "srcnn-915" if kernels == [9, 1, 5] and filters == [128, 64] else "srcnn-custom"
    model.sr_info = ModelInfo(architecture=arch, source=str(path), input_mode="pre-upsampled",
                              record={"note": "SRCNN-keras Keras-1 weights; conventions assumed "
                                              "from that repository (bilinear-legacy, OpenCV Y, x2)"},
                              **LEGACY_SRCNN_KERAS)
    return model


def _legacy_kernel_shapes(f, path):
    names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs.get("layer_names", [])]
    if not names:
        raise ModelLoadError(f"{path}: HDF5 file has no Keras layer weights")
    shapes = []
    for n in names:
        g = f[n]
        wn = [w.decode() if isinstance(w, bytes) else w for w in g.attrs.get("weight_names", [])]
        if not wn:
            continue
        shapes.append(tuple(g[wn[0]].shape))
    return shapes
