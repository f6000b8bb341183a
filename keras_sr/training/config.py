"""Training configuration as a dataclass, resolved from defaults < recipe < explicit options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# Defaults per architecture family (SRCNN follows SRCNN-keras: Adam 3e-4, MSE, batch 128).
# LR-space models: Adam 1e-3, batch 64, HR patches of 24 LR pixels (patch_size None = auto).
ARCH_DEFAULTS = {
    "srcnn": dict(lr=3e-4, batch_size=128, patch_size=32),
    "fsrcnn": dict(lr=1e-3, batch_size=64, patch_size=None),
    "espcn": dict(lr=1e-3, batch_size=64, patch_size=None),
    "abpn": dict(lr=1e-3, batch_size=64, patch_size=None),
    # SRResNet/SRGAN (Ledig et al.): RGB, Adam 1e-4, batch 16, 96 px HR crops at x4.
    "srresnet": dict(lr=1e-4, batch_size=16, patch_size=None, color_space="rgb"),
    "srgan": dict(lr=1e-4, batch_size=16, patch_size=None, color_space="rgb", content="vgg"),
    # Real-ESRGAN (Wang et al. 2021): RGB; stage 1 (Real-ESRNet) is a plain L1 run of the
    # generator (srvgg / rrdbnet, Adam 2e-4), stage 2 (realesrgan) L1 + perceptual + 0.1 GAN with
    # the U-Net discriminator, Adam 1e-4, EMA 0.999, unsharp-masked targets.
    "srvgg": dict(lr=2e-4, batch_size=16, patch_size=None, color_space="rgb", loss="l1"),
    "rrdbnet": dict(lr=2e-4, batch_size=16, patch_size=None, color_space="rgb", loss="l1"),
    "realesrgan": dict(lr=1e-4, batch_size=16, patch_size=None, color_space="rgb", content="pixel",
                       loss="l1", adv_weight=0.1, perceptual_weight=1.0, ema=0.999, usm_targets=True,
                       degradation="realworld"),
}
# GAN families trained by keras_sr.training.gan.SRGAN, and their discriminators.
GAN_DISCRIMINATORS = {"srgan": "vgg", "realesrgan": "unet"}
LR_PATCH = 24

RECIPES = {
    # SRCNN-keras's full recipe (main.py): legacy degradation, OpenCV Y, 32/16 sliding windows
    # with 20x20 labels (valid convs), Adam 3e-4, MSE, batch 128, 200 epochs, x2.
    "srcnn-keras": dict(arch="srcnn", factor=2, degradation="bilinear-legacy",
                        color_space="y-opencv", patch_mode="sliding", patch_size=32, stride=16,
                        epochs=200, batch_size=128, lr=3e-4, loss="mse"),
}


@dataclass
class TrainConfig:
    """Everything that determines a training run (saved as ``config.json`` in the run folder).

    ``data`` empty = the built-in scikit-image sample photos. ``lr_data``: folders of the
    same images at ``1/factor`` size (matched by file stem), used instead of degrading ``data``. ``steps_per_epoch`` None = one
    pass worth of patches over the training pixels ('random' mode) or all windows ('sliding').
    """

    arch: str = "srcnn"
    factor: int = 2
    data: list = field(default_factory=list)
    lr_data: list = field(default_factory=list)  # paired LR folders (matched to `data` by stem)
    out: str = "runs/srcnn_x2"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 3e-4
    loss: str = "mse"
    degradation: str = "bicubic"
    degradation_params: dict = field(default_factory=dict)  # realworld: RealWorldParams overrides
    color_space: str = "y-bt601"
    patch_size: int | None = 32
    patch_mode: str = "random"
    stride: int = 16
    steps_per_epoch: int | None = None
    schedule: str = "constant"
    content: str = "pixel"  # GAN content loss: "pixel" (``loss``) or "vgg"
    adv_weight: float = 1e-3
    pixel_weight: float = 0.0  # srgan: weight of a pixel MSE term added to the content loss (0 = paper)
    lpips_weight: float = 0.0  # srgan: weight of an LPIPS term in the generator loss (0 = paper)
    lpips_net: str = "vgg"  # srgan: LPIPS network of that term (vgg: independent of the alex evaluation)
    d_filters: int = 64  # srgan: discriminator base channels (paper 64; 64..512 over 8 convs)
    vgg_layer: str = "conv5_3"
    vgg_weights: str | None = None
    vgg19_weights: str | None = None
    strategy: str = "default"  # default, mirrored, multiworker, tpu
    mixed_precision: bool = False  # alias of precision="fp16" (kept equal to it)
    precision: str = "fp32"  # fp32, bf16 (AVX512-BF16/AMX CPUs, Ampere+ GPUs) or fp16 (GPUs)
    pair_reuse: int = 1  # each degraded (input, label) pair serves this many steps (flipped/rotated)
    track: list = field(default_factory=lambda: ["tensorboard"])  # tensorboard, mlflow, none
    augment_on: str = "pipeline"  # or "device": flips/rot90/degradation inside the step (LR-space models, GANs)
    ema: float = 0.0  # GANs: momentum of the generator-weight EMA that is saved (0 = off)
    perceptual_weight: float = 0.0  # GANs: weight of the multi-layer VGG16 L1 perceptual term
    usm_targets: bool = False  # GANs: pixel/perceptual terms against unsharp-masked HR
    val_fraction: float = 0.1
    seed: int = 0
    init: str | None = None
    recipe: str | None = None
    arch_kwargs: dict = field(default_factory=dict)
    # distillation (`keras-sr distill`; see keras_sr.training.distill)
    teacher: str | None = None  # anything load_model takes; None = plain training
    teacher_license: str | None = None  # overrides the licence the teacher's record names
    pool_size: int = 2048  # teacher outputs cached on disk (crop, degradation draw) pairs
    teacher_weight: float = 1.0  # L1 to the teacher's output
    hr_weight: float = 0.0  # L1 to the HR crop
    color_weight: float = 0.0  # L1 between 8x8 means of the output and of the HR crop
    init_from_teacher: bool = False  # copy the teacher's first convs and its output conv
    gan_stage: bool = False  # distill through SRGAN, the teacher's output as "real" (set by an --adv-weight > 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def resolve(cls, arch: str, recipe: str | None = None, **explicit) -> "TrainConfig":
        """Defaults, then the architecture's defaults, then the recipe, then explicit values
        (``None`` values are 'not given')."""
        from keras_sr.errors import UsageError

        values: dict = {"arch": arch}
        family = arch if arch in ARCH_DEFAULTS else arch.split("-")[0]
        values.update(ARCH_DEFAULTS.get(family, {}))
        if recipe is not None:
            if recipe not in RECIPES:
                raise UsageError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
            rec = RECIPES[recipe]
            if rec.get("arch") and rec["arch"] != arch:
                raise UsageError(f"recipe {recipe!r} is for {rec['arch']}, not {arch}")
            values.update(rec)
            values["recipe"] = recipe
        names = {f.name for f in fields(cls)}
        for k, v in explicit.items():
            if k not in names:
                raise TypeError(f"unknown config field {k}")
            if v is not None and v != () and v != []:
                values[k] = list(v) if isinstance(v, tuple) else v
        if values.get("mixed_precision") and explicit.get("precision") not in (None, "fp16"):
            raise UsageError(f"--mixed-precision is --precision fp16; it contradicts --precision "
                             f"{explicit['precision']}")
        if values.get("mixed_precision"):
            values["precision"] = "fp16"
        cfg = cls(**values)
        from keras_sr.training.precision import check_precision

        check_precision(cfg.precision)
        cfg.mixed_precision = cfg.precision == "fp16"
        if cfg.teacher is not None and explicit.get("adv_weight") is not None:
            # distill's GAN stage: on with an explicit --adv-weight > 0 (the 1e-3 default of srgan
            # stays in the config of plain distill runs, so their resumes still match)
            if cfg.adv_weight < 0:
                raise UsageError(f"--adv-weight must be >= 0, got {cfg.adv_weight}")
            cfg.gan_stage = cfg.adv_weight > 0
        elif cfg.gan_stage and cfg.teacher is None:
            raise UsageError("gan_stage is distill's GAN stage: it needs a teacher")
        if cfg.precision == "fp16" and (cfg.arch in GAN_DISCRIMINATORS or cfg.gan_stage):
            step = "distill GAN stage" if cfg.gan_stage else cfg.arch
            raise UsageError(f"--precision fp16 needs loss scaling, which the {step} step does not do; "
                             "use bf16 or fp32")
        if cfg.teacher is not None:
            if cfg.arch in GAN_DISCRIMINATORS:
                raise UsageError(f"distill trains a plain student; {cfg.arch} is a GAN (distil into srvgg, then "
                                 "train realesrgan --init from it, or add a GAN stage with --adv-weight)")
            if cfg.pool_size < 1 or min(cfg.teacher_weight, cfg.hr_weight, cfg.color_weight) < 0:
                raise UsageError("--pool-size must be >= 1 and the loss weights >= 0")
            if cfg.lr_data or cfg.patch_mode != "random" or cfg.augment_on != "pipeline" or cfg.pair_reuse > 1:
                raise UsageError("distill trains on its teacher pool: --lr-data, --patch-mode sliding, "
                                 "--augment-on device and --pair-reuse do not apply")
        elif cfg.init_from_teacher:
            raise UsageError("--init-from-teacher needs --teacher")
        if cfg.pair_reuse < 1:
            raise UsageError(f"--pair-reuse must be >= 1, got {cfg.pair_reuse}")
        if cfg.pair_reuse > 1 and cfg.patch_mode != "random":
            raise UsageError("--pair-reuse re-mixes random patches; it does not apply to --patch-mode sliding")
        if cfg.pair_reuse > 8 and cfg.augment_on == "device":
            raise UsageError(f"--pair-reuse with --augment-on device serves each pair under distinct rotations/"
                             f"flips: at most 8, got {cfg.pair_reuse}")
        if cfg.patch_size is None:
            cfg.patch_size = LR_PATCH * cfg.factor
        if cfg.schedule not in ("constant", "cosine"):
            raise UsageError(f"unknown schedule {cfg.schedule!r} (constant or cosine)")
        if cfg.content not in ("pixel", "vgg"):
            raise UsageError(f"unknown content loss {cfg.content!r} (pixel or vgg)")
        if cfg.lpips_net not in ("vgg", "alex"):
            raise UsageError(f"--lpips-net must be vgg or alex, got {cfg.lpips_net!r}")
        if cfg.augment_on not in ("pipeline", "device"):
            raise UsageError(f"--augment-on must be pipeline or device, got {cfg.augment_on!r}")
        if cfg.augment_on == "device" and cfg.arch not in GAN_DISCRIMINATORS:
            from keras_sr.models import get_architecture

            if get_architecture(cfg.arch).input_mode != "lr":
                raise UsageError("--augment-on device is implemented for LR-space models and GANs, "
                                 f"not the pre-upsampling {cfg.arch}")
        if cfg.ema and ((cfg.arch not in GAN_DISCRIMINATORS and not cfg.gan_stage) or not 0 < cfg.ema < 1):
            raise UsageError(f"--ema is a momentum in (0, 1) for {'/'.join(GAN_DISCRIMINATORS)} and distill's "
                             f"GAN stage (--adv-weight > 0), got {cfg.ema} for {cfg.arch}")
        if cfg.perceptual_weight < 0 or (cfg.perceptual_weight and cfg.arch not in GAN_DISCRIMINATORS
                                         and not cfg.teacher):
            raise UsageError(f"--perceptual-weight is a weight >= 0 for {'/'.join(GAN_DISCRIMINATORS)}, "
                             f"got {cfg.perceptual_weight} for {cfg.arch}")
        if cfg.usm_targets and cfg.arch not in GAN_DISCRIMINATORS:
            raise UsageError(f"--usm-targets is for {'/'.join(GAN_DISCRIMINATORS)}, not {cfg.arch}")
        return cfg
