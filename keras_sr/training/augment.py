"""``--augment-on device`` for plain (non-GAN) models: flips, rotations and the degradation
run inside the compiled ``train_step`` instead of in ``tf.data``.

:func:`device_pairs` turns a batch of uint8 HR crops ``[B, P, P, C]`` into ``(lr, hr)`` float
pairs in [0, 1]: a random 90-degree rotation (per batch) and left-right flips (per image), then
the degradation (``realworld``: :func:`keras_sr.data.realworld.degrade_batch`, the same function
the ``tf.data`` path maps, so both draw from one distribution; others: their 8-bit ``downscale``).
Its seed is :func:`step_seed`: (run seed, optimizer step, replica), so a resumed run continues
the same stream. :class:`DeviceAugmented` wraps an LR-space model for ``fit()``; the wrapped
model is what is saved. ``realworld`` contains libjpeg ops that XLA cannot compile, so such a
step must be compiled with ``jit_compile=False`` (see :mod:`keras_sr.data.realworld`).
"""

from __future__ import annotations

from keras_sr._backend import keras, tf
from keras_sr.data.degradations import get_degradation

_k = keras()


def step_seed(seed, step, replica=0):
    """Stateless seed ``[2]`` int64 of one train step: (run seed, step) folded with the replica."""
    t = tf()
    base = t.stack([t.cast(seed, t.int64), t.cast(step, t.int64)])
    return t.random.experimental.stateless_fold_in(base, t.cast(replica, t.int64))


def device_pairs(hr_u8, scale: int, degradation: str, seed, params=None):
    """uint8 HR crops ``[B, P, P, C]`` -> ``(lr [B, P/s, P/s, C], hr [B, P, P, C])`` float in
    [0, 1], flipped/rotated and degraded from ``seed`` (stateless)."""
    t = tf()
    deg = get_degradation(degradation)
    seeds = t.random.experimental.stateless_split(seed, 3)
    hr = t.cast(hr_u8, t.float32) / 255.0
    hr = t.image.rot90(hr, k=t.random.stateless_uniform([], seeds[0], 0, 4, dtype=t.int32))
    flip = t.random.stateless_uniform([t.shape(hr)[0], 1, 1, 1], seeds[1]) < 0.5
    hr = t.where(flip, t.reverse(hr, axis=[2]), hr)
    if deg.stochastic:
        lr = deg.downscale(hr, scale, seed=seeds[2], params=params)
    else:
        lr = deg.downscale(hr, scale, quantize_output=True)
    return lr, hr


@_k.saving.register_keras_serializable(package="keras_sr")
class DeviceAugmented(_k.Model):
    """``model`` trained on uint8 HR crops that are augmented and degraded in the step;
    validation data stay ``(lr, hr)`` pairs. ``call`` runs ``model``."""

    def __init__(self, model, scale: int, degradation: str, seed: int = 0, params=None, **kwargs):
        super().__init__(**kwargs)
        self.inner = model
        self.scale = int(scale)
        self.degradation = degradation
        self.aug_seed = int(seed)
        self.rw_params = params

    def call(self, x, training=False):
        return self.inner(x, training=training)

    def pairs(self, data):
        t = tf()
        ctx = t.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        seed = step_seed(self.aug_seed, self.optimizer.iterations, replica)
        return device_pairs(data, self.scale, self.degradation, seed, self.rw_params)

    def train_step(self, data):
        lr, hr = self.pairs(data)
        return super().train_step((lr, hr))


class InnerCheckpoint(_k.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` that saves the model inside a :class:`DeviceAugmented` wrapper."""

    def set_model(self, model):
        super().set_model(model.inner if isinstance(model, DeviceAugmented) else model)
