"""Knowledge distillation (``keras-sr distill``): a small student learns a big teacher's output.

The teacher is anything :func:`keras_sr.load_model` takes (zoo name, run folder, ``.keras``, an
imported ``.pth``/``.safetensors``/ncnn file). Its outputs are computed once into a **pool** on
disk and reused across epochs and resumes:

* entry ``i`` of the pool is a random HR crop of a training image (position and image drawn from
  ``(seed, i)``), degraded with the ``i``-th degradation of the list (``--degradation
  bicubic,light,realworld`` mixes severities entry by entry; stochastic ones seeded by ``(seed,
  i)``), the teacher run on the LR crop *with* ``POOL_MARGIN`` LR pixels of context, and the centre
  cropped: ``lr`` ``[P/s, P/s, C]``, ``teacher`` and ``hr`` ``[P, P, C]``, all uint8;
* a teacher of a larger scale ``T`` than the student's ``s`` is resampled to ``s`` with an
  antialiased Lanczos-3 filter (``tf.image.resize``, as Real-ESRGAN's ``--outscale``); a student
  scale above the teacher's is refused;
* the pool folder holds ``manifest.json`` with the **key**: the teacher's weights sha256, the
  scales, crop size, degradations and their parameters, seed and the training file list's sha256.
  A pool made with another key is deleted and rebuilt, never mixed; a pool of the same key grows
  (entries are a pure function of ``(key, i)``), and chunks are written atomically, so a killed
  build continues where it stopped.

Training batches are pool entries, shuffled, with one random rotation/flip per batch applied to
LR, teacher and HR alike. The loss (:class:`DistillLoss`) is ``teacher_weight`` x L1 to the
teacher's output + ``hr_weight`` x L1 to HR + ``perceptual_weight`` x VGG16 perceptual distance
to the teacher's output + ``lpips_weight`` x LPIPS (``lpips_net``, VGG by default: not the AlexNet
LPIPS evaluates with) to the teacher's output + ``color_weight`` x L1 between 8x8-pixel means of the output and of HR
(the colour of the HR, the detail of the teacher: Real-ESRGAN's models add a cast of ~2 levels of
channel mean, measured on the severity ladder); the labels are the teacher and HR crops stacked
on the channel axis.
Metrics: ``psnr`` (to the teacher) and ``psnr_hr``.

**GAN stage** (``--adv-weight`` > 0, :func:`gan_stage`): the student is trained through
:class:`~keras_sr.training.gan.SRGAN`'s own ``train_step`` on the same pool batches, with the
teacher's output as the discriminator's "real": :class:`DistillGAN` hands SRGAN the labels as they
are (teacher and HR stacked), its content loss is :class:`DistillLoss` (every term above, the
perceptual one included), and its discriminator is wrapped in :class:`TeacherChannels`, which
keeps the first ``C`` channels of what it scores: the teacher's crops of a label, all of an output.
The discriminator is Real-ESRGAN's U-Net (``--d-filters``), built from scratch at every new run;
both networks take Adam with ``--lr``; ``--ema`` saves the EMA of the student's weights.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from keras_sr._backend import keras, tf
from keras_sr.errors import KerasSRError, ModelLoadError, UsageError
from keras_sr.training.gan import SRGAN

POOL_MARGIN = 4  # LR pixels of context the teacher sees around each crop
CHUNK = 32  # entries per pool file (and per teacher batch)
COLOR_POOL = 8  # HR pixels per side of the local means the colour term compares
VAL_SEED_OFFSET = 7_000_001

_k = keras()


# ---------------------------------------------------------------- teacher

def load_teacher(source, student_scale: int, channels: int):
    """The teacher as a Keras model, checked against the student: one line (exit 2) when it cannot
    be loaded, has other channels, or a smaller scale than the student."""
    from keras_sr.models.loading import load_model

    try:
        teacher = load_model(source)
    except KerasSRError as exc:
        raise UsageError(f"teacher {source}: {exc}") from None
    info = teacher.sr_info
    if info.input_mode != "lr" or not info.scale:
        raise UsageError(f"teacher {source} is not an LR-space model of a known scale "
                         f"(input mode {info.input_mode}, scale {info.scale})")
    if info.channels != channels:
        raise UsageError(f"teacher {source} has {info.channels} channel(s) ({info.color_space}); the student "
                         f"has {channels} (--color-space)")
    if student_scale > info.scale:
        raise UsageError(f"student x{student_scale} is above the teacher's x{info.scale}: a teacher can only be "
                         "resampled down")
    return teacher


def weights_sha256(model) -> str:
    """sha256 of a model's weights (float32 bytes in layer order): the teacher's identity."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w, np.float32).tobytes())
    return h.hexdigest()


