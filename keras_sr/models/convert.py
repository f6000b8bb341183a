"""Converters from other SR releases' weight files to keras_sr models.

``srcnn_from_mat``: Chao Dong's official SRCNN MATLAB models (``x{2,3,4}.mat`` with
``weights_conv1`` (k1^2 x n1), ``weights_conv2`` (n1 x k2^2 x n2), ``weights_conv3``
(n2 x k3^2) and biases). Their ``SRCNN.m`` applies each filter with
``imfilter(x, w, 'same', 'replicate')``:

* ``imfilter`` is a *correlation* (no kernel flip), like Keras ``Conv2D``, so kernels are
  used as they are;
* MATLAB reshapes the flat ``k^2`` filter vectors column-major: entry ``i`` is row
  ``i mod k``, column ``i div k``, hence ``vector.reshape(k, k).T`` in NumPy;
* borders are 'replicate' at every layer. Keras has no replicate-padded convolution that
  exports to TFLite builtins, so the converted network uses 'valid' convolutions and
  records ``pad_mode="edge"``: the inference code replicates the input's border once by the
  network's total border (8 px for 9-5-5). Pixels within 8 px of the image edge therefore
  differ slightly from MATLAB's per-layer replication (the measured effect on Set5/Set14 is
  in the evaluation tests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_sr.errors import ModelLoadError
from keras_sr.models.info import ModelInfo
from keras_sr.models.srcnn import srcnn


def _kernel(vec: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(vec, np.float32).reshape(k, k).T  # column-major (MATLAB) -> [row, col]


def srcnn_from_mat(path, scale: int | None = None):
    """Build the SRCNN described by an official ``.mat`` file; ``model.sr_info`` is set.

    ``scale`` defaults to the digit in the file name (``x3.mat`` -> 3).
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        m = loadmat(path)
        w1, b1 = m["weights_conv1"], m["biases_conv1"].ravel()
        w2, b2 = m["weights_conv2"], m["biases_conv2"].ravel()
        w3, b3 = m["weights_conv3"], m["biases_conv3"].ravel()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"not an SRCNN .mat model: {path} ({type(exc).__name__}: {exc})") from None
    k1, n1 = int(round(np.sqrt(w1.shape[0]))), w1.shape[1]
    if w2.ndim == 2:  # 9-1-5: (n1 x n2), a 1x1 layer
        w2 = w2[:, None, :]
    c2, k2sq, n2 = w2.shape
    k2 = int(round(np.sqrt(k2sq)))
    c3, k3sq = w3.shape
    k3 = int(round(np.sqrt(k3sq)))
    if k1 * k1 != w1.shape[0] or c2 != n1 or c3 != n2:
        raise ModelLoadError(f"{path}: inconsistent SRCNN weight shapes")
    kern1 = np.stack([_kernel(w1[:, i], k1) for i in range(n1)], axis=-1)[:, :, None, :]
    kern2 = np.zeros((k2, k2, n1, n2), np.float32)
    for i in range(n2):
        for j in range(n1):
            kern2[:, :, j, i] = _kernel(w2[j, :, i], k2)
    kern3 = np.stack([_kernel(w3[i, :], k3) for i in range(n2)], axis=-1)[:, :, :, None]
    model = srcnn(filters=(n1, n2), kernel_sizes=(k1, k2, k3), padding="valid",
                  name=f"srcnn_{k1}{k2}{k3}_mat")
    model.set_weights([kern1, b1.astype(np.float32), kern2, b2.astype(np.float32), kern3,
                       b3.astype(np.float32)])
    if scale is None:
        digits = [c for c in path.stem if c.isdigit()]
        scale = int(digits[-1]) if digits else 0
    model.sr_info = ModelInfo(
        architecture=f"srcnn-{k1}{k2}{k3}", scale=scale, degradation="bicubic",
        color_space="y-bt601", input_mode="pre-upsampled", pad_mode="edge", source=str(path),
        record={"converted_from": str(path), "origin": "Dong et al. official SRCNN release "
                "(academic use only)"})
    return model
