"""SRGAN trained through ``Model.fit`` with a custom ``train_step``.

``compile(g_optimizer, d_optimizer)`` passes the generator's optimizer to Keras (so LR
schedules and callbacks act on it) and keeps the discriminator's beside it; both are built
before ``fit`` so ``BackupAndRestore`` checkpoints and restores both. Losses are Keras loss
objects, which scale themselves by 1/replicas under ``tf.distribute``; logged losses are the
global means (tested equal to the single-device loss). ``ema`` > 0 keeps an exponential moving
average of the generator's weights (checkpointed with the model; :meth:`use_ema_weights` puts
it into the generator: validation during training uses the raw weights). ``lpips`` adds
``val_lpips`` to the validation metrics; ``lpips_loss`` (e.g.
:class:`~keras_sr.training.losses.LPIPSLoss`) with ``lpips_weight`` > 0 adds an LPIPS term to the
generator's loss. The discriminator runs in training mode in both updates (BN on batch
statistics, as in the paper's implementation): scoring the generator against its inference-mode
statistics gave a near-blind adversarial signal. Data: ``(lr, hr)`` float batches, or with
``device_augment=True`` uint8 HR crops that are flipped/rotated, degraded (``degrade(hr, scale, seed)``,
bicubic by default; any stateless batch degradation, e.g. ``realworld``) and scaled inside the
compiled step, with seeds from a checkpointed ``keras.random.SeedGenerator``; ``reuse`` (a
:class:`~keras_sr.training.augment.PairCache`) degrades a batch only every ``n`` steps and serves
the cached pair under distinct rotations/flips in between (``--pair-reuse``).

The same step trains Real-ESRGAN (stage 2): a per-pixel discriminator (U-Net: the BCE is the
mean over pixels), ``perceptual_loss`` (:class:`~keras_sr.training.losses.PerceptualLoss`) with
``perceptual_weight``, ``adversarial_weight`` 0.1, ``ema`` 0.999 and ``usm_targets``: the pixel,
perceptual and LPIPS terms compare against unsharp-masked HR
(:func:`keras_sr.data.realworld.usm_sharpen`), the discriminator sees the plain HR (Real-ESRGAN's
``l1_gt_usm``/``percep_gt_usm`` true, ``gan_gt_usm`` false).
"""

from __future__ import annotations

from keras_sr._backend import keras, tf
from keras_sr.data.realworld import usm_sharpen as usm_sharp

_k = keras()


