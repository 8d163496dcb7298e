"""TrainConfig: every knob of a run, its default, its check, the presets and the JSON round-trip.

The dataclass is the one source of truth: the command-line flags are generated from its fields
(see `cli.py`), and every run writes it to `RUN/config.json` so that resume, sample and evaluate
rebuild the run without repeating flags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from typing import Any, Mapping

from kerasgan.errors import ConfigError

IMAGE_SIZES = (16, 32, 64, 128, 256)
ARCHS = ("seed", "dcgan", "dcgan_resize", "resnet")
LOSSES = ("nonsaturating", "lsgan", "wgan-gp", "hinge")
DATASETS = ("celeba", "folder", "tfds", "synthetic")
SPLITS = ("train", "val", "test", "all")
NAN_POLICIES = ("stop", "skip_batch")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
JIT_COMPILE = ("auto", "true", "false")
MIXED_PRECISION = ("auto", "off", "mixed_float16", "mixed_bfloat16")
# What kerasgan.evaluate measures. attribute_accuracy (conditional runs) trains a classifier on
# the run's real images first, so training's periodic evaluation offers only the image metrics.
EVAL_METRICS = ("swd", "fid", "kid", "attribute_accuracy")
TRAINING_EVAL_METRICS = ("swd", "fid", "kid")
AUGMENTATIONS = ("color", "translation", "cutout")
ALIGN_FACES = ("largest", "all")
D_NORMS = ("none", "spectral")
G_CONDITIONINGS = ("concat", "cbn")
LR_DECAYS = ("none", "linear")

# Values that fields added after a run was written take when its config.json lacks them: the
# behaviour that run had, so an old run resumes as it trained (new runs get the dataclass default).
LEGACY_VALUES: dict[str, Any] = {"g_ema": False, "epoch_work_share": 1.0,
                                 "conditional_attributes": "", "label_scale": 0.1,
                                 "g_conditioning": "concat", "kimg": 0.0, "holdout": 0.0,
                                 "eval_every_kimg": 0.0, "lr_decay": "none",
                                 "lr_decay_start": 0.0}

# Fields that decide what the weights in a checkpoint mean, or which data trained them.
# A run directory whose config.json differs in any of these cannot be resumed with the new one.
IDENTITY_FIELDS = ("image_size", "arch", "latent_dim", "channels", "d_norm", "dataset", "loss",
                   "conditional_attributes", "label_scale", "g_conditioning", "align",
                   "align_faces", "holdout")

# An attribute name as CelebA's list_attr_celeba spells them: letters, digits and underscores,
# e.g. Smiling, Blond_Hair, 5_o_Clock_Shadow.
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")


def _field(default: Any, help_text: str) -> Any:
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. Defaults are the 128 px reference recipe (`seed128`)."""

    preset: str = _field("", "recipe to start from: quick32 or quick64 (built-in faces, CPU), "
                         "seed128, dcgan64, keras32, celeba64 or celeba128 (CelebA), or "
                         "folder32 / folder64 for your own face folder (with --data_dir); flags "
                         "override it")
    # Model.
    image_size: int = _field(128, "output side in pixels: 16, 32, 64, 128 or 256")
    arch: str = _field("seed", "network family: seed (8x8x512 start, the 128 px reference), "
                               "dcgan (Radford et al.), dcgan_resize (dcgan with G upsampling by "
                               "nearest-neighbour resize and 3x3 convolutions) or resnet "
                               "(SN-GAN's residual blocks)")
    latent_dim: int = _field(100, "size of the noise vector z")
    channels: int = _field(0, "width: G's first and D's last feature maps have this many "
                           "channels, halved per stage; 0 keeps the family's reference widths")
    d_norm: str = _field("none", "discriminator weight normalisation: none or spectral "
                         "(spectral normalisation, Miyato et al. 2018)")
    conditional_attributes: str = _field("", "train G and D on the data's attributes, comma-"
                                         "separated CelebA names (e.g. Smiling,Eyeglasses): G "
                                         "draws faces with the attributes asked for; empty "
                                         "for an unconditional GAN")
    label_scale: float = _field(0.1, "a conditional G's embedded labels relative to z: higher "
                                "obeys the attributes more and varies the faces less (at 1.0 "
                                "they collapsed to a few per attribute combination)")
    g_conditioning: str = _field("concat", "how a conditional G takes its attributes: concat "
                                 "(embedded labels joined to z, scaled by --label_scale) or cbn "
                                 "(conditional batch norm: the labels set every batch norm's "
                                 "scale and shift, from zero, so G starts unconditional)")
    # Optimisation.
    loss: str = _field("nonsaturating", "GAN loss: nonsaturating, lsgan, wgan-gp or hinge")
    batch_size: int = _field(128, "images per training step (global, across all replicas)")
    epochs: int = _field(105, "passes over the data; raising it extends a finished run")
    kimg: float = _field(0.0, "train for this many thousand images seen (as StyleGAN2-ADA "
                         "counts), whatever the folder's size: the epochs are derived from it "
                         "once the data is open; 0: --epochs decides")
    steps_per_epoch: int = _field(0, "steps per epoch; 0 means one full pass over the data")
    g_lr: float = _field(1e-4, "generator Adam learning rate")
    d_lr: float = _field(1e-4, "discriminator Adam learning rate")
    lr_decay: str = _field("none", "learning rates over the run: none (constant) or linear "
                           "(both fall linearly from --g_lr/--d_lr to zero at the run's last "
                           "step, as SN-GAN trained; raising --epochs later spreads the rest "
                           "of the fall over the longer run)")
    lr_decay_start: float = _field(0.0, "with --lr_decay=linear, the share of the run (0 to "
                                   "below 1) trained at the full rates before the fall begins")
    beta1: float = _field(0.9, "Adam beta1 for both networks")
    beta2: float = _field(0.999, "Adam beta2 for both networks")
    d_steps: int = _field(1, "discriminator updates per generator update (5 is usual for wgan-gp)")
    gp_weight: float = _field(10.0, "gradient-penalty weight for --loss=wgan-gp")
    r1_gamma: float = _field(0.0, "R1 penalty weight (gamma/2 * E||grad D(x)||^2 on real images, "
                             "Mescheder et al. 2018); 0 turns it off")
    r1_interval: int = _field(16, "steps between R1 penalties (lazy regularisation: the weight "
                              "is multiplied by the interval, as in StyleGAN2)")
    # Stabilisers.
    g_ema: bool = _field(True, "keep an exponential moving average of G's weights and use it for "
                         "sample grids, export, sample and evaluate")
    g_ema_kimg: float = _field(10.0, "half-life of the G average in thousands of images")
    g_ema_rampup: float = _field(0.05, "warm-up: the half-life is at most this fraction of the "
                                 "images seen so far (0 turns the warm-up off)")
    augment: str = _field("", "differentiable augmentations of D's inputs (DiffAugment), comma-"
                          "separated: color, translation, cutout; empty for none")
    augment_p: str = _field("auto", "augmentation probability: a number in [0, 1], or auto "
                            "(adapted so that D's sign on real images averages augment_target)")
    augment_target: float = _field(0.6, "--augment_p=auto: target of E[sign(D(real))]")
    augment_kimg: float = _field(100.0, "--augment_p=auto: thousands of images for p to move by 1")
    # Data.
    dataset: str = _field("celeba", "data source: celeba, folder, tfds or synthetic")
    data_dir: str = _field("", "folder (or zip) holding the images")
    split: str = _field("train", "CelebA partition: train, val, test or all")
    crop: int = _field(140, "CelebA centre square crop in pixels of the 178x218 image, "
                            "before resize")
    flip: bool = _field(False, "random horizontal flips")
    cache_dir: str = _field("", "where the preprocessed image cache goes "
                                "(default: inside data_dir)")
    align: bool = _field(False, "--dataset=folder: find the faces in each picture and align them "
                         "as CelebA's are (eyes level, at fixed places); needs pip install "
                         "kerasgan[align]")
    align_faces: str = _field("largest", "--align on a picture with several faces: largest "
                              "(one example per picture) or all (each face an example)")
    num_synthetic: int = _field(4096, "number of images in the synthetic-faces dataset")
    holdout: float = _field(0.0, "share of the images never trained on, held out to watch D "
                            "memorise (d_sign_train vs d_sign_heldout) and to measure the "
                            "generator; at least 16 images when > 0")
    # Run.
    workdir: str = _field("", "run directory (default: runs/<preset or dataset+size+arch+loss>)")
    seed: int = _field(0, "seed for weights, data order and noise")
    num_grid_samples: int = _field(64, "fixed-noise samples drawn into the grid after each epoch")
    log_every: int = _field(50, "steps between history rows and log lines")
    checkpoint_every_steps: int = _field(500, "steps between checkpoints (and one per epoch); "
                                         "0 turns step-based checkpoints off")
    checkpoint_every_minutes: float = _field(10.0, "minutes between checkpoints, whichever of "
                                             "this and --checkpoint_every_steps comes first; 0 "
                                             "turns time-based checkpoints off")
    epoch_work_share: float = _field(0.1, "largest share of the run's time that the per-epoch "
                                     "work (checkpoint, sample grid, plots, export) may take: with "
                                     "short epochs it is done every few epochs; "
                                     "1 means every epoch")
    max_to_keep: int = _field(3, "checkpoints kept on disk")
    nan_policy: str = _field("stop", "on a NaN/Inf loss: stop (keep the last good checkpoint) or "
                             "skip_batch (drop that update; stop after max_bad_steps in a row)")
    max_bad_steps: int = _field(10, "consecutive non-finite steps tolerated by "
                                    "--nan_policy=skip_batch")
    deterministic: bool = _field(False, "op determinism: a stopped and resumed run equals an "
                                 "uninterrupted one bit for bit (slower on GPU)")
    # Speed and scale (see docs/speed.md).
    strategy: str = _field("auto", "distribution: auto (multi_worker under a multi-task TF_CONFIG, "
                           "mirrored on 2+ GPUs, else one device), one_device, mirrored, "
                           "multi_worker or tpu")
    jit_compile: str = _field("auto", "XLA for the train step: auto (on with a GPU/TPU, off on "
                              "CPU where oneDNN is faster), true or false")
    mixed_precision: str = _field("auto", "auto (mixed_float16 on GPUs of compute capability 7.0+, "
                                  "off elsewhere), off, mixed_float16 or mixed_bfloat16")
    steps_per_call: int = _field(1, "train steps per compiled call (fewer Python round trips); "
                                 "must divide log_every and checkpoint_every_steps (when > 0)")
    sync_batchnorm: bool = _field(False, "batch-norm statistics over the global batch across "
                                  "replicas (synchronized) instead of each replica's own share")
    # Evaluation during training (python -m kerasgan.evaluate measures a run afterwards).
    eval_every_epochs: int = _field(0, "epochs between evaluations during training; 0 means never")
    eval_every_kimg: float = _field(0.0, "thousands of images between evaluations during "
                                    "training (at the first epoch end after each multiple, and "
                                    "at the run's end); 0: --eval_every_epochs decides")
    eval_metrics: str = _field("swd", "metrics evaluated during training: comma-separated swd, "
                               "fid, kid (fid and kid need the Inception weights)")
    eval_num_samples: int = _field(1024, "generated and real images per evaluation during "
                                   "training (compare only numbers made with the same count)")
    inception_weights: str = _field("", "Keras' InceptionV3 notop .h5 file for fid/kid (default: "
                                    "Keras' cache, else a download)")

    def __post_init__(self) -> None:
        # One spelling per meaning ("Smiling, Male" is "Smiling,Male"), so that config.json and
        # the identity check compare names, not spacing. Bad syntax is validate's to report.
        with contextlib.suppress(ConfigError):
            self.conditional_attributes = ",".join(
                parse_attribute_names(self.conditional_attributes))
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raises ConfigError naming the first field whose value is not allowed."""
        _choice("image_size", self.image_size, IMAGE_SIZES)
        _choice("arch", self.arch, ARCHS)
        _choice("loss", self.loss, LOSSES)
        _choice("dataset", self.dataset, DATASETS)
        _choice("split", self.split, SPLITS)
        _choice("nan_policy", self.nan_policy, NAN_POLICIES)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("jit_compile", self.jit_compile, JIT_COMPILE)
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        _choice("d_norm", self.d_norm, D_NORMS)
        _choice("align_faces", self.align_faces, ALIGN_FACES)
        if self.align and self.dataset != "folder":
            raise ConfigError(f"--align is not allowed with --dataset={self.dataset}: it finds "
                              "faces in a folder of pictures (--dataset=folder); CelebA's and the "
                              "synthetic faces are aligned already.")
        if self.preset:
            _choice("preset", self.preset, tuple(PRESETS))
        for name in ("latent_dim", "batch_size", "epochs", "d_steps", "num_synthetic",
                     "num_grid_samples", "log_every", "max_to_keep",
                     "crop", "max_bad_steps", "steps_per_call"):
            _positive(name, getattr(self, name))
        _at_least("steps_per_epoch", self.steps_per_epoch, 0)
        _at_least("checkpoint_every_steps", self.checkpoint_every_steps, 0)
        _at_least("checkpoint_every_minutes", self.checkpoint_every_minutes, 0.0)
        for name in ("g_lr", "d_lr"):
            _positive(name, getattr(self, name))
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"--{name}={value} is not allowed: use a value in [0, 1).")
        _at_least("gp_weight", self.gp_weight, 0.0)
        if not 0.0 < self.epoch_work_share <= 1.0:
            raise ConfigError(f"--epoch_work_share={self.epoch_work_share} is not allowed: use a "
                              "value in (0, 1].")
        _at_least("r1_gamma", self.r1_gamma, 0.0)
        _positive("r1_interval", self.r1_interval)
        _at_least("channels", self.channels, 0)
        if self.channels and self.channels < 8:
            raise ConfigError(f"--channels={self.channels} is not allowed: use 0 (the reference "
                              "widths) or at least 8.")
        _positive("g_ema_kimg", self.g_ema_kimg)
        _at_least("g_ema_rampup", self.g_ema_rampup, 0.0)
        parse_augment(self.augment)
        parse_augment_p(self.augment_p)
        _positive("augment_kimg", self.augment_kimg)
        if not 0.0 < self.augment_target < 1.0:
            raise ConfigError(f"--augment_target={self.augment_target} is not allowed: use a "
                              "value in (0, 1).")
        for name in ("log_every", "checkpoint_every_steps"):
            if getattr(self, name) % self.steps_per_call:  # 0 (off) is divisible by any k
                raise ConfigError(f"--steps_per_call={self.steps_per_call} is not allowed: it must "
                                  f"divide --{name}={getattr(self, name)}.")
        _at_least("eval_every_epochs", self.eval_every_epochs, 0)
        _at_least("eval_every_kimg", self.eval_every_kimg, 0.0)
        _at_least("kimg", self.kimg, 0.0)
        if not 0.0 <= self.holdout < 0.5:
            raise ConfigError(f"--holdout={self.holdout} is not allowed: use a share in [0, 0.5), "
                              "e.g. 0.05 (0 holds no images out).")
        if self.holdout and self.conditional_attributes:
            raise ConfigError(f"--holdout={self.holdout} is not allowed with "
                              "--conditional_attributes: the held-out memorisation signal and "
                              "evaluation are unconditional; use --holdout=0.")
        _at_least("eval_num_samples", self.eval_num_samples, 2)
        parse_metrics(self.eval_metrics, "eval_metrics", TRAINING_EVAL_METRICS)
        parse_attribute_names(self.conditional_attributes)
        _positive("label_scale", self.label_scale)
        _choice("g_conditioning", self.g_conditioning, G_CONDITIONINGS)
        _choice("lr_decay", self.lr_decay, LR_DECAYS)
        if not 0.0 <= self.lr_decay_start < 1.0:
            raise ConfigError(f"--lr_decay_start={self.lr_decay_start} is not allowed: use a "
                              "share of the run from 0 to below 1")
        return self

    # The comma-separated fields as the values they mean, parsed by the one function per field
    # that validate() checks them with; everything downstream reads these, not the strings.
    @property
    def attribute_names(self) -> tuple[str, ...]:
        """--conditional_attributes as names, in label-column order; () when unconditional."""
        return parse_attribute_names(self.conditional_attributes)

    @property
    def augment_ops(self) -> tuple[str, ...]:
        """--augment as operations, in the canonical order; () for none."""
        return parse_augment(self.augment)

    @property
    def fixed_augment_p(self) -> float | None:
        """--augment_p as a probability; None when adaptive (auto)."""
        return parse_augment_p(self.augment_p)

    @property
    def eval_metric_names(self) -> tuple[str, ...]:
        """--eval_metrics as metric names, in order, without repeats."""
        return parse_metrics(self.eval_metrics, "eval_metrics", TRAINING_EVAL_METRICS)

    @property
    def run_name(self) -> str:
        """The default run directory name: the same command always resumes the same run."""
        return self.preset or f"{self.dataset}{self.image_size}_{self.arch}_{self.loss}"

    def resolved_workdir(self) -> str:
        return self.workdir or os.path.join("runs", self.run_name)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """Builds a config from a mapping, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        """A stored config; fields it predates take their LEGACY_VALUES (what that run did)."""
        values = json.loads(text)
        if isinstance(values, dict):
            values = {**{k: v for k, v in LEGACY_VALUES.items() if k not in values}, **values}
        return cls.from_dict(values)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def identity_diff(self, other: "TrainConfig") -> dict[str, tuple[Any, Any]]:
        """Fields in IDENTITY_FIELDS where `other` differs from self: {field: (self, other)}."""
        return {name: (getattr(self, name), getattr(other, name)) for name in IDENTITY_FIELDS
                if getattr(self, name) != getattr(other, name)}


