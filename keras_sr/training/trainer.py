"""``train``: build or load a model, feed it the tf.data pipeline through ``fit()``.

The run folder (``cfg.out``) holds: ``config.json`` (resolved :class:`TrainConfig`),
``log.csv`` and ``curves.png`` (per epoch), ``backup/`` while a run is in progress
(``BackupAndRestore``, saved after an epoch at most every 30 s: re-running the same command after a
crash or ``kill -9`` continues from the last saved epoch, the log trimmed to it), and at the end ``model.keras`` (best validation PSNR,
with its :class:`~keras_sr.models.ModelInfo` embedded) and ``record.json``.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from keras_sr import __version__
from keras_sr._backend import keras, tf
from keras_sr.data.color import COLOR_SPACES
from keras_sr.data.degradations import get_degradation
from keras_sr.data.io import atomic_write_text, list_images
from keras_sr.data.pipeline import (PairedFiles, PipelineConfig, Shards, count_batches, hr_crop_dataset,
                                    match_pairs, min_image_size, scan_images, split_files, training_dataset,
                                    validation_dataset)
from keras_sr.data.shards import is_shard_folder, read_manifest
from keras_sr.data.samples import sample_files
from keras_sr.errors import KerasSRError, UsageError
from keras_sr.evaluation.metrics import psnr_metric
from keras_sr.inference import SUPPORTED_SCALES, check_compatibility
from keras_sr.models import ModelInfo, border, build_model, get_architecture, save_with_info
from keras_sr.training.callbacks import (backup_epoch, curve_plot_callback, epoch_timer, plot_curves, read_log,
                                         throttled_backup, trim_log)
from keras_sr.training import distributed, provenance
from keras_sr.training.config import GAN_DISCRIMINATORS, TrainConfig
from keras_sr.training.losses import pixel_loss
from keras_sr.training.precision import check_support, optimizer_for, with_precision


def _write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def data_record(files, roots=()) -> dict:
    """sha256 per file (path relative to its ``--data`` root), per dataset and of the whole
    list; see :func:`keras_sr.training.provenance.data_record`."""
    return provenance.data_record(files, roots)


def versions() -> dict:
    return {"keras_sr": __version__, "tensorflow": tf().__version__, "keras": keras().__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _check_config(cfg: TrainConfig) -> None:
    spec = get_architecture(cfg.arch)
    if cfg.factor not in SUPPORTED_SCALES:
        raise UsageError(f"factor must be one of {', '.join(map(str, SUPPORTED_SCALES))}, got {cfg.factor}")
    if cfg.teacher is not None:  # a list of degradations mixed entry by entry in the teacher pool
        from keras_sr.training.distill import degradations

        if spec.input_mode != "lr":
            raise UsageError(f"distill students are LR-space models; {cfg.arch} pre-upsamples its input")
        names = degradations(cfg.degradation)
        deg = get_degradation(next((n for n in names if get_degradation(n).stochastic), names[0]))
    else:
        deg = get_degradation(cfg.degradation)
    if cfg.degradation_params:
        deg.resolve_params(cfg.degradation_params)  # validated: a one-line UsageError
    if deg.stochastic and cfg.lr_data:
        raise UsageError(f"--lr-data gives the LR images; --degradation {cfg.degradation} would not be applied")
    if deg.stochastic and cfg.patch_mode == "sliding":
        raise UsageError(f"--degradation {cfg.degradation} needs random patches (not --patch-mode sliding)")
    if cfg.color_space not in COLOR_SPACES:
        raise UsageError(f"unknown colour space {cfg.color_space!r}; known: {', '.join(COLOR_SPACES)}")
    if cfg.pixel_weight < 0:
        raise UsageError(f"--pixel-weight must be >= 0, got {cfg.pixel_weight}")
    if cfg.lpips_weight < 0:
        raise UsageError(f"--lpips-weight must be >= 0, got {cfg.lpips_weight}")
    for name in ("epochs", "batch_size", "patch_size", "d_filters"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"{name.replace('_', '-')} must be >= 1, got {getattr(cfg, name)}")
    if cfg.lr <= 0:
        raise UsageError(f"learning rate must be > 0, got {cfg.lr}")
    import inspect

    takes = inspect.signature(spec.builder).parameters
    for name in cfg.arch_kwargs:
        if name not in takes:
            raise UsageError(f"{cfg.arch} takes no --{name}")
    if spec.input_mode == "lr" and cfg.patch_mode == "sliding":
        raise UsageError("sliding-window patches are only for pre-upsampling models (SRCNN)")
    if cfg.lr_data:
        if not cfg.data:
            raise UsageError("--lr-data needs the matching HR folders as --data")
        if len(cfg.data) == 1 and is_shard_folder(cfg.data[0]):
            raise UsageError("--lr-data pairs image folders; TFRecord shards hold HR images only")
        if cfg.patch_mode == "sliding":
            raise UsageError("paired LR/HR data needs random patches (not --patch-mode sliding)")
        if cfg.augment_on == "device":
            raise UsageError("--augment-on device degrades HR on the device; with --lr-data use pipeline")


def _same_config(saved: dict, cfg: TrainConfig) -> bool:
    """``saved`` (a run's config.json) describes ``cfg``; options added to keras_sr after the run
    was started count as equal when ``cfg`` leaves them at their defaults."""
    now = json.loads(json.dumps(cfg.to_dict()))
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    return all(saved[k] == v if k in saved else v == defaults.get(k) for k, v in now.items()) \
        and set(saved) <= set(now)


def _prepare_out(cfg: TrainConfig, overwrite: bool) -> tuple[Path, bool]:
    """Create the run folder; return (folder, resuming)."""
    out = Path(cfg.out)
    backup = out / "backup"
    resuming = backup.exists() and any(backup.iterdir())
    if out.exists() and not out.is_dir():
        raise KerasSRError(f"--out exists and is not a folder: {out}")
    if resuming and not overwrite:
        saved = out / "config.json"
        if saved.exists() and not _same_config(json.loads(saved.read_text()), cfg):
            raise KerasSRError(f"{out} holds an interrupted run with a different config; "
                               "re-run it with the same options, or use another --out")
        return out, True
    if (out / "model.keras").exists() or resuming:
        if not overwrite:
            raise KerasSRError(f"{out} already holds a finished run (use --overwrite or another --out)")
        for name in ("backup", "model.keras", "best.keras", "log.csv", "curves.png", "record.json"):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise KerasSRError(f"cannot write to output folder {out}: {exc.strerror or exc}") from None
    return out, False


def _initial_model(cfg: TrainConfig, channels: int):
    """Build the model; with ``--init`` copy every layer whose name and weight shapes match
    (all of them for the same architecture and scale; e.g. all but the upscaling layer when
    an FSRCNN x3 starts from x2, as in the FSRCNN paper)."""
    model = build_model(cfg.arch, cfg.factor, channels=channels, **cfg.arch_kwargs)
    if not cfg.init:
        return model
    from keras_sr.models.loading import load_model

    init = load_model(cfg.init)
    if (cfg.arch in ("srresnet", *GAN_DISCRIMINATORS) and init.sr_info.scale
            and init.sr_info.scale != cfg.factor):
        raise UsageError(f"--init model is x{init.sr_info.scale}; {cfg.arch} x{cfg.factor} needs a "
                         f"x{cfg.factor} model")
    check_compatibility(init.sr_info, scale=cfg.factor, degradation=cfg.degradation)
    source = {layer.name: layer for layer in init.layers}
    copied, weighted = 0, 0
    for layer in model.layers:
        if not layer.weights:
            continue
        weighted += 1
        other = source.get(layer.name)
        if other is None:
            continue
        src = other.get_weights()
        if [w.shape for w in src] == [tuple(w.shape) for w in layer.weights]:
            layer.set_weights(src)
            copied += 1
    if copied == 0:
        raise UsageError(f"--init model {cfg.init} shares no layer (name and shape) with "
                         f"{cfg.arch} x{cfg.factor}")
    if copied < weighted:
        last = [layer for layer in model.layers if layer.weights][-1]
        other = source.get(last.name)
        zeroed = other is None or [w.shape for w in other.get_weights()] != [tuple(w.shape) for w in last.weights]
        if zeroed:  # A fresh output layer on trained features starts far off (an SRVGG x2 from an x4
            # model: PSNR 14 dB after its first 250 steps, measured); zeroed, the model starts at its
            # base (SRVGG/ABPN: the upscaled input) and the layer learns from there.
            last.set_weights([np.zeros(tuple(w.shape), np.float32) for w in last.weights])
        print(f"--init: copied {copied} of {weighted} layers from {cfg.init}; the others start "
              f"from scratch{' (the output layer at zero)' if zeroed else ''}", file=sys.stderr)
    return model


def get_strategy(name: str):
    """A ``tf.distribute`` strategy by name (``multiworker`` reads ``TF_CONFIG``)."""
    t = tf()
    if name == "default":
        return t.distribute.get_strategy()
    if name == "mirrored":
        return t.distribute.MirroredStrategy()
    if name == "multiworker":  # malformed TF_CONFIG: UsageError; unreachable peers: timeout
        return distributed.multiworker_strategy()
    if name == "tpu":
        try:
            resolver = t.distribute.cluster_resolver.TPUClusterResolver()
            t.config.experimental_connect_to_cluster(resolver)
            t.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError) as exc:
            raise KerasSRError(f"no TPU available: {str(exc).splitlines()[0]}") from None
        return t.distribute.TPUStrategy(resolver)
    raise UsageError(f"unknown strategy {name!r} (default, mirrored, multiworker, tpu)")


def _trackers(cfg: TrainConfig, out: Path) -> list:
    """TensorBoard (default, when installed) and/or MLflow callbacks; CSV is always written."""
    import importlib.util

    k = keras()
    callbacks = []
    for name in cfg.track:
        if name == "tensorboard":
            if importlib.util.find_spec("tensorboard") is None:
                print("Note: TensorBoard is not installed; logging to log.csv only "
                      "(pip install tensorboard, or --track none)", file=sys.stderr)
                continue
            callbacks.append(k.callbacks.TensorBoard(str(out / "tensorboard")))
        elif name == "mlflow":
            if importlib.util.find_spec("mlflow") is None:
                raise UsageError("--track mlflow needs the mlflow package (pip install mlflow)")
            callbacks.append(_mlflow_callback(cfg, out))
        elif name != "none":
            raise UsageError(f"unknown tracker {name!r} (tensorboard, mlflow, none)")
    return callbacks


def _mlflow_callback(cfg: TrainConfig, out: Path):
    import mlflow

    class MLflowLogger(keras().callbacks.Callback):
        def on_train_begin(self, logs=None):
            mlflow.set_tracking_uri(f"file://{(out / 'mlruns').resolve()}")
            mlflow.start_run(run_name=out.name)
            mlflow.log_params({k: str(v) for k, v in cfg.to_dict().items()})

        def on_epoch_end(self, epoch, logs=None):
            mlflow.log_metrics({k: float(v) for k, v in (logs or {}).items()}, step=epoch)

        def on_train_end(self, logs=None):
            mlflow.end_run()

    return MLflowLogger()


def _data_entry(cfg, train_files, manifest) -> dict:
    if manifest is not None:
        shards = Path(cfg.data[0])
        return {"source": f"TFRecord shards {provenance.portable_path(shards)}", "count": manifest["count"],
                "file_list_sha256": manifest["file_list_sha256"],
                "datasets": [{"name": shards.name or shards.resolve().name, "count": manifest["count"],
                              "file_list_sha256": manifest["file_list_sha256"]}],
                "files": [{"path": e["name"], "sha256": e["sha256"]} for e in manifest["files"]]}
    entry = data_record(train_files, cfg.data)
    if isinstance(train_files, PairedFiles):
        lr = data_record(train_files.lr, cfg.lr_data)
        entry = dict(entry, source="paired LR/HR files", lr_file_list_sha256=lr["file_list_sha256"],
                     lr_files=lr["files"])
    return entry if cfg.data else dict(entry, source="built-in scikit-image samples")


def _alex_weights(cfg: TrainConfig):
    """Path of lpips_alex_v0.1.npz beside ``--vgg-weights``, in $KERAS_SR_WEIGHTS or the cache;
    None when not found."""
    from keras_sr.evaluation.lpips import FILES, find_weights

    beside = Path(cfg.vgg_weights).with_name(FILES["alex"]) if cfg.vgg_weights else None
    if beside is not None and beside.exists():
        return str(beside)
    try:
        return str(find_weights("alex"))
    except KerasSRError:
        return None


def _validation_lpips(cfg: TrainConfig):
    """LPIPS (AlexNet) for SRGAN's ``val_lpips`` when its weights are found (see
    :func:`_alex_weights`); otherwise a note and no LPIPS."""
    from keras_sr.evaluation.lpips import get_lpips

    path = _alex_weights(cfg)
    if path is None:
        print("Note: LPIPS weights not found: validation reports PSNR/SSIM only "
              "(set $KERAS_SR_WEIGHTS to the folder of lpips_alex_v0.1.npz)", file=sys.stderr)
        return None
    return get_lpips("alex", path)


def _steps(optimizer) -> int:
    """An optimizer's iteration count (a MirroredVariable under tf.distribute: read its value)."""
    return int(np.asarray(keras().ops.convert_to_numpy(optimizer.iterations.value)))


