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

Pair reuse (``--pair-reuse N``, :class:`PairCache`): the step degrades a batch only when the
optimizer step is a multiple of ``N`` and keeps the pair in per-replica variables; each of the
``N`` steps of that group serves the cached pair under one of the 8 rotations/flips
(:func:`dihedral`, the transforms the ``tf.data`` path draws, applied alike to LR and HR), a
different one per step for each image (:func:`reuse_codes`). The degradation then costs ``1/N``
per step; each pair is distributed as a fresh one (the fresh pairs are uniformly rotated/flipped
before the degradation, whose draws are rotation/flip-invariant in distribution), consecutive
batches are not independent. Everything is in the graph (``tf.cond`` on the step counter), the
cache is checkpointed with the model, so a resumed run continues the group it stopped in.
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


DIHEDRAL = 8  # rotations/flips of a square


def dihedral(x, codes):
    """Each image of the square batch ``x`` ``[B, S, S, C]`` under its code in ``codes`` ``[B]``
    (0..7): bit 2 transposes, bit 1 flips left-right, bit 0 flips up-down, which gives the 8
    rotations/flips (``rot90`` by 0..3 with and without a flip)."""
    t = tf()
    c = t.reshape(t.cast(codes, t.int32), [-1, 1, 1, 1])
    x = t.where(c // 4 == 1, t.transpose(x, [0, 2, 1, 3]), x)
    x = t.where(c // 2 % 2 == 1, t.reverse(x, axis=[2]), x)
    return t.where(c % 2 == 1, t.reverse(x, axis=[1]), x)


def reuse_codes(seed, batch, n: int):
    """``[batch, n]`` int32 :func:`dihedral` codes from ``seed``: per image the first ``n`` of a
    random permutation of the 8, so no two uses of an image share a transform."""
    t = tf()
    return t.argsort(t.random.stateless_uniform([batch, DIHEDRAL], seed), axis=1)[:, :n]


def _replica():
    ctx = tf().distribute.get_replica_context()
    return ctx.replica_id_in_sync_group if ctx is not None else 0


class PairCache:
    """The degraded batch of one step kept for ``n`` steps (see the module docstring).

    ``lr_shape``/``hr_shape`` are the per-replica batch shapes. The variables are ``ON_READ``
    (each replica keeps its own pair) and are set as attributes of the owning model by
    :meth:`attach`, so Keras tracks and checkpoints them. A checkpoint keeps the first replica's
    pair: a run resumed in the middle of a group on several replicas serves that pair on each
    of them until the group ends."""

    def __init__(self, n: int, lr_shape, hr_shape):
        if not 1 < n <= DIHEDRAL:
            raise ValueError(f"pair reuse on the device takes 2..{DIHEDRAL} distinct rotations/flips, got {n}")
        if lr_shape[1] != lr_shape[2] or hr_shape[1] != hr_shape[2]:
            raise ValueError("pair reuse on the device needs square crops")
        self.n = int(n)
        self.lr_shape, self.hr_shape = tuple(lr_shape), tuple(hr_shape)

    def attach(self, model) -> None:
        def var(shape, name):
            return _k.Variable(initializer="zeros", shape=shape, dtype="float32", trainable=False, autocast=False,
                               synchronization="on_read", aggregation="only_first_replica", name=name)

        model.reuse_lr, model.reuse_hr = var(self.lr_shape, "reuse_lr"), var(self.hr_shape, "reuse_hr")

    def pairs(self, model, fresh, step, seed):
        """``(lr, hr)`` of ``step``: ``fresh()`` (the degradation) runs when ``step % n == 0`` and
        fills the cache; every step returns the cached pair under its transform. ``seed``: the
        stateless seed of the group's first step (same for all ``n`` steps)."""
        t = tf()
        j = t.cast(step % self.n, t.int32)

        def refill():
            lr, hr = fresh()
            lr, hr = t.ensure_shape(lr, self.lr_shape), t.ensure_shape(hr, self.hr_shape)
            with t.control_dependencies([model.reuse_lr.value.assign(lr), model.reuse_hr.value.assign(hr)]):
                return t.identity(lr), t.identity(hr)

        lr, hr = t.cond(j == 0, refill, lambda: (t.identity(model.reuse_lr.value), t.identity(model.reuse_hr.value)))
        codes = t.gather(reuse_codes(t.random.experimental.stateless_fold_in(seed, DIHEDRAL), self.lr_shape[0],
                                     self.n), j, axis=1)
        return dihedral(lr, codes), dihedral(hr, codes)


@_k.saving.register_keras_serializable(package="keras_sr")
class DeviceAugmented(_k.Model):
    """``model`` trained on uint8 HR crops that are augmented and degraded in the step;
    validation data stay ``(lr, hr)`` pairs. ``call`` runs ``model``. ``reuse``: a
    :class:`PairCache` (each degraded pair serves its ``n`` steps), None = a fresh pair per step."""

    def __init__(self, model, scale: int, degradation: str, seed: int = 0, params=None, reuse=None, **kwargs):
        super().__init__(**kwargs)
        self.inner = model
        self.scale = int(scale)
        self.degradation = degradation
        self.aug_seed = int(seed)
        self.rw_params = params
        self.reuse = reuse
        if reuse is not None:
            reuse.attach(self)

    def call(self, x, training=False):
        return self.inner(x, training=training)

    def build_compiled(self, channels: int) -> None:
        """Build the compiled loss and metrics on a pair (after ``compile``). Under tf.distribute
        ``fit()`` builds them from its first batch, which here holds HR crops only (no label)."""
        import numpy as np

        x = np.zeros((1, 8, 8, channels), np.float32)
        y_pred = self(x)
        y = np.zeros(y_pred.shape, np.float32)
        self.compute_loss(x, y, y_pred)
        self.compute_metrics(x, y, y_pred)
        self.reset_metrics()

    def pairs(self, data):
        step, replica = self.optimizer.iterations, _replica()
        if self.reuse is None:
            return device_pairs(data, self.scale, self.degradation, step_seed(self.aug_seed, step, replica),
                                self.rw_params)
        first = step - step % self.reuse.n  # the group's first step: its degradation seed is reuse 1's
        seed = step_seed(self.aug_seed, first, replica)
        return self.reuse.pairs(self, lambda: device_pairs(data, self.scale, self.degradation, seed, self.rw_params),
                                step, seed)

    def train_step(self, data):
        lr, hr = self.pairs(data)
        return super().train_step((lr, hr))


class InnerCheckpoint(_k.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` that saves the model inside a :class:`DeviceAugmented` wrapper."""

    def set_model(self, model):
        super().set_model(model.inner if isinstance(model, DeviceAugmented) else model)
