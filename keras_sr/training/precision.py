"""Training precision: ``fp32``, ``bf16`` or ``fp16`` (``keras-sr train --precision``).

``bf16`` and ``fp16`` are Keras mixed precision (``mixed_bfloat16`` / ``mixed_float16``):
variables stay float32, the convolutions compute in 16 bits. keras_sr never sets the *global*
policy; :func:`with_precision` returns a copy of the network whose inner layers carry the mixed
policy while these stay float32:

* the tail: the last layer with weights (the output conv) and every layer after it (residual
  adds, pixel shuffle, clipping), so the image the loss sees is computed in float32;
* the input path: layers that hold no weights and depend on no 16-bit layer (e.g. SRVGG's
  nearest-upscaled input, ABPN's anchor), so the residual base is the exact input.

Everything outside the network stays float32 as well: the degradation (``tf.data`` or the
device step), the loss and the metrics (they see float32 outputs), the optimizer's variables,
and the saved model (:func:`float32_copy`: the same weights in a plain float32 network, which
loads without keras_sr's policy).

When ``bf16`` pays: CPUs with AVX512-BF16 or AMX (measured on an AVX512-BF16 x86 core: an
SRVGG 32x8 train step 0.72x the float32 time, 64x16 0.58x) and GPUs from Ampere (compute
capability 8.0) on. Elsewhere TensorFlow emulates it and it is slower: :func:`check_support`
warns. ``fp16`` is for GPUs (Volta and later); it scales the loss (``LossScaleOptimizer``),
which the GAN step does not do, so GANs take ``fp32`` or ``bf16``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keras_sr._backend import keras, tf
from keras_sr.errors import UsageError

PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def check_precision(name: str) -> str:
    """``name`` if it is a known precision, else a one-line :class:`UsageError`."""
    if name not in PRECISIONS:
        raise UsageError(f"unknown precision {name!r} (fp32, bf16 or fp16)")
    return name


def _cpu_flags() -> set:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def bf16_support() -> tuple[bool, str]:
    """(native, where): whether the devices TensorFlow trains on compute bfloat16 natively."""
    gpus = tf().config.list_physical_devices("GPU")
    if gpus:
        caps = [tf().config.experimental.get_device_details(g).get("compute_capability", (0, 0)) for g in gpus]
        return all(c[0] >= 8 for c in caps), f"GPU compute capability {min(caps)}"
    flags = _cpu_flags()
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    return native, "CPU with AVX512-BF16/AMX" if native else "CPU without AVX512-BF16 or AMX"


def check_support(precision: str) -> None:
    """One-line warning on stderr when ``precision`` will be emulated (slow), never an error."""
    if precision == "bf16":
        native, where = bf16_support()
        if not native:
            print(f"Warning: --precision bf16 on a {where}: TensorFlow emulates bfloat16 there, "
                  "so training runs but slower than fp32", file=sys.stderr)
    elif precision == "fp16" and not tf().config.list_physical_devices("GPU"):
        print("Warning: --precision fp16 without a GPU: float16 is emulated on the CPU and slower "
              "than fp32", file=sys.stderr)


def float32_layers(model) -> set:
    """Names of the layers of a functional ``model`` that stay float32 under a mixed policy:
    the tail (last layer with weights and all after it) and the weight-free input path."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras().layers.InputLayer)]
    weighted = [i for i, layer in enumerate(layers) if layer.weights]
    if not weighted:
        return {layer.name for layer in layers}
    keep = {layer.name for layer in layers[weighted[-1]:]}
    mixed = set()
    for layer in layers[:weighted[-1]]:  # model.layers is in topological order
        parents = {t._keras_history.operation.name for node in layer._inbound_nodes
                   for t in node.input_tensors}
        if layer.weights or parents & mixed:
            mixed.add(layer.name)
        else:
            keep.add(layer.name)
    return keep


def _clone(model, policy_of):
    """``model`` rebuilt with each layer's dtype policy from ``policy_of(layer)``, same weights."""
    k = keras()

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = policy_of(layer)
        return layer.__class__.from_config(config)

    out = k.models.clone_model(model, clone_function=clone_layer)
    out.set_weights(model.get_weights())
    return out


def with_precision(model, precision: str):
    """A copy of ``model`` for training at ``precision`` (``model`` itself for fp32); see the
    module docstring for which layers stay float32."""
    check_precision(precision)
    if precision == "fp32":
        return model
    policy = PRECISIONS[precision]
    keep = float32_layers(model)
    return _clone(model, lambda layer: "float32" if layer.name in keep else policy)


def frozen_at_precision(model, precision: str):
    """A frozen feature network (a perceptual loss's VGG16) computed at ``precision``: every
    layer under the mixed policy, so its convolutions run in bf16/fp16 (its outputs are then
    bf16/fp16; the loss casts them to float32 before taking differences). ``model`` itself for
    fp32. On this AVX512-BF16 CPU a VGG16 forward + backward of 8 x 96x96 crops took 0.44x the
    float32 time (1.30 s vs 2.96 s, one run)."""
    check_precision(precision)
    if precision == "fp32":
        return model
    out = _clone(model, lambda layer: PRECISIONS[precision])
    out.trainable = False
    return out


def float32_copy(model):
    """``model`` with every layer float32 (the same weights): what is saved and exported."""
    policies = {getattr(layer.dtype_policy, "name", "float32") for layer in model.layers}
    if policies <= {"float32"}:
        return model
    return _clone(model, lambda layer: "float32")


def optimizer_for(precision: str, optimizer):
    """``optimizer`` wrapped for loss scaling under fp16 (bf16 has float32's exponent range)."""
    if precision == "fp16":
        return keras().optimizers.LossScaleOptimizer(optimizer)
    return optimizer