# Faces within 5 to 8 minutes on a 2-core CPU, no download (experiments/time_to_faces): a narrow
# 32 px DCGAN, hinge loss and a spectrally normalised D, G averaged, on 16,384 built-in synthetic
# faces (4,096 let D memorise them within the five minutes), in batches of 16: twice the updates
# of batch 32 in the same time, which learned faster per second.
_QUICK32 = dict(image_size=32, arch="dcgan", channels=128, latent_dim=64, batch_size=16,
                epochs=16, g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.999, loss="hinge",
                d_norm="spectral", dataset="synthetic", num_synthetic=16384, g_ema=True,
                g_ema_kimg=20.0)
# GPU recipes for CelebA, not yet run anywhere: the residual networks with SN-GAN's and BigGAN's
# published settings (hinge loss, spectral norm in D, two D steps per G step, Adam beta1 0 with
# D learning 4x faster, G averaged), ~100k G steps of batch 64 (experiments/README.md: why, and
# their estimated GPU cost).
_CELEBA64 = dict(image_size=64, arch="resnet", channels=512, latent_dim=128, batch_size=64,
                 epochs=40, g_lr=1e-4, d_lr=4e-4, beta1=0.0, beta2=0.999, loss="hinge",
                 d_norm="spectral", d_steps=2, dataset="celeba", g_ema=True)

