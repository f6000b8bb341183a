"""The ``keras-sr`` command line. Thin: parse options, call library functions, print.

Nothing here imports TensorFlow at module level, so ``keras-sr --help`` is instant.
Errors are one line (``Error: ...``) with exit code 1 (runtime) or 2 (usage);
``KERAS_SR_DEBUG=1`` shows tracebacks for internal errors.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import click

from keras_sr import __version__
from keras_sr.errors import KerasSRError, UsageError

SCALES = (2, 3, 4, 6, 8)


class _Fail(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(" ".join(str(message).split("\n")[:1]) or "failed")
        self.exit_code = exit_code


class _Group(click.Group):
    """Turn library errors into one-line messages with the right exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KerasSRError as exc:
            raise _Fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # the reader went away (`keras-sr models | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no 2nd error at exit
            raise click.exceptions.Exit(141) from None  # 128 + SIGPIPE, as shell tools exit
        except Exception as exc:  # noqa: BLE001 - the CLI must never show a traceback
            if os.environ.get("KERAS_SR_DEBUG"):
                raise
            raise _Fail(f"internal error: {type(exc).__name__}: {exc} "
                        "(set KERAS_SR_DEBUG=1 for the traceback)") from None


def _one_line_warnings():
    def fmt(message, category, filename, lineno, line=None):
        return f"Warning: {message}\n"

    warnings.formatwarning = fmt
    warnings.filterwarnings("ignore", module=r"keras(\.|$)")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _check_factor(ctx, param, value):
    if value is not None and value not in SCALES:
        raise click.BadParameter(f"{value} is not a supported scale ({', '.join(map(str, SCALES))})")
    return value


factor_option = click.option("--factor", "-f", type=int, callback=_check_factor,
                             help=f"Upscaling factor ({', '.join(map(str, SCALES))}).")


class DenoiseStrength(click.ParamType):
    """``--denoise`` of upscale, evaluate and export: a strength in [0, 1] (or ``auto`` where
    ``auto`` is allowed: upscale's per-image strength, :mod:`keras_sr.inference.strength`), parsed
    here and only here. Anything else is a one-line :class:`UsageError` (exit 2)."""

    name = "strength"

    def __init__(self, auto: bool = False):
        self.auto = auto

    def convert(self, value, param, ctx):
        if self.auto and str(value).strip().lower() == "auto":
            return "auto"
        try:
            strength = float(value)
        except (TypeError, ValueError):
            strength = None
        if strength is None or not 0.0 <= strength <= 1.0:  # NaN fails the comparison too
            raise UsageError(f"--denoise is a strength in [0, 1], got {value if str(value).strip() else repr(value)}"
                             + (" (or auto)" if self.auto else ""))
        return strength


def denoise_option(help_text: str, auto: bool = False):
    return click.option("--denoise", type=DenoiseStrength(auto), default="auto" if auto else None,
                        show_default=auto, help=help_text)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keras-sr")
def main():
    """Single-image super-resolution with Keras 3: train, upscale, evaluate."""
    _one_line_warnings()


# Options of `train`, shared by `distill` (one definition; _train_options(exclude=...) picks).
_TRAIN_OPTIONS = [
    factor_option,
    click.option("--data", "-d", multiple=True, type=click.Path(),
                 help="Training image folder or file (repeatable). Default: built-in sample photos."),
    click.option("--lr-data", multiple=True, type=click.Path(),
                 help="Folder(s) of the --data images at 1/factor size (paired LR/HR, matched by file "
                      "stem, e.g. 0001.png <-> 0001x4.png), used instead of degrading --data."),
    click.option("--epochs", type=int, help="Epochs (default 10; recipe srcnn-keras: 200)."),
    click.option("--batch-size", type=int, help="Patches per batch (SRCNN default 128)."),
    click.option("--lr", type=float, help="Adam learning rate (SRCNN default 3e-4)."),
    click.option("--degradation", help="bicubic (default), bilinear-legacy, realworld (Real-ESRGAN chain), "
                 "realworld-accurate (the same, JPEG decoded without TF's R/B cast) or "
                 "light (phone/web photos: mild blur, noise, one JPEG)."),
    click.option("--degradation-param", "degradation_param", multiple=True, metavar="NAME=VALUE",
                 help="realworld/light: override one RealWorldParams field, e.g. noise_range=1,15 or "
                      "jpeg_accurate=1 (repeatable)."),
    click.option("--color-space", help="y-bt601 (default), y-opencv or rgb."),
    click.option("--patch-size", type=int, help="HR patch size (default 32)."),
    click.option("--steps-per-epoch", type=int, help="Batches per epoch in random-crop mode."),
    click.option("--schedule", type=click.Choice(["constant", "cosine"]),
                 help="Learning-rate schedule (default constant; cosine decays to 1% over the run)."),
    click.option("--val-fraction", type=float, help="Share of the images held out for validation (0.1)."),
    click.option("--loss", type=click.Choice(["mse", "l1"]), help="Pixel loss (default mse)."),
    click.option("--blocks", type=int, help="srresnet/srgan: residual blocks (16)."),
    click.option("--filters", type=int, help="srresnet/srgan/srvgg/realesrgan/rrdbnet/abpn: channels."),
    click.option("--convs", type=int, help="srvgg/realesrgan/abpn: 3x3 conv layers (srvgg 16, abpn 5)."),
    click.option("--kernel-init", type=click.Choice(["glorot", "he"]),
                 help="srvgg: conv initialisation (glorot, default; he for deep stacks such as 64 x 16)."),
    click.option("--activation", type=click.Choice(["relu", "tanh"]),
                 help="espcn: activation of the feature layers (relu, default; tanh = the paper's)."),
    click.option("--content", type=click.Choice(["pixel", "vgg"]), help="srgan content loss (default vgg)."),
    click.option("--adv-weight", type=float, help="GANs: adversarial weight (srgan 1e-3, realesrgan 0.1). "
                 "distill: > 0 adds a GAN stage (SRGAN's step, the teacher's output as the discriminator's "
                 "real; Real-ESRGAN's U-Net discriminator, built from scratch)."),
    click.option("--pixel-weight", type=float, help="srgan: add this x pixel MSE to the content loss (0)."),
    click.option("--lpips-weight", type=float, help="srgan: add this x LPIPS to the generator loss; distill: x "
                 "LPIPS to the teacher's output (0; vgg needs --vgg-weights)."),
    click.option("--lpips-net", type=click.Choice(["vgg", "alex"]),
                 help="srgan/distill: network of that LPIPS term (vgg, default: not the alex net LPIPS is evaluated with)."),
    click.option("--d-filters", type=int, help="srgan/realesrgan/distill's GAN stage: discriminator base channels "
                 "(64, as the papers)."),
    click.option("--perceptual-weight", type=float,
                 help="GANs: weight of the VGG16 multi-layer L1 perceptual term (realesrgan 1.0; needs the "
                      "LPIPS VGG16 file: --vgg-weights)."),
    click.option("--usm-targets/--no-usm-targets", default=None,
                 help="GANs: pixel/perceptual terms against unsharp-masked HR (realesrgan: on)."),
    click.option("--vgg-weights", type=click.Path(), help="lpips_vgg16_v0.1.npz for the VGG16 content loss."),
    click.option("--vgg-layer", help="VGG16 layer of the content loss (conv5_3)."),
    click.option("--vgg19-weights", type=click.Path(), help="keras.applications VGG19 weight file (optional)."),
    click.option("--strategy", type=click.Choice(["default", "mirrored", "multiworker", "tpu"]),
                 help="tf.distribute strategy (multiworker reads TF_CONFIG)."),
    click.option("--precision", help="fp32 (default), bf16 or fp16: mixed precision (variables, loss, "
                 "degradation, output conv and saved model stay float32). bf16 pays on CPUs with AVX512-BF16 "
                 "or AMX (SRVGG step ~0.6-0.7x fp32) and GPUs from Ampere; elsewhere it is emulated (slow, "
                 "warned). fp16: GPUs, with loss scaling (not for GANs)."),
    click.option("--mixed-precision", is_flag=True, default=None, help="Alias of --precision fp16."),
    click.option("--pair-reuse", type=int, help="Use each degraded (LR, HR) pair for N steps (default 1): divides "
                 "the degradation's cost per step by N. --augment-on pipeline: pairs re-mixed among N batches with "
                 "fresh flips/rotations; device: the step degrades every N-th batch and serves the pair under N "
                 "distinct flips/rotations (N <= 8)."),
    click.option("--track", multiple=True, type=click.Choice(["tensorboard", "mlflow", "none"]),
                 help="Experiment tracking besides log.csv (default tensorboard when installed)."),
    click.option("--augment-on", type=click.Choice(["pipeline", "device"]),
                 help="Flips/rotations/degradation in tf.data (pipeline) or in the train step (device; "
                      "LR-space models and srgan)."),
    click.option("--ema", type=float, help="GANs, distill's GAN stage: keep an EMA of the generator weights with "
                 "this momentum (e.g. 0.999) and save it instead of the last weights."),
    click.option("--out", "-o", type=click.Path(), help="Run folder (default runs/<arch>_x<factor>_<degradation>)."),
    click.option("--init", help="Start from this model's weights (fine-tuning)."),
    click.option("--recipe", help="A full recipe, e.g. srcnn-keras (SRCNN-keras's original training)."),
    click.option("--seed", type=int, help="Random seed (default 0)."),
    click.option("--overwrite", is_flag=True, help="Replace a finished run in --out."),
]