@_k.saving.register_keras_serializable(package="keras_sr")
class SRGAN(_k.Model):
    """Generator + discriminator; ``call`` runs the generator (RGB in [0, 1])."""

    def __init__(self, generator, discriminator, content_loss=None, adversarial_weight: float = 1e-3,
                 pixel_weight: float = 0.0, scale: int = 4, device_augment: bool = False, ema: float = 0.0,
                 lpips=None, lpips_loss=None, lpips_weight: float = 0.0, perceptual_loss=None,
                 perceptual_weight: float = 0.0, usm_targets: bool = False, degrade=None, seed: int = 0,
                 reuse=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.content_loss = content_loss or _k.losses.MeanSquaredError()
        self.adversarial_weight = adversarial_weight
        self.pixel_weight = pixel_weight
        self.scale = scale
        self.device_augment = device_augment
        self.ema = float(ema)  # momentum of the generator-weight EMA; 0 = off
        self.lpips = lpips  # anything with LPIPS.distance (tensors): val_lpips is reported
        if lpips_weight and lpips_loss is None:
            raise ValueError("lpips_weight > 0 needs an lpips_loss (e.g. LPIPSLoss('vgg'))")
        self.lpips_loss = lpips_loss if lpips_weight else None
        self.lpips_weight = float(lpips_weight)
        if perceptual_weight and perceptual_loss is None:
            raise ValueError("perceptual_weight > 0 needs a perceptual_loss (e.g. PerceptualLoss())")
        self.perceptual_loss = perceptual_loss if perceptual_weight else None
        self.perceptual_weight = float(perceptual_weight)
        self.usm_targets = bool(usm_targets)
        self.degrade = degrade or _bicubic
        self.seeds = _k.random.SeedGenerator(seed)  # device degradation seeds (checkpointed state)
        self.aug_seed = int(seed)
        self.reuse = reuse
        if reuse is not None:
            reuse.attach(self)
        self.ema_weights = []
        names = ("g_loss", "d_loss", "content_loss", "adversarial_loss", "d_real", "d_fake", "psnr", "ssim",
                 *(("lpips_loss",) if self.lpips_loss is not None else ()),
                 *(("perceptual_loss",) if self.perceptual_loss is not None else ()),
                 *(("lpips",) if lpips is not None else ()))
        self.trackers = {n: _k.metrics.Mean(name=n) for n in names}

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer = d_optimizer
        self.bce = _k.losses.BinaryCrossentropy(from_logits=True)
        self.mse = _k.losses.MeanSquaredError()

    def build_all(self, lr_size: int = 24):
        """Build both networks and both optimizers (needed before fit/restore)."""
        import numpy as np

        x = np.zeros((1, lr_size, lr_size, self.generator.input_shape[-1]), np.float32)
        self.discriminator(self.generator(x))
        if self.ema and not self.ema_weights:  # model state (checkpointed): before build() locks it
            self.ema_weights = [self.add_weight(shape=v.shape, initializer="zeros", trainable=False,
                                                aggregation="only_first_replica", name=f"ema_{i}")
                                for i, v in enumerate(self.generator.trainable_variables)]
            for e, v in zip(self.ema_weights, self.generator.trainable_variables):
                e.assign(v)
        self.build(x.shape)
        self.optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def use_ema_weights(self) -> None:
        """Put the EMA of the generator's weights into the generator (before saving it)."""
        for e, v in zip(self.ema_weights, self.generator.trainable_variables):
            v.assign(e)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=False):
        return self.generator(x, training=training)

    def _pairs(self, data):
        t = tf()
        if not self.device_augment:
            return data

        def fresh():
            hr = t.cast(data, t.float32) / 255.0
            hr = t.image.rot90(hr, k=t.random.uniform([], 0, 4, dtype=t.int32))
            hr = t.image.random_flip_left_right(hr)
            seed = t.cast(self.seeds.next(), t.int32)
            return self.degrade(hr, self.scale, seed), hr

        if self.reuse is None:
            return fresh()
        from keras_sr.training.augment import _replica, step_seed

        step = self.optimizer.iterations
        return self.reuse.pairs(self, fresh, step, step_seed(self.aug_seed, step - step % self.reuse.n, _replica()))

    def train_step(self, data):
        t = tf()
        lr, hr = self._pairs(data)
        target = usm_sharp(hr) if self.usm_targets else hr
        # Keras 3 loss objects already scale by 1/replicas under tf.distribute (per-replica mean
        # / replicas; the all-reduce sums the gradients to those of the global mean), so the
        # losses are differentiated as they are and multiplied back by `replicas` for logging.
        replicas = t.distribute.get_strategy().num_replicas_in_sync
        batch = t.shape(hr)[0]
        with t.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            real = self.discriminator(hr, training=True)
            fake = self.discriminator(sr, training=True)
            d_loss = self.bce(t.ones_like(real), real) + self.bce(t.zeros_like(fake), fake)
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        with t.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            fake = self.discriminator(sr, training=True)
            content = self.content_loss(target, sr)
            adversarial = self.bce(t.ones_like(fake), fake)
            g_loss = content + self.adversarial_weight * adversarial
            if self.pixel_weight:
                g_loss += self.pixel_weight * self.mse(target, sr)
            if self.lpips_loss is not None:
                lpips_term = self.lpips_loss(target, sr)
                g_loss += self.lpips_weight * lpips_term
            if self.perceptual_loss is not None:
                percep_term = self.perceptual_loss(target, sr)
                g_loss += self.perceptual_weight * percep_term
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        for e, v in zip(self.ema_weights, self.generator.trainable_variables):
            e.assign(self.ema * e + (1.0 - self.ema) * v)
        r = t.cast(replicas, g_loss.dtype)
        values = {"g_loss": g_loss * r, "d_loss": d_loss * r, "content_loss": content * r,
                  "adversarial_loss": adversarial * r,
                  "d_real": t.reduce_mean(t.sigmoid(real)), "d_fake": t.reduce_mean(t.sigmoid(fake))}
        if self.lpips_loss is not None:
            values["lpips_loss"] = lpips_term * r
        if self.perceptual_loss is not None:
            values["perceptual_loss"] = percep_term * r
        for name, v in values.items():
            self.trackers[name].update_state(v, sample_weight=batch)
        return {n: self.trackers[n].result() for n in values}

    def test_step(self, data):
        t = tf()
        lr, hr = data  # validation data are always (lr, hr) pairs
        sr = t.clip_by_value(self.generator(lr, training=False), 0.0, 1.0)
        self.trackers["psnr"].update_state(t.image.psnr(hr, sr, max_val=1.0))
        self.trackers["ssim"].update_state(t.image.ssim(hr, sr, max_val=1.0))
        names = ("psnr", "ssim")
        if self.lpips is not None:
            self.trackers["lpips"].update_state(self.lpips.distance(t.cast(hr, t.float32), t.cast(sr, t.float32)))
            names += ("lpips",)
        return {n: self.trackers[n].result() for n in names}

    def get_config(self):
        return {**super().get_config(), "adversarial_weight": self.adversarial_weight,
                "pixel_weight": self.pixel_weight, "lpips_weight": self.lpips_weight, "scale": self.scale,
                "ema": self.ema, "perceptual_weight": self.perceptual_weight, "usm_targets": self.usm_targets}


def _bicubic(hr, scale: int, seed=None):
    """The paper degradation on a float batch: MATLAB-style bicubic down by ``scale``, 8-bit."""
    t = tf()
    size = t.shape(hr)[1:3] // scale
    lr = t.image.resize(hr, size, method="bicubic", antialias=True)
    return t.clip_by_value(t.round(lr * 255.0), 0.0, 255.0) / 255.0