PRESETS: dict[str, dict[str, Any]] = {
    # Full rates for the first half, then falling to zero: trained three times as long it ends
    # where it ends at its own length instead of drifting back up (experiments/time_to_faces).
    "quick32": dict(_QUICK32, lr_decay="linear", lr_decay_start=0.5),
    # quick32 at 64 px with constant rates, lazy R1 (gamma 0.1), which kept D from winning
    # outright, and resize-convolutions in G, which learned faster than transposed ones.
    "quick64": dict(_QUICK32, image_size=64, arch="dcgan_resize", epochs=21, r1_gamma=0.1),
    # The reference: 128 px faces, CelebA, 105 epochs, batch 128, Adam(1e-4) on both networks.
    "seed128": dict(image_size=128, arch="seed", latent_dim=100, batch_size=128, epochs=105,
                    g_lr=1e-4, d_lr=1e-4, beta1=0.9, beta2=0.999, loss="nonsaturating"),
    # DCGAN (Radford et al. 2016) at 64 px: 4x4x512 start, N(0, 0.02) init, Adam 2e-4, beta1 0.5.
    "dcgan64": dict(image_size=64, arch="dcgan", latent_dim=128, batch_size=128, epochs=20,
                    g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.999, loss="nonsaturating"),
    # The classic 32 px Keras face GAN: 100-d noise, Adam 2e-4 beta1 0.5, batch 128.
    "keras32": dict(image_size=32, arch="seed", latent_dim=100, batch_size=128, epochs=100,
                    g_lr=2e-4, d_lr=2e-4, beta1=0.5, beta2=0.999, loss="nonsaturating"),
    "celeba64": _CELEBA64,
    "celeba128": dict(_CELEBA64, image_size=128),
}
# Your own face folder (--dataset=folder --data_dir=DIR, 100-5,000 images): quick32's networks
# and optimiser, flips and DiffAugment with ADA's probability against memorisation, 5 % held out
# to watch D memorise and to keep the generator that scores best on them, and a budget in images
# seen rather than epochs, so a small folder and a large one train as long: folder32's ends in
# about 15 minutes on a 2-core CPU; folder64's is sized to about four times the cost per image
# (experiments/own_faces/README.md).
_FOLDER = {name: value for name, value in _QUICK32.items()
           if name not in ("epochs", "num_synthetic", "dataset")}