def teacher_file_sha256(source) -> str | None:
    """sha256 of the teacher's file as given (an ncnn ``.param``: of the ``.bin`` beside it),
    None for a zoo name that is not a path here."""
    from keras_sr.data.io import sha256_file

    path = Path(source)
    if path.is_dir():
        path = path / "model.keras"
    if path.suffix.lower() == ".param":
        path = path.with_suffix(".bin")
    if not path.is_file():
        from keras_sr.zoo import zoo_path

        try:
            path = zoo_path(str(source))
        except KerasSRError:
            return None
    return sha256_file(path)


def teacher_license(teacher, given: str | None) -> str:
    """The teacher's licence: ``given`` (``--teacher-license``), else the licence its record or card
    names, else ``"unknown"`` with a one-line warning (non-commercial ones warn too)."""
    record = teacher.sr_info.record or {}
    found = given or record.get("license") or (record.get("card") or {}).get("license")
    if not found:
        print(f"Warning: the teacher's licence is unknown ({teacher.sr_info.source or teacher.name}); the "
              "student's card says so. Name it with --teacher-license", file=sys.stderr)
        return "unknown"
    if any(w in found.lower() for w in ("nc", "non-commercial", "noncommercial")):
        print(f"Warning: the teacher's licence is {found}: the student may not be usable commercially",
              file=sys.stderr)
    return found


def resample(images, size):
    """Antialiased Lanczos-3 resize of ``[N, H, W, C]`` float images to ``size`` (clipped to [0, 1])."""
    t = tf()
    return t.clip_by_value(t.image.resize(images, size, method="lanczos3", antialias=True), 0.0, 1.0)


def init_from_teacher(student, teacher) -> int:
    """Copy the teacher's first weighted layers into the student, in order, while shapes match
    ("fewer convs: drop layers, then distil": an SRVGG 64 x 7 keeps general-x4v3's first conv and 7
    body convs with their PReLUs). The output conv is copied only when nothing was dropped; else it
    is zeroed, so the student starts exactly at its nearest-neighbour base and learns the residual
    from the teacher's early features. Measured on general-x4v3 cut to 64 x 7, mean |student -
    teacher| on a [0, 1] photo crop: 0.022 from scratch, 3.92 with the kept layers and a fresh output
    conv, more with the teacher's own output conv (it reads features of layer 32, not 8): the kept
    features are large, so any non-zero output conv starts far off. Returns how many layers were
    copied (0: nothing fits)."""
    weighted = lambda m: [layer for layer in m.layers if layer.weights]  # noqa: E731
    s_layers, t_layers = weighted(student), weighted(teacher)
    copied = 0
    for s_layer, t_layer in zip(s_layers[:-1], t_layers[:-1]):
        src = t_layer.get_weights()
        if [w.shape for w in src] != [tuple(w.shape) for w in s_layer.weights]:
            break
        s_layer.set_weights(src)
        copied += 1
    src = t_layers[-1].get_weights()
    if copied == len(t_layers) - 1 == len(s_layers) - 1 and \
            [w.shape for w in src] == [tuple(w.shape) for w in s_layers[-1].weights]:
        s_layers[-1].set_weights(src)
        copied += 1
    elif copied:
        s_layers[-1].set_weights([np.zeros(tuple(w.shape), np.float32) for w in s_layers[-1].weights])
    return copied


# ---------------------------------------------------------------- pool