def _train_options(exclude=()):
    """Decorator applying the ``train`` options, except the parameter names in ``exclude``."""
    def apply(f):
        for option in reversed(_TRAIN_OPTIONS):
            probe = option(lambda **kw: None)
            if probe.__click_params__[-1].name not in exclude:
                f = option(f)
        return f
    return apply


_ARCH_KWARGS = ("blocks", "filters", "convs", "activation", "kernel_init")


def _train_config(arch, o: dict, **extra):
    """The :class:`TrainConfig` of ``train``/``distill`` options ``o`` (click's parameter dict)."""
    from keras_sr.training.config import TrainConfig

    for path, hint in [(d, "'--data'") for d in o.get("data", ())] + [(d, "'--lr-data'") for d in o.get("lr_data", ())]:
        if not Path(path).exists():
            raise click.BadParameter(f"no such file or folder: {path}", param_hint=hint)
    o = dict(o)
    arch_kwargs = {k: o.pop(k) for k in _ARCH_KWARGS if k in o and o[k] is not None}
    for k in _ARCH_KWARGS:
        o.pop(k, None)
    out, overwrite = o.pop("out", None), o.pop("overwrite", False)
    params = _degradation_overrides(o.pop("degradation_param", ()), o.get("degradation") or extra.get("degradation"))
    o["track"] = list(o.get("track") or ())
    for k in ("data", "lr_data"):
        if k in o:
            o[k] = [str(d) for d in o[k]]
    cfg = TrainConfig.resolve(arch, **o, **extra, arch_kwargs=arch_kwargs, degradation_params=params)
    cfg.out = out or f"runs/{cfg.arch}_x{cfg.factor}_{cfg.degradation}"
    return cfg, overwrite


@main.command()
@click.argument("arch", default="srcnn")
@_train_options()
def train(arch, **options):
    """Train ARCH (srcnn, srcnn-915, srcnn-955, srcnn-deep, fsrcnn, fsrcnn-s, espcn, abpn, srresnet,
    srgan, srvgg, rrdbnet, realesrgan) with fit().

    Re-running the same command after an interruption resumes the run.
    """
    from keras_sr.models import get_architecture

    get_architecture(arch)
    cfg, overwrite = _train_config(arch, options)
    from keras_sr.training.trainer import train as run

    record = run(cfg, overwrite=overwrite, command="keras-sr " + " ".join(sys.argv[1:]))
    mean = record["validation"]["mean"]
    click.echo(f"Saved {Path(record['config']['out']) / 'model.keras'}")  # a non-chief worker: its temp folder
    if "model_psnr" not in mean:
        click.echo(f"Validation PSNR on held-out patches: {mean.get('val_psnr_patches')}")
        return
    click.echo(f"Validation ({len(record['validation']['rows'])} images, x{cfg.factor}, Y PSNR/SSIM): "
               f"model {mean['model_psnr']:.2f} dB / {mean['model_ssim']:.4f}, "
               f"bicubic {mean['bicubic_psnr']:.2f} dB / {mean['bicubic_ssim']:.4f} "
               f"({mean['delta_psnr']:+.2f} dB)")


_NOT_FOR_DISTILL = ("lr_data", "content", "pixel_weight", "usm_targets", "vgg_layer",
                    "vgg19_weights", "augment_on", "recipe", "pair_reuse", "degradation", "loss")


@main.command()
@click.option("--teacher", "-t", required=True, help="The model to learn from: zoo name, run folder, .keras, "
              "or a community .pth/.safetensors/ncnn .param file (imported without executing it).")
@click.option("--student", "-s", default="srvgg", show_default=True, help="Student architecture (LR-space: "
              "srvgg, espcn, fsrcnn, abpn, ...); size with --filters/--convs.")
@click.option("--teacher-license", help="The teacher's licence (default: what its record names; unknown "
              "otherwise, with a warning).")
@click.option("--pool-size", type=click.IntRange(1, None), help="Teacher outputs cached on disk: (crop, "
              "degradation draw) pairs reused across epochs and resumes (default 2048).")