_FOLDER["batch_size"] = 32  # as measured for these presets, before quick32 moved to batch 16
PRESETS["folder32"] = dict(_FOLDER, dataset="folder", flip=True, holdout=0.05,
                           eval_every_kimg=40.0, augment="color,translation,cutout",
                           augment_p="auto", kimg=400.0)
PRESETS["folder64"] = dict(PRESETS["folder32"], image_size=64, kimg=100.0, eval_every_kimg=10.0)
del _FOLDER, _QUICK32, _CELEBA64


def make_config(preset: str = "", **overrides: Any) -> TrainConfig:
    """A config from an optional preset, with explicit overrides winning over the preset."""
    values: dict[str, Any] = {}
    if preset:
        _choice("preset", preset, tuple(PRESETS))
        values.update(PRESETS[preset])
        values["preset"] = preset
    values.update(overrides)
    return TrainConfig.from_dict(values)


def check_attribute_accuracy(metrics, run: "TrainConfig", workdir: str) -> None:
    """ConfigError when metrics name attribute_accuracy for a run trained without attributes
    (kerasgan.evaluate asks before TensorFlow loads; evaluate_lib.evaluate_run asks again for
    library callers)."""
    if "attribute_accuracy" in metrics and not run.conditional_attributes:
        raise ConfigError(f"--metrics=attribute_accuracy needs a conditional run: {workdir} "
                          "was trained without --conditional_attributes")