def _gan(cfg: TrainConfig, generator, channels: int, lr, strategy):
    """SRGAN/Real-ESRGAN around ``generator`` with a fresh discriminator (``GAN_DISCRIMINATORS``),
    compiled, built (both optimizers)."""
    from keras_sr.models import discriminator, unet_discriminator
    from keras_sr.training.gan import SRGAN
    from keras_sr.training.losses import LPIPSLoss, PerceptualLoss, VGGContentLoss

    k = keras()
    if not cfg.init:
        first = "SRResNet" if cfg.arch == "srgan" else "Real-ESRNet (an L1 srvgg run)"
        print(f"Warning: training {cfg.arch} from scratch; the paper starts from a trained {first} "
              "(--init <run>)", file=sys.stderr)
    content = (VGGContentLoss(cfg.vgg_layer, cfg.vgg_weights, cfg.vgg19_weights) if cfg.content == "vgg"
               else pixel_loss(cfg.loss))
    perceptual = None
    if cfg.lpips_weight:
        perceptual = LPIPSLoss(cfg.lpips_net, cfg.vgg_weights if cfg.lpips_net == "vgg" else _alex_weights(cfg),
                               precision=cfg.precision)
    critic = (unet_discriminator(channels, filters=cfg.d_filters) if GAN_DISCRIMINATORS[cfg.arch] == "unet"
              else discriminator(channels, filters=cfg.d_filters))
    critic = with_precision(critic, cfg.precision)
    vgg = PerceptualLoss(cfg.vgg_weights, precision=cfg.precision) if cfg.perceptual_weight else None
    deg = get_degradation(cfg.degradation)
    degrade = None  # bicubic (SRGAN's default) on the device
    if deg.stochastic:  # realworld/light in the step: the same function tf.data maps (one distribution)
        degrade = _StochasticDegrade(deg, deg.resolve_params(cfg.degradation_params))
    gan = SRGAN(generator, critic, content, cfg.adv_weight,
                pixel_weight=cfg.pixel_weight, lpips_loss=perceptual, lpips_weight=cfg.lpips_weight,
                perceptual_loss=vgg, perceptual_weight=cfg.perceptual_weight, usm_targets=cfg.usm_targets,
                scale=cfg.factor, device_augment=cfg.augment_on == "device", ema=cfg.ema,
                lpips=_validation_lpips(cfg), seed=cfg.seed, degrade=degrade,
                reuse=_pair_cache(cfg, channels, strategy) if cfg.augment_on == "device" else None)
    gan.compile(g_optimizer=k.optimizers.Adam(learning_rate=lr, beta_1=0.9),
                d_optimizer=k.optimizers.Adam(learning_rate=lr, beta_1=0.9),
                jit_compile=False if deg.stochastic else "auto")  # libjpeg ops: no XLA
    gan.build_all(max(4, cfg.patch_size // cfg.factor))
    return gan


def _pair_cache(cfg: TrainConfig, channels: int, strategy):
    """The :class:`~keras_sr.training.augment.PairCache` of ``--augment-on device --pair-reuse N``
    (per-replica batch shapes), None without reuse."""
    if cfg.pair_reuse <= 1:
        return None
    from keras_sr.training.augment import PairCache

    b, p = cfg.batch_size // strategy.num_replicas_in_sync, cfg.patch_size
    return PairCache(cfg.pair_reuse, (b, p // cfg.factor, p // cfg.factor, channels), (b, p, p, channels))


class _StochasticDegrade:
    """``degrade(hr, scale, seed)`` of :class:`~keras_sr.training.gan.SRGAN` for a seeded degradation."""

    def __init__(self, degradation, params):
        self.degradation, self.params = degradation, params

    def __call__(self, hr, scale, seed):
        return self.degradation.downscale(hr, scale, seed=seed, params=self.params)


def train(cfg: TrainConfig, overwrite: bool = False, verbose: int | str = "auto",
          command: str | None = None) -> dict:
    """Run (or resume) training; return the record written to ``record.json``."""
    _check_config(cfg)
    k = keras()
    spec = get_architecture(cfg.arch)
    gan = cfg.arch in GAN_DISCRIMINATORS or cfg.gan_stage  # trained through SRGAN's step
    min_size = min_image_size(cfg.patch_size, cfg.factor, cfg.patch_mode)
    manifest = None
    if len(cfg.data) == 1 and is_shard_folder(cfg.data[0]):
        manifest = read_manifest(cfg.data[0], cfg.factor)
        usable = [e for e in manifest["files"] if min(e["height"], e["width"]) >= min_size]
        if not usable:
            raise KerasSRError(f"no shard image is at least {min_size}x{min_size} px")
        every = max(2, int(round(1 / cfg.val_fraction))) if cfg.val_fraction > 0 else 0
        train_files = Shards(cfg.data[0], len(usable), every, False, min_size)
        val_files = Shards(cfg.data[0], len(usable), every, True, min_size) if every else train_files
    else:
        files = list_images(cfg.data) if cfg.data else sample_files()
        if not files:
            raise KerasSRError(f"no image files in {', '.join(map(str, cfg.data))}")
        files = scan_images(files, min_size=min_size)
        if not files:
            raise KerasSRError(f"no usable training images in {', '.join(map(str, cfg.data or ['built-in samples']))}"
                               f" (need readable images of at least {min_size}x{min_size} px)")
        if cfg.lr_data:  # paired LR files instead of degrading the HR images
            paired = match_pairs(files, list_images(cfg.lr_data), cfg.factor)
            train_files, val_files = paired.split(cfg.val_fraction, cfg.seed)
        else:
            train_files, val_files = split_files(files, cfg.val_fraction, cfg.seed)
    strategy = get_strategy(cfg.strategy)
    if cfg.batch_size % strategy.num_replicas_in_sync:
        raise UsageError(f"global batch {cfg.batch_size} is not divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas of --strategy {cfg.strategy}")
    # keras-team/keras#20585: fit() fails under MultiWorkerMirroredStrategy with > 1 worker, so
    # there a strategy.run loop trains instead (keras_sr.training.distributed.needs_custom_loop);
    # only the chief writes into --out, the other workers into a temporary folder.
    custom_loop = distributed.needs_custom_loop(cfg.strategy, strategy)
    if custom_loop:
        cfg = dataclasses.replace(cfg, out=distributed.worker_out(strategy, cfg.out))
    saved = Path(cfg.out) / "config.json"  # read before this invocation rewrites it
    previous_cfg = json.loads(saved.read_text()) if saved.is_file() and not overwrite else None
    out, resuming = _prepare_out(cfg, overwrite)
    # A run stopped after its last epoch but before model.keras was written (killed, or an error in
    # the final evaluation): every epoch is logged and the best checkpoint is there, so the run is
    # finished from them instead of starting again over its own log.
    fit_done = (not resuming and not gan and (out / "best.keras").exists()
                and len(read_log(out / "log.csv")) >= cfg.epochs)
    if fit_done and not (previous_cfg is not None and _same_config(previous_cfg, cfg)):
        raise KerasSRError(f"{out} holds a stopped run with a different config; re-run it with the same "
                           "options, or use --overwrite or another --out")
    _write_json(out / "config.json", cfg.to_dict())

    k.utils.set_random_seed(cfg.seed)
    check_support(cfg.precision)
    channels = 3 if cfg.color_space == "rgb" else 1
    teacher_record = None
    if cfg.teacher is not None:  # distill: the teacher's pool is the data
        from keras_sr.training import distill

        train_ds, val_ds, teacher_record, teacher = distill.prepare(
            cfg, out, train_files, val_files, channels, data_record(train_files, cfg.data)["file_list_sha256"])
    with strategy.scope():
        model = _initial_model(cfg, channels)  # float32: what is evaluated and saved
        if cfg.init_from_teacher and not resuming:
            copied = distill.init_from_teacher(model, teacher)
            if not copied:
                raise UsageError(f"--init-from-teacher: the teacher shares no layer shape with {cfg.arch}")
            teacher_record["init_layers_copied"] = copied
            print(f"--init-from-teacher: copied {copied} weighted layers", file=sys.stderr)
        net = with_precision(model, cfg.precision)  # what is trained (model itself for fp32)
    label_border = border(model) if spec.input_mode == "pre-upsampled" else 0
    pcfg = PipelineConfig(scale=cfg.factor, patch_size=cfg.patch_size, label_border=label_border,
                          degradation=cfg.degradation if cfg.teacher is None else "bicubic",
                          color_space=cfg.color_space, input_mode=spec.input_mode, mode=cfg.patch_mode,
                          stride=cfg.stride, batch_size=cfg.batch_size, seed=cfg.seed,
                          degradation_params=None if cfg.teacher else cfg.degradation_params or None,
                          pair_reuse=cfg.pair_reuse)
    if cfg.teacher is None:
        train_ds = training_dataset(train_files, pcfg)
        val_ds = validation_dataset(val_files, pcfg)
    steps = cfg.steps_per_epoch
    if cfg.teacher is not None and steps is None:
        steps = max(1, cfg.pool_size // cfg.batch_size)
    if cfg.patch_mode == "random" and steps is None:
        from keras_sr.data.io import image_size

        if manifest is not None:
            held_out = 1 / train_files.val_every if train_files.val_every else 0.0
            pixels = sum(e["height"] * e["width"] for e in manifest["files"]) * (1 - held_out)
        else:
            pixels = sum(np.prod(image_size(f)) for f in train_files)
        steps = max(1, int(pixels // (cfg.patch_size**2 * cfg.batch_size)))
    if cfg.patch_mode == "sliding" and count_batches(train_ds) == 0:
        raise KerasSRError("the training images give no sliding-window patches")

    lr = cfg.lr
    if cfg.schedule == "cosine":
        total = cfg.epochs * (steps if cfg.patch_mode == "random" else count_batches(train_ds))
        lr = k.optimizers.schedules.CosineDecay(cfg.lr, decay_steps=max(1, total), alpha=0.01)
    log_path, best_path = out / "log.csv", out / "best.keras"
    previous = read_log(log_path) if resuming else []
    saved_epochs = backup_epoch(out / "backup") if resuming and not custom_loop else None
    if saved_epochs is not None and len(previous) > saved_epochs:  # epochs after the last backup run again
        previous = trim_log(log_path, saved_epochs)
    callbacks = [] if custom_loop else [throttled_backup(out / "backup")]
    if cfg.gan_stage:  # distill's GAN stage: the pool's teacher output is the discriminator's "real"
        with strategy.scope():
            fit_model = distill.gan_stage(cfg, net, channels, lr)
    elif gan:
        with strategy.scope():
            fit_model = _gan(cfg, net, channels, lr, strategy)
        if cfg.augment_on == "device":
            train_ds = hr_crop_dataset(train_files, pcfg)
    else:
        fit_model = net
        checkpoint_cls = k.callbacks.ModelCheckpoint
        jit = "auto"
        if cfg.augment_on == "device":  # flips/rotations/degradation inside the train step
            from keras_sr.data.pipeline import degradation_params
            from keras_sr.training.augment import DeviceAugmented, InnerCheckpoint

            with strategy.scope():
                fit_model = DeviceAugmented(net, cfg.factor, cfg.degradation, cfg.seed, degradation_params(pcfg),
                                            reuse=_pair_cache(cfg, channels, strategy))
            train_ds = hr_crop_dataset(train_files, pcfg)
            checkpoint_cls = InnerCheckpoint
            jit = False if get_degradation(cfg.degradation).stochastic else "auto"  # libjpeg: no XLA
        loss, metrics = pixel_loss(cfg.loss), [psnr_metric]
        if cfg.teacher is not None:
            loss, metrics = distill.loss_and_metrics(cfg)
        with strategy.scope():
            fit_model.compile(optimizer=optimizer_for(cfg.precision, k.optimizers.Adam(learning_rate=lr)),
                              loss=loss, metrics=metrics, jit_compile=jit)
            if fit_model is not net:  # build the wrapper and its optimizer before BackupAndRestore
                fit_model(np.zeros((1, 8, 8, channels), np.float32))
                fit_model.optimizer.build(fit_model.trainable_variables)
                fit_model.build_compiled(channels)
        checkpoint = checkpoint_cls(best_path, monitor="val_psnr", mode="max", save_best_only=True)
        if previous and all("val_psnr" in r for r in previous):
            checkpoint.best = max(r["val_psnr"] for r in previous)
        callbacks.append(checkpoint)
    title = f"{cfg.arch} x{cfg.factor} {cfg.degradation}"
    callbacks += [
        epoch_timer(),
        k.callbacks.CSVLogger(str(log_path), append=True),
        *_trackers(cfg, out),
        curve_plot_callback(log_path, out / "curves.png", title),
        k.callbacks.TerminateOnNaN(),
    ]
    if resuming:
        print(f"Resuming the interrupted run in {out} (epochs done: {len(previous)})", file=sys.stderr)
    if fit_done:
        print(f"All {cfg.epochs} epochs of the run in {out} are done; finishing it from best.keras",
              file=sys.stderr)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2  # one line per epoch in logs
    t0 = time.time()
    if fit_done:
        pass
    elif custom_loop:
        distributed.fit_loop(strategy, fit_model, train_ds, val_ds, epochs=cfg.epochs,
                             steps=steps if cfg.patch_mode == "random" else None, callbacks=callbacks,
                             backup_dir=out / "backup", global_batch=cfg.batch_size, verbose=verbose)
    else:
        fit_model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs,
                      steps_per_epoch=steps if cfg.patch_mode == "random" else None,
                      callbacks=callbacks, verbose=verbose)
    wall = time.time() - t0
    if gan and cfg.ema:
        fit_model.use_ema_weights()  # the saved and evaluated generator is the EMA
    if net is not model:  # the trained weights into the float32 network
        model.set_weights(net.get_weights())
    rows = read_log(log_path)
    loss_key = "g_loss" if gan else "loss"
    if not rows or not np.isfinite(rows[-1].get(loss_key, np.nan)):
        raise KerasSRError("training diverged (non-finite loss); try a lower --lr")
    if best_path.exists():
        model.set_weights(k.saving.load_model(best_path, compile=False).get_weights())
    record = {  # no absolute paths: see keras_sr.training.provenance
        "command": provenance.portable_command(command or " ".join(sys.argv)),
        "config": provenance.portable_config(cfg.to_dict()),
        "versions": versions(),
        "seed": cfg.seed,
        "degradation": cfg.degradation,
        "data": _data_entry(cfg, train_files, manifest),
        "validation_files": [] if manifest else data_record(val_files, cfg.data)["files"],
        "strategy": {"name": cfg.strategy, "replicas": strategy.num_replicas_in_sync},
        "params": int(model.count_params()),
        "steps_per_epoch": steps,
        "epochs_completed": len(rows),
        "wall_time_s_this_invocation": round(wall, 1),
        **({"finished_from_best_checkpoint": True} if fit_done else {}),
        "best_val_psnr_patches": max(r.get("val_psnr", -1) for r in rows),
    }
    timed = [r["epoch_s"] for r in rows[1:] if "epoch_s" in r]  # the first epoch traces
    if timed and steps:
        record["ms_per_step"] = round(float(np.median(timed)) / steps * 1000, 1)
    # optimizer steps over the whole run, resumed parts included (restored from the backup)
    record["optimizer_iterations"] = {"generator" if gan else "model": _steps(fit_model.optimizer)}
    if fit_done:  # the optimizer of the finished fit is gone: count the logged epochs instead
        record["optimizer_iterations"] = {"model": None, "logged_epochs_x_steps": len(rows) * (steps or 0)}
    if gan:
        record["discriminator_params"] = int(fit_model.discriminator.count_params())
        record["optimizer_iterations"]["discriminator"] = _steps(fit_model.d_optimizer)
    info = ModelInfo(architecture=cfg.arch, scale=cfg.factor, degradation=cfg.degradation,
                     color_space=cfg.color_space, input_mode=spec.input_mode, record=record)
    from keras_sr.evaluation.evaluate import evaluate
    from keras_sr.evaluation.protocol import Protocol

    model.sr_info = info
    from keras_sr.data.pipeline import degradation_params

    proto = Protocol("training-val", cfg.color_space if cfg.color_space != "rgb" else "y-bt601",
                     cfg.degradation, modcrop=True, shave=None, quantize_lr=True,
                     quantize_upscaled=False, output_rounding="round", seed=cfg.seed,
                     params=degradation_params(pcfg))
    if teacher_record is not None:
        record["teacher"] = teacher_record
        if cfg.gan_stage:
            record["gan_stage"] = {"real": "teacher output (pool)", "adv_weight": cfg.adv_weight,
                                   "discriminator": "unet", "d_filters": cfg.d_filters,
                                   "discriminator_init": "scratch", "ema": cfg.ema}
        last = rows[-1]
        record["validation"] = {"mean": {"val_psnr_patches": last.get("val_psnr_hr"),
                                         "val_psnr_to_teacher": last.get("val_psnr")}, "rows": []}
    elif manifest is None and not cfg.lr_data:
        result = evaluate(model, val_files, cfg.factor, protocol=proto, name=cfg.arch)
        record["validation"] = result.to_dict()
    else:  # shards / paired LR files: the last epoch's validation metrics (held-out patches)
        record["validation"] = {"mean": {"val_psnr_patches": rows[-1].get("val_psnr")}, "rows": []}
    save_with_info(model, out / "model.keras", info)
    if cfg.arch in GAN_DISCRIMINATORS:  # the generator alone, for upscale/export
        save_with_info(model, out / "generator.keras", info)
    _write_json(out / "record.json", record)
    plot_curves(log_path, out / "curves.png", title)
    if best_path.exists():
        best_path.unlink()
    return record