@click.option("--degradation", default="realworld", show_default=True,
              help="Degradation(s) of the pool's LR crops; a comma list (bicubic,light,realworld) mixes "
                   "them entry by entry; realworld-accurate: realworld without the JPEG decode's colour cast.")
@click.option("--teacher-weight", type=float, help="Weight of the L1 to the teacher's output (1).")
@click.option("--hr-weight", type=float, help="Weight of an L1 to the HR crop (0).")
@click.option("--color-weight", type=float, help="Weight of an L1 between 8x8-pixel means of the output and "
              "of the HR crop (0): the HR's colour, the teacher's detail.")
@click.option("--init-from-teacher", is_flag=True, default=None, help="Start from the teacher's first convs "
              "and its output conv where shapes allow (fewer convs: the rest dropped).")
@_train_options(exclude=_NOT_FOR_DISTILL)
def distill(teacher, student, teacher_license, pool_size, degradation, teacher_weight, hr_weight, color_weight,
            init_from_teacher, **options):
    """Distil TEACHER into a small STUDENT: the student learns the teacher's output on the same
    degraded LR crops (teacher outputs cached in RUN/pool). x2/x3 students of an x4 teacher learn
    its output resized down (Lanczos). --adv-weight W > 0: a GAN stage (SRGAN's train step with the
    teacher's output as "real"; the discriminator starts from scratch, --init loads the student only).
    Re-running the same command resumes."""
    from keras_sr.models import get_architecture

    get_architecture(student)
    cfg, overwrite = _train_config(student, options, teacher=teacher,
                                   teacher_license=teacher_license, pool_size=pool_size,
                                   teacher_weight=teacher_weight, hr_weight=hr_weight, color_weight=color_weight,
                                   init_from_teacher=init_from_teacher, degradation=degradation)
    if not options.get("out"):
        cfg.out = f"runs/{student}_x{cfg.factor}_distilled"
    from keras_sr.training.trainer import train as run

    record = run(cfg, overwrite=overwrite, command="keras-sr " + " ".join(sys.argv[1:]))
    mean = record["validation"]["mean"]
    t = record["teacher"]
    click.echo(f"Saved {Path(record['config']['out']) / 'model.keras'}")
    click.echo(f"Teacher {t['source']} ({t['params']:,} params, licence {t['license']}); student "
               f"{record['params']:,} params. Held-out pool PSNR: to the teacher {mean['val_psnr_to_teacher']:.2f} dB, "
               f"to HR {mean['val_psnr_patches']:.2f} dB")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--output", "-o", required=True, type=click.Path(),
              help="Output file (one input) or folder (several inputs / a folder).")
@click.option("--model", "-m", help="Model: zoo name, .keras file, run folder or .h5 weights (default: the "
              "shipped photo restorer of --factor, restore-x2 / restore-x3 / restore-x4; see `keras-sr models`).")
@factor_option
@click.option("--tile", type=click.IntRange(8, None), help="LR tile size in px (default: from --max-memory).")
@click.option("--max-memory", type=click.FloatRange(16, None), default=256, show_default=True,
              help="Activation memory budget, MB (shared by the tiles of a batch).")