def parse_metrics(text: str, flag: str = "metrics",
                  choices: tuple[str, ...] = EVAL_METRICS) -> tuple[str, ...]:
    """"swd,fid" -> ("swd", "fid"), in order, without repeats; ConfigError naming --flag and the
    choices (EVAL_METRICS for kerasgan.evaluate, TRAINING_EVAL_METRICS for --eval_metrics)."""
    names = [part.strip().lower() for part in str(text).split(",") if part.strip()]
    unknown = [name for name in names if name not in choices]
    if not names or unknown:
        raise ConfigError(f"--{flag}={text} is not allowed: use one or more of "
                          f"{', '.join(choices)}, comma-separated")
    return tuple(dict.fromkeys(names))


def parse_attribute_names(text: str) -> tuple[str, ...]:
    """"Smiling,Eyeglasses" -> ("Smiling", "Eyeglasses"), in the order given (the order of the
    label columns); () for "". Checks the syntax only (whether the data has these attributes is
    the data source's to say); ConfigError naming --conditional_attributes otherwise."""
    text = str(text)
    if not text.strip():
        return ()
    names = [part.strip() for part in text.split(",")]
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    bad = [name for name in names if name and not _ATTRIBUTE_NAME.fullmatch(name)]
    if not all(names):
        problem = "a name is empty (two commas in a row, or one at an end)"
    elif repeated:
        problem = f"{', '.join(repeated)} named more than once"
    elif bad:
        problem = (f"{', '.join(repr(name) for name in bad)} is not an attribute name (letters, "
                   "digits and underscores, as in Smiling, Blond_Hair, 5_o_Clock_Shadow)")
    else:
        return tuple(names)
    raise ConfigError(f"--conditional_attributes={text} is not allowed: {problem}; use "
                      "comma-separated names, e.g. Smiling,Eyeglasses")


def parse_augment(text: str) -> tuple[str, ...]:
    """"color,cutout" -> ("color", "cutout"), in the canonical order; () for ""."""
    names = {part.strip().lower() for part in str(text).split(",") if part.strip()}
    unknown = sorted(names - set(AUGMENTATIONS))
    if unknown:
        raise ConfigError(f"--augment={text} is not allowed: use none, or one or more of "
                          f"{', '.join(AUGMENTATIONS)}, comma-separated")
    return tuple(name for name in AUGMENTATIONS if name in names)


def parse_augment_p(text: str) -> float | None:
    """"auto" -> None (adaptive); "0.3" -> 0.3; ConfigError naming --augment_p otherwise."""
    if str(text).strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--augment_p={text} is not allowed: use auto or a number in [0, 1].")
    return value


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"--{name}={value} is not allowed: use one of "
                          f"{', '.join(str(a) for a in allowed)}.")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"--{name}={value} is not allowed: it must be greater than 0.")


def _at_least(name: str, value: float, low: float) -> None:
    if not value >= low:
        raise ConfigError(f"--{name}={value} is not allowed: it must be at least {low}.")