def degradations(spec: str) -> list[str]:
    """``bicubic,light,realworld`` -> the list of names (each checked)."""
    from keras_sr.data.degradations import get_degradation

    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UsageError("--degradation names no degradation")
    for n in names:
        get_degradation(n)
    return names


def pool_key(teacher_sha: str, teacher_scale: int, cfg, files_sha: str, validation: bool) -> dict:
    """Everything an entry depends on, except how many entries there are."""
    return {"teacher_weights_sha256": teacher_sha, "teacher_scale": teacher_scale, "scale": cfg.factor,
            "patch_size": cfg.patch_size, "margin": POOL_MARGIN, "degradations": degradations(cfg.degradation),
            "degradation_params": cfg.degradation_params or {}, "color_space": cfg.color_space,
            "seed": cfg.seed + (VAL_SEED_OFFSET if validation else 0), "files_sha256": files_sha, "version": 1}


def _entry_hr(images, i: int, seed: int, crop: int):
    """The HR crop ``[crop, crop, C]`` uint8 of entry ``i`` (image and position from ``(seed, i)``)."""
    rng = np.random.default_rng([seed, i])
    img = images[int(rng.integers(len(images)))]
    y = int(rng.integers(0, img.shape[0] - crop + 1))
    x = int(rng.integers(0, img.shape[1] - crop + 1))
    return img[y:y + crop, x:x + crop]


_DEGRADE_FNS: dict = {}


def _degrade(hr_u8, name: str, scale: int, seed, params):
    """One HR crop -> its 8-bit LR (float [0, 1]) with degradation ``name`` (a compiled graph per
    degradation and crop size: eager op-by-op execution of the realworld chain is ~10x slower)."""
    t = tf()
    key = (name, scale, json.dumps(params or {}, sort_keys=True))
    if key not in _DEGRADE_FNS:
        from keras_sr.data.degradations import get_degradation

        deg = get_degradation(name)
        if deg.stochastic:
            # the pool's overrides are for the two-stage chain (realworld, realworld-accurate)
            p = deg.resolve_params(params) if name.startswith("realworld") else None
            fn = lambda hr, s: deg.downscale(hr, scale, seed=s, params=p)  # noqa: E731
        else:
            fn = lambda hr, s: deg.downscale(hr, scale, quantize_output=True)  # noqa: E731
        _DEGRADE_FNS[key] = t.function(fn)
    hr = t.constant(hr_u8[None], t.float32) / 255.0
    return _DEGRADE_FNS[key](hr, t.constant(seed, t.int64))[0]