@click.option("--tile-batch", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Equal-size tiles run through the model together (faster on GPUs).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG/WebP quality.")
@click.option("--max-pixels", type=int, help="Raise Pillow's decompression-bomb limit to this many pixels.")
@denoise_option("Real-world models with a weak-denoise sibling (realesr-x4): 1 = full denoise, 0 = keep "
                "detail/grain; blends the two models' weights. auto: per image, from its noise level and JPEG "
                "quality (in --json); ignored by models without a sibling.", auto=True)
@click.option("--side-by-side", "side_by_side", type=click.Path(),
              help="Also write a PNG of bicubic | this model | the shipped default of the factor (one input).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def upscale(inputs, output, model, factor, tile, max_memory, tile_batch, quality, max_pixels, denoise, side_by_side,
            overwrite, as_json):
    """Upscale photos: INPUT... (files or folders) -> OUTPUT (a file, or a folder).

    Into a folder, existing outputs are skipped (a killed run resumes); unreadable files are
    reported and skipped. ICC profiles and EXIF are kept.
    """
    from keras_sr.inference.batch import upscale_files

    if side_by_side:
        from keras_sr.inference.side_by_side import check_target

        if len(inputs) != 1 or Path(inputs[0]).is_dir() or Path(output).is_dir():
            raise UsageError("--side-by-side needs one input file and one output file")
        check_target(side_by_side, overwrite)
    if side_by_side and model is None:  # the figure's name for MODEL: as given, or the default's name
        from keras_sr.zoo import default_model

        label = default_model(factor)[0]
    else:
        label = model
    model = _chosen_model(model, factor, None if denoise == "auto" else denoise)
    summary = upscale_files(inputs, output, model, factor=factor, overwrite=overwrite, tile=tile,
                            max_memory_mb=max_memory, quality=quality, max_pixels=max_pixels,
                            tile_batch=tile_batch, denoise=denoise)
    figure = None
    if side_by_side and summary.written:
        from keras_sr.inference.side_by_side import side_by_side as write_figure

        figure = write_figure(inputs[0], summary.written[0], side_by_side, label=label, overwrite=overwrite,
                              tile=tile, max_memory_mb=max_memory)
        for note in figure["notes"]:
            click.echo(f"Note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(dict(summary.to_dict(), **({"side_by_side": figure} if figure else {})), indent=2))
    elif len(summary.failed) == 1 and not summary.written and not summary.skipped:
        raise _Fail(summary.failed[0][1], 1)  # a single failing image: just its one-line error
    else:
        for path in summary.written:
            click.echo(f"wrote {path}")
        for src, msg in summary.failed:
            click.echo(f"Error: {msg}", err=True)
        click.echo(f"{len(summary.written)} written, {len(summary.skipped)} skipped (exist), "
                   f"{len(summary.failed)} failed in {summary.seconds:.1f} s", err=True)
        if figure:  # last: the file to open
            click.echo(f"wrote {figure['path']} ({' | '.join(p['label'] for p in figure['panels'])}): "
                       "open it to compare")
    if summary.failed:
        raise _Fail(f"{len(summary.failed)} of {len(summary.written) + len(summary.failed)} images failed", 1)


def _chosen_model(model, factor: int | None = None, denoise: float | None = None):
    """MODEL as given, or the shipped default for ``factor`` (its fallback note on stderr); blended
    with its weak-denoise sibling when ``denoise`` is given (upscale, evaluate, export)."""
    if model is None:
        from keras_sr.zoo import default_model

        model, note = default_model(factor)
        if note:
            click.echo(f"Note: {note}", err=True)
    if denoise is not None:
        from keras_sr.models.denoise import with_denoise

        model = with_denoise(model, denoise)
    return model


def _degradation_overrides(items, degradation: str | None = None) -> dict:
    """``--degradation-param`` / ``--param`` NAME=VALUE items -> the fields that differ from the
    stochastic ``degradation``'s own parameters (realworld by default; validated)."""
    if not items:
        return {}
    from keras_sr.data.degradations import get_degradation

    deg = get_degradation(degradation or "realworld")
    if not deg.stochastic:
        raise UsageError(f"--degradation-param is for the realworld and light degradations, not {deg.name!r}")
    base = deg.default_params()
    new = base.with_overrides(items).to_dict()
    return {k: v for k, v in new.items() if v != base.to_dict()[k]}


def _dataset_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)
    f = click.option("--lpips-weights", type=click.Path(),
                     help="lpips_alex_v0.1.npz (default: $KERAS_SR_WEIGHTS or the cache folder).")(f)
    f = click.option("--no-reference", is_flag=True,
                     help="The set has no ground truth (its images are the LR inputs): score the "
                          "model and bicubic upscales with NIQE only. Implied for RealSRSet.")(f)
    f = click.option("--niqe-params", type=click.Path(),
                     help="niqe_pris_params.npz (default: $KERAS_SR_WEIGHTS or the cache folder).")(f)
    f = click.option("--metrics",
                     help="Comma-separated: psnr, ssim, lpips, niqe, bias (colour bias: mean |per-channel "
                          "mean error|, 8-bit levels, RGB) (MSE is always reported). "
                          "Default: psnr,ssim; niqe on a set without ground truth.")(f)
    f = click.option("--protocol", default="paper", show_default=True,
                     help="paper (MATLAB bicubic, BT.601 Y, shave = scale) or srcnn-keras (legacy).")(f)
    f = click.option("--shave", type=int, help="Border pixels to ignore (default: the protocol's).")(f)
    f = click.option("--color", type=click.Choice(["y-bt601", "y-opencv", "rgb"]),
                     help="Score on this colour space instead of the protocol's.")(f)
    f = factor_option(f)
    f = click.option("--data-root", type=click.Path(), help="Folder holding the benchmark sets "
                     "(default: $KERAS_SR_DATA).")(f)
    f = click.option("--dataset", "--data", "-d", "data",
                     help="Benchmark set name (Set5, Set14, ... under --data-root) or a folder of HR "
                          "images. Default: the built-in sample photos.")(f)
    return f


def _run_eval(model, data, data_root, factor, protocol, metrics, lpips_weights, keep_outputs,
              color=None, shave=None, niqe_params=None, no_reference=False, degradation=None, seed=0,
              params=None, outscale=None):
    from keras_sr.data.datasets import is_no_reference, resolve_dataset
    from keras_sr.data.samples import sample_files
    from keras_sr.evaluation.evaluate import evaluate as run
    from keras_sr.evaluation.evaluate import parse_metrics
    from keras_sr.evaluation.protocol import get_protocol
    from keras_sr.inference import Upscaler

    folder = resolve_dataset(data, data_root) if data else None
    if outscale is not None:
        from keras_sr.inference.outscale import upscaler_at

        if factor is not None and factor != outscale:
            raise UsageError(f"--factor {factor} and --outscale {outscale} disagree (--outscale is the factor)")
        model, factor = upscaler_at(model, outscale), outscale
    if no_reference or (folder and is_no_reference(folder)):
        from keras_sr.evaluation import no_reference as nr

        if protocol != "paper" or color or shave is not None or degradation:
            raise UsageError("--protocol/--color/--shave/--degradation do not apply to a set without "
                             "ground truth (NIQE on BT.601 Y, no crop)")
        nr.parse_metrics(metrics)
        up = model if isinstance(model, Upscaler) else Upscaler(model, factor)
        return nr.evaluate_no_reference(up, folder or sample_files(), factor,
                                        progress=sys.stderr.isatty(), niqe_params=niqe_params,
                                        strict_scale=factor is not None)
    proto = get_protocol(protocol, color, shave, degradation=degradation, seed=seed, params=params)
    names = parse_metrics(metrics)
    up = model if isinstance(model, Upscaler) else Upscaler(model, factor)
    return run(up, folder if folder else sample_files(), factor or up.scale, protocol=proto,
               progress=sys.stderr.isatty(), metric_names=names, lpips_weights=lpips_weights,
               keep_outputs=keep_outputs, strict_scale=factor is not None, niqe_params=niqe_params)


def _no_reference_set(data, data_root) -> bool:
    from keras_sr.data.datasets import is_no_reference, resolve_dataset

    return is_no_reference(resolve_dataset(data, data_root))


@main.command()
@click.option("--model", "-m", "model", multiple=True, help="Model: zoo name, .keras file, run folder or .h5 "
              "weights (required; with --ladder repeatable: one line per model).")
@_dataset_options
@click.option("--report", type=click.Path(), help="Write per_image.csv, summary.json/.txt and "
              "figures (best/worst images, gain histogram) into this folder.")
@click.option("--degradation", help="Make the LR with this degradation instead of the protocol's "
              "(realworld: Real-ESRGAN's chain; light: phone/web photos; both seeded per image, their "
              "parameters go into the report).")
@click.option("--seed", type=int, default=0, show_default=True, help="realworld/light: seed of the degradation.")
@click.option("--degradation-param", "degradation_param", multiple=True, metavar="NAME=VALUE",
              help="realworld/light: override one RealWorldParams field (repeatable).")
@denoise_option("Score MODEL blended with its weak-denoise sibling, as `upscale --denoise` (1 = MODEL, "
                "0 = the sibling).")
@click.option("--draws", type=int, default=1, show_default=True,
              help="realworld: score this many independent degradation draws (seeds SEED, SEED+1, "
                   "...) and report each draw's means and their mean and sd; --report gets a "
                   "seed_N folder per draw.")
@click.option("--ladder", is_flag=True, help="The severity ladder: each --model and bicubic at clean (bicubic), "
              "light and heavy (realworld) LR, seeded by --seed: PSNR, SSIM, LPIPS (when its weights are "
              "found), colour bias; default metrics psnr,ssim,lpips,bias.")
@click.option("--figure", type=click.Path(), help="--ladder: PNG of each model's gain over bicubic vs severity.")
@click.option("--outscale", type=int, help="Score at this factor a model of a larger scale: it runs at its own "
              "scale and its output is resized with antialiased Lanczos-3 (as Real-ESRGAN's --outscale and "
              "`keras-sr distill`'s teacher pool); the label says so, e.g. 'x4 -> x2 Lanczos'.")
def evaluate(model, data, data_root, factor, color, shave, protocol, metrics, lpips_weights, as_json,
             report, niqe_params, no_reference, degradation, seed, degradation_param, denoise, draws, ladder,
             figure, outscale):
    """Metrics of a model and of the bicubic baseline, per image and on average.

    On a set without ground truth (RealSRSet, or --no-reference) the images are the LR inputs:
    the model and bicubic upscales are scored with NIQE only. With --ladder: several models at
    three severities (see keras_sr.evaluation.ladder)."""
    from keras_sr.evaluation.report import format_table, write_report

    if ladder:
        return _evaluate_ladder(model, data, data_root, factor, color, shave, protocol, metrics, lpips_weights,
                                as_json, report, no_reference, degradation, seed, degradation_param, denoise,
                                draws, figure, outscale)
    if figure:
        raise UsageError("--figure is for --ladder (evaluate --report writes the figures of one evaluation)")
    if not model:
        raise click.UsageError("Missing option '--model' / '-m'.")
    if len(model) > 1:
        raise UsageError(f"{len(model)} --model values: evaluate scores one model (several need --ladder)")
    model = model[0]
    if draws < 1:
        raise UsageError(f"--draws must be at least 1, got {draws}")
    if draws > 1:
        from keras_sr.data.degradations import get_degradation

        if not degradation or not get_degradation(degradation).stochastic:
            raise UsageError("--draws needs a stochastic degradation (--degradation realworld): "
                             "any other LR is the same on every draw")
    model = _chosen_model(model, denoise=denoise)
    params = None
    if degradation_param:
        from keras_sr.data.degradations import get_degradation

        params = get_degradation(degradation or "realworld").resolve_params(
            _degradation_overrides(degradation_param, degradation))
    if draws > 1:
        return _evaluate_draws(model, data, data_root, factor, protocol, metrics, lpips_weights, as_json,
                               report, color, shave, niqe_params, no_reference, degradation, seed, params,
                               draws, outscale)
    result = _run_eval(model, data, data_root, factor, protocol, metrics, lpips_weights,
                       keep_outputs=bool(report), color=color, shave=shave, niqe_params=niqe_params,
                       no_reference=no_reference, degradation=degradation, seed=seed, params=params,
                       outscale=outscale)
    if report:
        paths = write_report(result, report)
        click.echo(f"report: {', '.join(str(p) for p in paths.values())}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(format_table(result))


def _evaluate_ladder(models, data, data_root, factor, color, shave, protocol, metrics, lpips_weights, as_json,
                     report, no_reference, degradation, seed, degradation_param, denoise, draws, figure,
                     outscale=None):
    """``evaluate --ladder``: :func:`keras_sr.evaluation.ladder.ladder` over the given models."""
    from keras_sr.data.datasets import is_no_reference, resolve_dataset
    from keras_sr.data.samples import sample_files
    from keras_sr.evaluation.ladder import format_ladder, ladder, ladder_figure, model_labels

    clash = [name for name, given in (("--degradation", degradation), ("--degradation-param", degradation_param),
                                      ("--report", report), ("--draws", draws != 1),
                                      ("--no-reference", no_reference)) if given]
    if clash:
        raise UsageError(f"{clash[0]} does not apply to --ladder (its severities are fixed: clean = bicubic, "
                         "light, heavy = realworld)")
    if not models:
        raise UsageError("--ladder needs at least one --model")
    if figure and not Path(figure).resolve().parent.is_dir():
        raise KerasSRError(f"figure folder does not exist: {Path(figure).parent}")
    folder = resolve_dataset(data, data_root) if data else None
    if folder is not None and is_no_reference(folder):
        raise UsageError(f"--ladder needs a set with ground truth; {folder.name} has only LR inputs")
    loaded = [_chosen_model(m, denoise=denoise) for m in models]
    names = [n + (f" (denoise {denoise:g})" if denoise is not None else "") for n in model_labels(models)]
    metric_names = None if metrics is None else [m.strip().lower() for m in metrics.split(",") if m.strip()]
    lad = ladder(loaded, folder if folder else sample_files(), factor, seed=seed, protocol=protocol, color=color,
                 shave=shave, metric_names=metric_names, lpips_weights=lpips_weights, names=names,
                 progress=sys.stderr.isatty(), echo=lambda m: click.echo(m, err=True), outscale=outscale)
    if figure:
        click.echo(f"figure: {ladder_figure(lad, figure)}", err=True)
    click.echo(json.dumps(lad.to_dict(), indent=2) if as_json else format_ladder(lad))


def _evaluate_draws(model, data, data_root, factor, protocol, metrics, lpips_weights, as_json, report,
                    color, shave, niqe_params, no_reference, degradation, seed, params, draws, outscale=None):
    """``evaluate --draws N``: the same evaluation on N seeds of the degradation, then the spread."""
    from keras_sr.evaluation.report import format_draws, over_draws, report_folder, write_report
    from keras_sr.models.loading import load_model

    folder = report_folder(report) if report else None  # checked before minutes of scoring
    model = load_model(model)  # once, not once per draw
    results = []
    for k in range(draws):
        click.echo(f"draw {k + 1}/{draws} (seed {seed + k})", err=True)
        results.append(_run_eval(model, data, data_root, factor, protocol, metrics, lpips_weights,
                                 keep_outputs=bool(report), color=color, shave=shave,
                                 niqe_params=niqe_params, no_reference=no_reference,
                                 degradation=degradation, seed=seed + k, params=params, outscale=outscale))
    agg = over_draws(results)
    text = format_draws(results, agg)
    if folder:
        from keras_sr.data.io import atomic_write_text

        folder.mkdir(exist_ok=True)
        for r in results:
            write_report(r, folder / f"seed_{r.degradation['seed']}")
        atomic_write_text(folder / "draws.json", json.dumps(agg, indent=2) + "\n")
        atomic_write_text(folder / "draws.txt", text + "\n")
        click.echo(f"report: {folder / 'draws.json'}, {folder / 'draws.txt'}, {folder}/seed_*/", err=True)
    if as_json:
        click.echo(json.dumps({"over_draws": agg, "results": [r.to_dict() for r in results]}, indent=2))
    else:
        click.echo(text)


@main.command()
@click.argument("model_a")
@click.argument("model_b")
@_dataset_options
@click.option("--figure", type=click.Path(), help="PNG of the images where A and B differ most.")
def compare(model_a, model_b, data, data_root, factor, color, shave, protocol, metrics, lpips_weights,
            as_json, figure, niqe_params, no_reference):
    """Two models on the same images: per-image table, wins/ties/losses, mean difference."""
    from keras_sr.evaluation.report import compare as run_compare
    from keras_sr.evaluation.report import compare_figure, format_compare

    if figure and not Path(figure).resolve().parent.is_dir():
        raise KerasSRError(f"figure folder does not exist: {Path(figure).parent}")
    if figure and (no_reference or (data and _no_reference_set(data, data_root))):
        raise UsageError("--figure needs a set with ground truth")
    ra = _run_eval(model_a, data, data_root, factor, protocol, metrics, lpips_weights, bool(figure),
                   color, shave, niqe_params, no_reference)
    rb = _run_eval(model_b, data, data_root, factor or ra.scale, protocol, metrics, lpips_weights,
                   bool(figure), color, shave, niqe_params, no_reference)
    cmp = run_compare(ra, rb)
    if figure:
        compare_figure(ra, rb, cmp, figure)
    click.echo(json.dumps(cmp, indent=2) if as_json else format_compare(cmp))


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--output", "-o", required=True, type=click.Path(), help="Output folder (LR PNGs + params.json).")
@click.option("--degradation", default="realworld", show_default=True,
              help="realworld, realworld-accurate, light or bicubic.")
@factor_option
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed; each image's own seed derives from it and the file name.")
@click.option("--param", "param", multiple=True, metavar="NAME=VALUE",
              help="Override one RealWorldParams field, e.g. noise_range=1,15 (repeatable).")
@click.option("--mild", is_flag=True, help="Start from RealWorldParams.mild() (noise and JPEG halved).")
@click.option("--figure", type=click.Path(), help="PNG grid: HR | LR (nearest-upscaled) for a few images.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def degrade(inputs, output, degradation, factor, seed, param, mild, figure, overwrite):
    """Degrade HR images (files or folders) into LR PNGs (same stem) and params.json, the
    parameters drawn for each image. The same seed gives byte-identical outputs."""
    from keras_sr.data.degrade import degrade_files

    summary = degrade_files(inputs, output, degradation=degradation, factor=factor or 4, seed=seed,
                            overrides=list(param), mild=mild, figure=figure, overwrite=overwrite)
    for path in summary["written"]:
        click.echo(f"wrote {path}")
    click.echo(f"{len(summary['written'])} LR images and {summary['json']} written", err=True)


@main.command()
@click.argument("models", nargs=-1)
@click.option("--dataset", "--data", "-d", "data", help="Folder of images (or a set name under --data-root): "
              "HR images that --degradation turns into LR; a set without ground truth (RealSRSet, "
              "--no-reference) is the LR itself.")
@click.option("--data-root", type=click.Path(), help="Folder holding the benchmark sets (default: $KERAS_SR_DATA).")
@click.option("--output", "-o", type=click.Path(), help="The study folder to write.")
@click.option("--factor", "-f", type=int, callback=_check_factor,
              help="Upscaling factor (default: the models' own).")
@click.option("--degradation", default="bicubic", show_default=True,
              help="How the LR is made from the HR: bicubic, light or realworld (seeded per image, as the ladder).")
@click.option("--seed", type=int, default=0, show_default=True, help="light/realworld: seed of the degradation.")
@click.option("--crop", type=int, default=128, show_default=True,
              help="Crop side in LR px (shown at crop x factor image px), where the image has the most detail.")
@click.option("--pairs", type=int, default=30, show_default=True, help="Pairs shown in one session.")
@click.option("--images", type=int, help="Use the first N images (by name; default all).")
@click.option("--ties/--no-ties", default=True, show_default=True, help="Offer a 'same' choice.")
@click.option("--no-reference", is_flag=True, help="The images are the LR inputs (no ground truth, no LPIPS).")
@click.option("--lpips-weights", type=click.Path(),
              help="lpips_alex_v0.1.npz (default: $KERAS_SR_WEIGHTS or the cache folder).")
@click.option("--overwrite", is_flag=True, help="Replace an existing study folder.")
@click.option("--results", is_flag=True, help="Read votes files (the arguments) and print the results.")
@click.option("--study", "study_dir", type=click.Path(), help="--results: the study folder to check the votes "
              "against (default: the votes files must agree with each other).")
@click.option("--json", "as_json", is_flag=True, help="--results: print JSON.")
def study(models, data, data_root, output, factor, degradation, seed, crop, pairs, images, ties, no_reference,
          lpips_weights, overwrite, results, study_dir, as_json):
    """A blind pairwise preference study of MODELS (zoo names, run folders, .keras files, or
    bicubic), as a static page: keras-sr study A B --dataset DIR -o STUDY/. Then
    keras-sr study --results votes-*.json [--study STUDY/]: win rates, Bradley-Terry scores and
    LPIPS agreement (see docs/study.md)."""
    from keras_sr.evaluation import study as st

    if results:
        given = [name for name, v in (("--dataset", data), ("--output", output), ("--factor", factor),
                                      ("--images", images), ("--overwrite", overwrite)) if v]
        if given:
            raise UsageError(f"{given[0]} is for building a study, not for --results")
        res = st.results_from_files(models, study_dir)
        click.echo(json.dumps(res, indent=2) if as_json else st.format_results(res))
        return
    if study_dir or as_json:
        raise UsageError("--study and --json are for --results")
    if not data:
        raise UsageError("missing --dataset DIR (the images of the study)")
    if not output:
        raise UsageError("missing --output STUDY_DIR")
    from keras_sr.data.datasets import resolve_dataset

    manifest = st.build_study(list(models), resolve_dataset(data, data_root), output, factor=factor,
                              degradation=degradation, seed=seed, crop=crop, pairs=pairs, images=images,
                              ties=ties, no_reference=no_reference, lpips_weights=lpips_weights,
                              overwrite=overwrite, echo=lambda m: click.echo(m, err=True))
    for n in manifest["notes"]:
        click.echo(f"note: {n}", err=True)
    n_img, n_mod = len(manifest["images"]), len(manifest["models"])
    click.echo(f"study {manifest['study_id'][:12]} in {output}: {n_img} images x {n_mod} models "
               f"({n_img * n_mod * (n_mod - 1) // 2} pairs, {min(pairs, n_img * n_mod * (n_mod - 1) // 2)} "
               f"per session), x{manifest['settings']['factor']}. Open {Path(output) / 'index.html'} (or serve "
               f"it, e.g. `python -m http.server -d {output}`); collect the votes-*.json files and run "
               f"`keras-sr study --results votes-*.json --study {output}`")


@main.command()
@click.option("--output", "-o", required=True, type=click.Path(), help="Folder to write the PNGs to.")
def samples(output):
    """Write the built-in sample photos (from scikit-image) as PNG files."""
    from keras_sr.data.io import write_image
    from keras_sr.data.samples import SAMPLE_NAMES, sample_image

    out = Path(output)
    if not out.parent.is_dir():
        raise KerasSRError(f"output folder's parent does not exist: {out.parent}")
    out.mkdir(exist_ok=True)
    for name in SAMPLE_NAMES:
        target = out / f"{name}.png"
        if not target.exists():
            write_image(target, sample_image(name))
        click.echo(str(target))


@main.command()
@click.argument("model", required=False)
@factor_option
@denoise_option("Bake MODEL blended with its weak-denoise sibling at this strength into the export, as "
                "`upscale --denoise` (1 = MODEL, 0 = the sibling); metadata.json says which.")
@click.option("--tflite", "modes", default=None, is_flag=False, flag_value="fp32",
              help="Comma-separated TFLite modes: fp32, fp16, dynamic, int8 (bare --tflite = fp32).")
@click.option("--saved-model", is_flag=True, help="Also keep the SavedModel (always written; "
              "this flag alone exports no TFLite).")
@click.option("--out", "-o", type=click.Path(), help="Export folder (default exports/<model name>).")
@click.option("--input-size", help="HxW: also write fixed-shape variants for this LR input size.")
@click.option("--calibration", type=click.Path(), help="int8 calibration images (default: built-in samples).")
@click.option("--int8-io", type=click.Choice(["float", "int8"]), default="float", show_default=True,
              help="Input/output type of the raw int8 model.")
@click.option("--int8-float-layer", "int8_float_layers", multiple=True, help="Keep this layer's ops float in "
              "int8 files (repeatable; e.g. an output conv that costs int8 parity). Default: the card's "
              "int8_float_layers for shipped models, else none.")
@click.option("--parity-data", type=click.Path(), help="Images for the parity check (default: "
              "$KERAS_SR_DATA/Set5 when present, else the built-in samples).")
@click.option("--tolerance", multiple=True, help="MODE=VALUE, e.g. int8=0.3 (fp32: max |diff|; "
              "others: PSNR loss in dB).")
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder.")
@click.option("--web", "web", type=click.Path(), help="Also write a static web page that upscales photos in "
              "the browser (LiteRT.js, int8 tile model) to this folder; without --out only the page is kept "
              "(--input-size becomes the tile window).")
@click.option("--web-runtime", type=click.Path(), help="node_modules folder with @litertjs/core 2.5.3 for --web "
              "(default: $KERAS_SR_WEB_RUNTIME, else web/node_modules of the source tree after `npm ci`).")
@click.option("--web-tile", type=int, default=64, show_default=True, help="LR core of a web tile (px); the "
              "tile model's input adds the model's context on each side.")
def export(model, factor, denoise, modes, saved_model, out, input_size, calibration, int8_io, int8_float_layers,
           parity_data, tolerance, overwrite, web, web_runtime, web_tile):
    """Export MODEL (zoo name, .keras file or run folder; default: the shipped default of
    --factor, as `upscale`) to SavedModel + TFLite with a parity check (--web: and a web page)."""
    import os

    from keras_sr.export import MODES, TOLERANCES, ExportConfig
    from keras_sr.export.exporter import export as run
    from keras_sr.export.exporter import format_parity

    model = _chosen_model(model, factor)
    mode_list = [m.strip() for m in (modes or ("" if saved_model else "fp32")).split(",") if m.strip()]
    for m in mode_list:
        if m not in MODES:
            raise click.BadParameter(f"unknown quantization mode {m!r} ({', '.join(MODES)})",
                                     param_hint="'--tflite'")
    size = None
    if input_size:
        try:
            h, w = (int(v) for v in input_size.lower().split("x"))
            assert h >= 2 and w >= 2
            size = (h, w)
        except (ValueError, AssertionError):
            raise click.BadParameter(f"expected HxW with H, W >= 2, got {input_size!r}",
                                     param_hint="'--input-size'") from None
    tol = dict(TOLERANCES)
    for item in tolerance:
        try:
            key, value = item.split("=")
            assert key in MODES
            tol[key] = float(value)
        except (ValueError, AssertionError):
            raise click.BadParameter(f"expected MODE=VALUE, got {item!r}", param_hint="'--tolerance'") from None
    if calibration and not Path(calibration).is_dir():
        raise KerasSRError(f"calibration folder not found: {calibration}")
    if parity_data is None and os.environ.get("KERAS_SR_DATA"):
        candidate = Path(os.environ["KERAS_SR_DATA"]) / "Set5"
        parity_data = str(candidate) if candidate.is_dir() else None
    if out is None and web is None:
        out = f"exports/{Path(str(model).rstrip('/')).stem}" + (f"-denoise{denoise:g}" if denoise is not None else "")
        Path("exports").mkdir(exist_ok=True)
    cfg = ExportConfig(model=model, out=out, modes=mode_list, input_size=size, calibration=calibration,
                       int8_io=int8_io, tolerances=tol, parity_data=parity_data, overwrite=overwrite,
                       factor=factor, denoise=denoise, int8_float_layers=tuple(int8_float_layers) or None)
    if web is not None:
        from keras_sr.export.web import export_web

        try:
            config = export_web(cfg, web, runtime=web_runtime, tile=web_tile,
                                progress=lambda m: click.echo(m, err=True))
        except KerasSRError as exc:
            if out and Path(out, "parity.md").exists():
                click.echo(Path(out, "parity.md").read_text(), err=True)
            raise exc
        click.echo(format_parity(config["parity"]))
        click.echo(f"web page in {web} ({config['window']}x{config['window']} px tiles, context "
                   f"{config['context']} px): serve it, e.g. `python -m http.server -d {web}`, and open "
                   "http://127.0.0.1:8000/")
        return
    try:
        report = run(cfg, progress=lambda m: click.echo(m, err=True))
    except KerasSRError as exc:
        if Path(out, "parity.md").exists():
            click.echo(Path(out, "parity.md").read_text(), err=True)
        raise exc
    click.echo(format_parity(report))
    click.echo(f"exported to {out}")


@main.command()
@click.argument("model")
@click.option("--sizes", default="256,512", show_default=True, help="Input sizes (square), comma-separated.")
@click.option("--modes", default="fp32,fp16,dynamic,int8", show_default=True, help="TFLite modes.")
@click.option("--runs", default=10, show_default=True, type=click.IntRange(3, 10000))
@click.option("--threads", type=int, help="CPU threads for Keras and LiteRT (default: all cores, both).")
@click.option("--json", "as_json", is_flag=True)
def bench(model, sizes, modes, runs, threads, as_json):
    """Latency of MODEL in Keras vs its TFLite variants (ratios to Keras, same run)."""
    from keras_sr.bench import bench as run
    from keras_sr.bench import format_bench

    try:
        size_list = [int(s) for s in sizes.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected integers, got {sizes!r}", param_hint="'--sizes'") from None
    result = run(model, sizes=size_list, modes=[m.strip() for m in modes.split(",")], runs=runs,
                 threads=threads, progress=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(result, indent=2) if as_json else format_bench(result))


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path())
@click.option("--out", "-o", required=True, type=click.Path(), help="Shard folder.")
@click.option("--shard-size", type=click.FloatRange(0.1, None), default=64, show_default=True, help="MB per shard.")
@click.option("--factor", "-f", type=int, callback=_check_factor, help="Record the factor the shards are for.")
@click.option("--overwrite", is_flag=True)
def prepare(data, out, shard_size, factor, overwrite):
    """Decode, validate and write images into TFRecord shards with a manifest."""
    from keras_sr.data.shards import prepare as run

    manifest = run(data, out, shard_mb=shard_size, factor=factor, overwrite=overwrite)
    click.echo(f"{manifest['count']} images in {len(manifest['shards'])} shard(s) -> {out} "
               f"({len(manifest['skipped'])} skipped)")


@main.command("import")
@click.argument("weights", required=False, type=click.Path())
@click.option("--output", "-o", required=True, type=click.Path(), help="The .keras file to write (a card "
              "<name>.json is written beside it).")
@click.option("--arch", type=click.Choice(["auto", "rrdbnet", "srvgg"]), default="auto", show_default=True,
              help="Architecture (auto: recognised from the key names).")
@click.option("--scale", type=int, help="Check the scale inferred from the weights' shapes.")
@click.option("--degradation", help="Name of what the model was trained on (default: unknown).")
@click.option("--blend", "blends", multiple=True, metavar="PATH:WEIGHT",
              help="Interpolate the weights of checkpoints of one architecture (Real-ESRGAN's -dn), "
                   "repeatable, weights summing to 1: --blend a.pth:0.3 --blend b.pth:0.7 (no WEIGHTS then).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file and card.")
def import_cmd(weights, output, arch, scale, degradation, blends, overwrite):
    """Import community weights WEIGHTS (PyTorch .pth/.pt, .safetensors, ncnn .param + .bin) into a
    .keras file: ESRGAN/Real-ESRGAN RRDBNet (BasicSR, ESRGAN old and new key layouts) and
    SRVGGNetCompact. The file is read without executing anything in it."""
    from keras_sr.errors import UsageError
    from keras_sr.importers import blend_weights, import_weights, load_any, parse_blend, save_imported

    if blends and weights:
        raise UsageError("give WEIGHTS or --blend PATH:WEIGHT ..., not both")
    if not blends and not weights:
        raise UsageError("missing WEIGHTS (or --blend PATH:WEIGHT ...)")
    out = Path(output)
    if out.suffix.lower() != ".keras":
        raise UsageError(f"--output must be a .keras file, got {out.name}")
    if (out.exists() or out.with_suffix(".json").exists()) and not overwrite:
        existing = out if out.exists() else out.with_suffix(".json")
        raise KerasSRError(f"{existing} exists (use --overwrite)")
    if blends:
        parts = parse_blend(blends)
        if any(Path(p).suffix.lower() == ".param" for p, _ in parts):
            raise KerasSRError("--blend takes PyTorch/safetensors checkpoints, not ncnn .param files")
        model = blend_weights(parts, arch=arch, scale=scale, degradation=degradation)
    elif Path(weights).suffix.lower() == ".param":
        if arch != "auto" or scale is not None:
            raise UsageError("--arch/--scale apply to PyTorch/safetensors checkpoints, not ncnn .param files")
        model = load_any(weights, degradation=degradation)
    else:
        model = import_weights(weights, arch=arch, scale=scale, degradation=degradation)
    card = save_imported(model, out, overwrite=overwrite, command="keras-sr " + " ".join(sys.argv[1:]))
    hyper = ", ".join(f"{k} {v}" for k, v in (card.get("hyperparameters") or {}).items()
                      if k not in ("scale", "channels"))
    click.echo(f"wrote {out} ({card['architecture']} x{card['scale']}{', ' + hyper if hyper else ''}; "
               f"{card['params']:,} params; degradation {card['degradation']}) and {out.with_suffix('.json')}")


@main.command("models")
@click.option("--json", "as_json", is_flag=True)
def list_models(as_json):
    """Shipped models (name, scale, params, size, Set5 PSNR and LPIPS, degradation) and architectures.

    LPIPS (AlexNet, lower = perceptually closer) is measured for the RGB models. Real-world
    models also show PSNR on Set5 degraded by ``realworld`` (seed 0; bicubic on the same LR in
    parentheses): they are made for degraded photos, not clean downscales."""
    from keras_sr.models import ARCHITECTURES
    from keras_sr.zoo import BENCHMARK_MODELS, PHOTO_MODELS, cards, default_model

    zoo = cards()
    if as_json:
        defaults = {}
        for factor in (2, 3, 4):  # what upscale/export pick without --model (null: none installed)
            try:
                defaults[str(factor)] = default_model(factor)[0]
            except KerasSRError:
                defaults[str(factor)] = None
        click.echo(json.dumps({"shipped": zoo, "defaults": defaults,
                               "architectures": {k: v.description for k, v in ARCHITECTURES.items()}}, indent=2))
        return
    click.echo("Shipped models" + ("" if zoo else ": none yet"))
    if zoo:
        click.echo(f"{'name':<15} {'scale':>5} {'params':>8} {'size KB':>8} {'Set5 PSNR':>10} {'Set5 LPIPS':>10}"
                   f"  {'degradation':<12} degraded Set5 PSNR (bicubic)")
        for name, c in zoo.items():
            set5 = c.get("measured", {}).get("Set5") or {}
            psnr, lpips = (f"{set5[k]:{f}}" if k in set5 else "-" for k, f in (("psnr", ".2f"), ("lpips", ".3f")))
            real = (c.get("measured_realworld") or {}).get("Set5")
            heavy = ((c.get("measured_ladder") or {}).get("Set5") or {}).get("heavy")  # the same LR (seed 0)
            real = (f"{real['psnr']:.2f} ({real['bicubic_psnr']:.2f})" if real else
                    f"{heavy['model_psnr']:.2f} ({heavy['bicubic_psnr']:.2f})" if heavy else "-")
            click.echo(f"{name:<15} {c['scale']:>5} {c['params']:>8} {c['bytes'] / 1024:>8.0f} "
                       f"{psnr:>10} {lpips:>10}  {c['degradation']:<12} {real}")
        defaults = []
        for factor in sorted(set(PHOTO_MODELS) | set(BENCHMARK_MODELS)):
            try:
                name, note = default_model(factor)
            except KerasSRError:
                continue
            defaults.append(f"x{factor} {name}" + (" (bicubic-trained: no real-world model)" if note else ""))
        click.echo(f"\nDefault for photos (upscale/export without --model): {', '.join(defaults) or 'none'}")
    click.echo("\nArchitectures (keras-sr train ARCH)")
    width = max(map(len, ARCHITECTURES))
    for name, spec in ARCHITECTURES.items():
        click.echo(f"{name:<{width}}  {spec.input_mode:<14} {spec.description}")


if __name__ == "__main__":  # pragma: no cover
    main()
