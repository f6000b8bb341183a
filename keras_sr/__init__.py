"""keras_sr: single-image super-resolution with Keras 3 / TensorFlow.

Public API (imports TensorFlow lazily, on first use):

- :func:`load_model` -- a zoo name, ``.keras`` file, run folder or SRCNN-keras ``.h5`` -> ``keras.Model``
  (``photo=True``: uint8 RGB photos in and out)
- :func:`upscale` -- upscale an image array with a model
"""

__version__ = "0.1.0"


def load_model(model, photo=False):
    """Load a model; ``photo=True``: uint8 RGB ``[N, H, W, 3]`` in, uint8 RGB out, everything
    else inside (``model.predict(batch)`` on photos). See :func:`keras_sr.models.loading.load_model`."""
    from keras_sr.models.loading import load_model as _load

    return _load(model, photo=photo)


def upscale(image, model, factor=None):
    """Upscale an image array; see :func:`keras_sr.inference.upscale`."""
    from keras_sr.inference import upscale as _upscale

    return _upscale(image, model, factor)


def upscale_image(image, model="fsrcnn-x2", factor=None, tile=None, max_memory_mb=256.0, progress=None):
    """Upscale a photo (path or PIL image) -> PIL image with its ICC profile and EXIF kept.

    ``progress(done_tiles, total_tiles)`` is called as tiles finish (for GUIs).
    """
    from keras_sr.data.photo import open_photo, to_pil
    from keras_sr.inference import Upscaler

    photo = open_photo(image)
    up = Upscaler(model, factor, tile=tile, max_memory_mb=max_memory_mb, progress=progress)
    return to_pil(photo, up(photo.pixels))


__all__ = ["__version__", "load_model", "upscale", "upscale_image"]