def build_pool(folder, teacher, images, key: dict, size: int, batch: int = CHUNK, progress: bool = True) -> dict:
    """Make (or complete) the pool of ``size`` entries in ``folder`` for ``key``; return the manifest.

    ``images``: decoded uint8 ``[H, W, C]`` arrays in the model's colour space, each at least a crop
    in size. A folder whose manifest has another key is emptied first (a note on stderr)."""
    t = tf()
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if old.get("key") != key:
            print(f"Note: {folder} was built for another teacher or setting; rebuilding it", file=sys.stderr)
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from keras_sr.data.io import atomic_write_text

    manifest = {"key": key, "chunk": CHUNK}
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    s, ts, p, m = key["scale"], key["teacher_scale"], key["patch_size"], key["margin"]
    lr_in = p // s + 2 * m  # LR crop with context
    crop = lr_in * s
    names, params = key["degradations"], key["degradation_params"]
    n_chunks = (size + CHUNK - 1) // CHUNK
    todo = [c for c in range(n_chunks) if not (folder / f"chunk_{c:05d}.npz").exists()]
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo) * CHUNK, desc=f"teacher pool ({folder.name})", unit="crop", file=sys.stderr)
    for c in todo:
        ids = range(c * CHUNK, (c + 1) * CHUNK)
        hrs = [_entry_hr(images, i, key["seed"], crop) for i in ids]
        lrs = [_degrade(hr, names[i % len(names)], s, [key["seed"], i], params) for hr, i in zip(hrs, ids)]
        lr = t.stack(lrs)
        outs = [teacher(lr[j:j + batch], training=False) for j in range(0, CHUNK, batch)]
        out = t.clip_by_value(t.cast(t.concat(outs, 0), t.float32), 0.0, 1.0)
        if ts != s:
            out = resample(out, (crop, crop))
        o = m * s
        entry = {
            "lr": _u8(lr[:, m:m + p // s, m:m + p // s]),
            "teacher": _u8(out[:, o:o + p, o:o + p]),
            "hr": np.stack([h[o:o + p, o:o + p] for h in hrs]),
        }
        tmp = folder / f".chunk_{c:05d}.tmp.npz"
        np.savez(tmp, **entry)
        tmp.replace(folder / f"chunk_{c:05d}.npz")
        if bar is not None:
            bar.update(CHUNK)
    if bar is not None:
        bar.close()
    return manifest


def _u8(x) -> np.ndarray:
    return np.asarray(np.clip(np.round(np.asarray(x) * 255.0), 0, 255), np.uint8)


def read_pool(folder, size: int) -> dict:
    """The first ``size`` entries of a built pool as uint8 arrays ``lr``, ``teacher``, ``hr``."""
    folder = Path(folder)
    parts = {"lr": [], "teacher": [], "hr": []}
    for c in range((size + CHUNK - 1) // CHUNK):
        with np.load(folder / f"chunk_{c:05d}.npz") as z:
            for k in parts:
                parts[k].append(z[k])
    return {k: np.concatenate(v)[:size] for k, v in parts.items()}


def pool_dataset(pool: dict, batch_size: int, seed: int, training: bool):
    """``(lr, concat(teacher, hr))`` float batches from a pool; training: repeated, shuffled, one
    random rotation/flip per batch on all three (:func:`keras_sr.data.pipeline.dihedral_pairs`)."""
    t = tf()
    from keras_sr.data.pipeline import dihedral_pairs

    ds = t.data.Dataset.from_tensor_slices((pool["lr"], np.concatenate([pool["teacher"], pool["hr"]], -1)))
    if training:
        ds = ds.repeat().shuffle(len(pool["lr"]), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=training)
    ds = ds.map(lambda x, y: (t.cast(x, t.float32) / 255.0, t.cast(y, t.float32) / 255.0))
    if training:
        ds = t.data.Dataset.zip((ds, t.data.Dataset.random(seed=seed + 11).batch(2)))
        ds = ds.map(lambda pair, s: dihedral_pairs(*pair, s), num_parallel_calls=t.data.AUTOTUNE)
    return ds.prefetch(t.data.AUTOTUNE)


# ---------------------------------------------------------------- loss and metrics

@_k.saving.register_keras_serializable(package="keras_sr")
class DistillLoss(_k.losses.Loss):
    """``teacher_weight`` L1(SR, teacher) + ``hr_weight`` L1(SR, HR) + ``perceptual_weight``
    perceptual(teacher, SR) + ``lpips_weight`` LPIPS(teacher, SR) + ``color_weight`` colour term,
    with ``y_true`` = teacher and HR stacked on the channel axis. The feature networks run at
    ``precision`` (bf16: their convolutions; every difference and the loss in float32)."""

    def __init__(self, teacher_weight: float = 1.0, hr_weight: float = 0.0, perceptual_weight: float = 0.0,
                 vgg_weights: str | None = None, color_weight: float = 0.0, precision: str = "fp32",
                 lpips_weight: float = 0.0, lpips_net: str = "vgg", lpips_weights: str | None = None,
                 name: str = "distill", **kwargs):
        super().__init__(name=name, **kwargs)
        self.teacher_weight, self.hr_weight, self.perceptual_weight = teacher_weight, hr_weight, perceptual_weight
        self.color_weight = color_weight
        self.vgg_weights = vgg_weights
        self.precision = precision
        self.perceptual = None
        if perceptual_weight:
            from keras_sr.training.losses import PerceptualLoss

            self.perceptual = PerceptualLoss(vgg_weights, precision=precision)
        self.lpips_weight, self.lpips_net, self.lpips_weights = lpips_weight, lpips_net, lpips_weights
        self.lpips = None
        if lpips_weight:
            from keras_sr.training.losses import LPIPSLoss

            self.lpips = LPIPSLoss(lpips_net, lpips_weights, precision=precision)

    def call(self, y_true, y_pred):
        ops = _k.ops
        c = ops.shape(y_pred)[-1]
        teacher, hr = y_true[..., :c], y_true[..., c:]
        loss = self.teacher_weight * ops.mean(ops.abs(y_pred - teacher), axis=[1, 2, 3])
        if self.hr_weight:
            loss = loss + self.hr_weight * ops.mean(ops.abs(y_pred - hr), axis=[1, 2, 3])
        if self.perceptual is not None:
            loss = loss + self.perceptual_weight * self.perceptual.call(teacher, y_pred)
        if self.lpips is not None:
            loss = loss + self.lpips_weight * self.lpips.call(teacher, y_pred)
        if self.color_weight:  # local colour (8x8 HR-pixel means) of the HR, not the teacher's cast
            pool = lambda v: ops.average_pool(v, COLOR_POOL, COLOR_POOL, padding="valid")  # noqa: E731
            loss = loss + self.color_weight * ops.mean(ops.abs(pool(y_pred) - pool(hr)), axis=[1, 2, 3])
        return loss

    def get_config(self):
        return {**super().get_config(), "teacher_weight": self.teacher_weight, "hr_weight": self.hr_weight,
                "perceptual_weight": self.perceptual_weight, "vgg_weights": self.vgg_weights,
                "color_weight": self.color_weight, "precision": self.precision, "lpips_weight": self.lpips_weight,
                "lpips_net": self.lpips_net, "lpips_weights": self.lpips_weights}


def _psnr(y_true, y_pred):
    from keras_sr.evaluation.metrics import psnr_metric

    return psnr_metric(y_true, y_pred)


def psnr_to_teacher(y_true, y_pred):
    """PSNR (dB, [0, 1] RGB/Y, no border crop) of the student's output to the teacher's."""
    return _psnr(y_true[..., :y_pred.shape[-1]], y_pred)


def psnr_to_hr(y_true, y_pred):
    """PSNR (dB, [0, 1] RGB/Y, no border crop) of the student's output to the HR crop."""
    return _psnr(y_true[..., y_pred.shape[-1]:], y_pred)


psnr_to_teacher.__name__ = "psnr"
psnr_to_hr.__name__ = "psnr_hr"


# ---------------------------------------------------------------- the trainer's entry points

def load_images(files, color_space: str, min_size: int) -> list:
    from keras_sr.data.pipeline import load_model_space

    images = [load_model_space(f, color_space) for f in files]
    return [im for im in images if min(im.shape[:2]) >= min_size]


def prepare(cfg, out: Path, train_files, val_files, channels: int, data_sha: str):
    """Load the teacher, build (or complete) the training and validation pools in ``out``; return
    ``(train_ds, val_ds, teacher_record, teacher)``."""
    import time

    teacher = load_teacher(cfg.teacher, cfg.factor, channels)
    sha = weights_sha256(teacher)
    record = {"source": cfg.teacher, "architecture": teacher.sr_info.architecture, "scale": teacher.sr_info.scale,
              "params": int(teacher.count_params()), "weights_sha256": sha,
              "file_sha256": teacher_file_sha256(cfg.teacher),
              "license": teacher_license(teacher, cfg.teacher_license)}
    crop = (cfg.patch_size // cfg.factor + 2 * POOL_MARGIN) * cfg.factor
    t0 = time.time()
    pools = {}
    for name, files, size in (("pool", train_files, cfg.pool_size),
                              ("pool_val", val_files, max(CHUNK, min(cfg.pool_size // 8, 128)))):
        images = load_images(files, cfg.color_space, crop)
        if not images:
            raise KerasSRError(f"no {'training' if name == 'pool' else 'validation'} image is at least "
                               f"{crop}x{crop} px (the crop with the teacher's context)")
        key = pool_key(sha, teacher.sr_info.scale, cfg, data_sha, validation=name != "pool")
        build_pool(out / name, teacher, images, key, size)
        pools[name] = read_pool(out / name, size)
    record["pool"] = {"size": cfg.pool_size, "val_size": len(pools["pool_val"]["lr"]),
                      "degradations": degradations(cfg.degradation), "margin_lr_px": POOL_MARGIN,
                      "built_or_checked_s": round(time.time() - t0, 1)}
    train_ds = pool_dataset(pools["pool"], cfg.batch_size, cfg.seed, training=True)
    val_ds = pool_dataset(pools["pool_val"], cfg.batch_size, cfg.seed, training=False)
    return train_ds, val_ds, record, teacher


def loss_and_metrics(cfg):
    lpips_weights = None
    if cfg.lpips_weight:
        from keras_sr.training.trainer import _alex_weights

        lpips_weights = cfg.vgg_weights if cfg.lpips_net == "vgg" else _alex_weights(cfg)
    return (DistillLoss(cfg.teacher_weight, cfg.hr_weight, cfg.perceptual_weight, cfg.vgg_weights, cfg.color_weight,
                        precision=cfg.precision, lpips_weight=cfg.lpips_weight or 0.0, lpips_net=cfg.lpips_net,
                        lpips_weights=lpips_weights),
            [psnr_to_teacher, psnr_to_hr])


# ---------------------------------------------------------------- the GAN stage

class TeacherChannels(_k.Model):
    """A discriminator scoring the first ``channels`` channels of its input: the teacher's crops of a
    stacked ``(teacher, HR)`` label, the whole of a student's output."""

    def __init__(self, critic, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.critic, self.channels = critic, channels

    def call(self, x, training=False):
        return self.critic(x[..., :self.channels], training=training)


class DistillGAN(SRGAN):
    """:class:`~keras_sr.training.gan.SRGAN` on pool batches ``(lr, concat(teacher, hr))``: its
    ``train_step`` unchanged, the discriminator reading the teacher channels (real) and the content
    loss a :class:`DistillLoss`; validation reports ``psnr`` to the teacher, ``ssim`` and ``psnr_hr``."""

    def __init__(self, generator, critic, content_loss, adversarial_weight: float, ema: float = 0.0,
                 scale: int = 4, seed: int = 0, **kwargs):
        channels = generator.output_shape[-1]
        super().__init__(generator, TeacherChannels(critic, channels, name="teacher_channels"), content_loss,
                         adversarial_weight, scale=scale, ema=ema, seed=seed, **kwargs)
        self.trackers["psnr_hr"] = _k.metrics.Mean(name="psnr_hr")

    def test_step(self, data):
        t = tf()
        lr, y = data
        sr = t.clip_by_value(self.generator(lr, training=False), 0.0, 1.0)
        c = sr.shape[-1]
        for name, ref in (("psnr", y[..., :c]), ("psnr_hr", y[..., c:])):
            self.trackers[name].update_state(t.image.psnr(ref, sr, max_val=1.0))
        self.trackers["ssim"].update_state(t.image.ssim(y[..., :c], sr, max_val=1.0))
        return {n: self.trackers[n].result() for n in ("psnr", "ssim", "psnr_hr")}


def gan_stage(cfg, generator, channels: int, lr):
    """The compiled, built :class:`DistillGAN` around ``generator`` (the student, at the training
    precision) with a fresh U-Net discriminator of ``cfg.d_filters`` (at the same precision)."""
    from keras_sr.models import unet_discriminator
    from keras_sr.training.precision import with_precision

    if not cfg.init and not cfg.init_from_teacher:
        print("Warning: GAN stage on a fresh student; it usually follows a plain distill run (--init RUN)",
              file=sys.stderr)
    critic = with_precision(unet_discriminator(channels, filters=cfg.d_filters), cfg.precision)
    content, _ = loss_and_metrics(cfg)
    gan = DistillGAN(generator, critic, content, cfg.adv_weight, ema=cfg.ema, scale=cfg.factor, seed=cfg.seed)
    gan.compile(g_optimizer=_k.optimizers.Adam(learning_rate=lr, beta_1=0.9),
                d_optimizer=_k.optimizers.Adam(learning_rate=lr, beta_1=0.9), jit_compile="auto")
    gan.build_all(max(8, cfg.patch_size // cfg.factor))
    return gan
