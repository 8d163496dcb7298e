"""XLA and float16 on a GPU, preset by preset: the train step's time with --jit_compile and
--mixed_precision=mixed_float16 each on and off, and whether the four agree on the first losses.

    python experiments/gpu_check.py                          # a GPU: every preset at its size
    python experiments/gpu_check.py --presets=quick32,dcgan64 --steps=200
    python experiments/gpu_check.py --smoke                  # a CPU: quick32 at 16 px, ~1/2 min

For each preset and mode the preset's GAN (its networks, batch and stabilisers) trains on the same
built-in synthetic faces: --check_steps steps whose d_loss and g_loss are compared with the mode
without XLA in float32, then --steps timed steps (the first call, tracing and compiling, is timed
on its own). The modes must see the same numbers, so:
  * z comes from a fixed bank, call by call: XLA's kernel draws other normals from the same
    generator state (docs/speed.md);
  * D's dropout (the seed networks) is off: XLA draws other masks from the same seed;
  * the folder presets augment with p = 0: every augmentation is still computed, but no image is
    chosen by a random draw.
A mode agrees when each of those losses is within TOLERANCE of float32's, |a - b| <= tol * (1 +
|b|): 1e-2 for XLA in float32 (cuDNN and XLA pick other convolution algorithms, both may use
TF32 on Ampere and later GPUs), 5e-2 with float16 (about 3 significant digits per operation).

Prints one markdown table. --smoke runs on the CPU at 16 px with 8 channels, XLA's CPU code
generation at its cheapest: it checks that the script and the four modes run, not their speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

SMOKE_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
MODES = ((False, False), (True, False), (False, True), (True, True))  # (XLA, float16)
TOLERANCE = {(True, False): 1e-2, (False, True): 5e-2, (True, True): 5e-2}
SMOKE = dict(image_size=16, channels=8, batch_size=8)


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="", help="comma-separated; default every preset "
                        "(quick32 with --smoke)")
    parser.add_argument("--check_steps", type=int, default=3,
                        help="steps whose losses are compared")
    parser.add_argument("--steps", type=int, default=0, help="timed steps (default 100, 3 with "
                        "--smoke)")
    parser.add_argument("--smoke", action="store_true", help="CPU, 16 px, 8 channels, batch 8")
    return parser.parse_args()


def preset_config(preset: str, smoke: bool, xla: bool, float16: bool):
    """The preset's config in one mode, as gpu_check trains it (see the module docstring)."""
    from kerasgan import config as config_lib
    changes = dict(jit_compile="true" if xla else "false",
                   mixed_precision="mixed_float16" if float16 else "off",
                   dataset="synthetic", holdout=0.0, **(SMOKE if smoke else {}))
    if config_lib.PRESETS[preset].get("augment"):
        changes["augment_p"] = "0"
    return config_lib.make_config(preset, **changes)


def same_noise_gan(config, bank):
    """A GAN whose z, call after call, is the next of bank [n, batch, latent] (cyclically), and
    whose dropout layers are off."""
    import keras
    import tensorflow as tf

    from kerasgan import gan as gan_lib

    class SameNoiseGAN(gan_lib.GAN):
        def __init__(self):
            super().__init__(config)
            self.bank = tf.constant(bank)
            self.calls = tf.Variable(0, dtype=tf.int32, trainable=False)
            for layer in self.discriminator._flatten_layers():
                if isinstance(layer, keras.layers.Dropout):
                    layer.rate = 0.0

        def _noise(self, batch):
            z = tf.gather(self.bank, self.calls % len(bank))
            self.calls.assign_add(1)
            return z

    return SameNoiseGAN()


def run_mode(config, batches, bank, check_steps: int, steps: int) -> dict:
    """Trains check_steps steps (their losses kept), then times steps more."""
    import tensorflow as tf
    gan = same_noise_gan(config, bank)
    groups = [tf.identity(tf.constant(b[:, None])) for b in batches]
    start = time.perf_counter()
    metrics = gan.train_steps(groups[0])
    losses = [(float(metrics["d_loss"]), float(metrics["g_loss"]))]
    first_call = time.perf_counter() - start
    for i in range(1, check_steps):
        metrics = gan.train_steps(groups[i % len(groups)])
        losses.append((float(metrics["d_loss"]), float(metrics["g_loss"])))
    start = time.perf_counter()
    for i in range(steps):
        metrics = gan.train_steps(groups[i % len(groups)])
    float(metrics["d_loss"])  # waits for the last step
    seconds = (time.perf_counter() - start) / max(steps, 1)
    return dict(losses=losses, first_call=first_call, step=seconds, xla=gan.jit_compile,
                precision=gan.precision)


def difference(losses, baseline) -> float:
    """The largest |a - b| / (1 + |b|) over the steps' d_loss and g_loss."""
    return max(abs(a - b) / (1.0 + abs(b))
               for step, base in zip(losses, baseline) for a, b in zip(step, base))


def check_preset(preset: str, smoke: bool, check_steps: int, steps: int) -> list[dict]:
    """The four modes of one preset, each a table row's values."""
    import numpy as np

    from kerasgan import data
    config = preset_config(preset, smoke, False, False)
    count = config.batch_size * max(check_steps, 2)
    faces = data.synthetic_faces(range(count), config.image_size, config.seed)
    batches = np.split(faces.astype("float32") / 127.5 - 1.0, count // config.batch_size)
    bank = np.random.default_rng(config.seed).standard_normal(
        (8, config.batch_size, config.latent_dim)).astype("float32")
    rows = []
    for xla, float16 in MODES:
        result = run_mode(preset_config(preset, smoke, xla, float16), batches, bank,
                          check_steps, steps)
        if (xla, float16) == (False, False):
            baseline = result
        rows.append(dict(result, preset=preset, batch=config.batch_size,
                         diff=difference(result["losses"], baseline["losses"]),
                         tolerance=TOLERANCE.get((xla, float16), 0.0),
                         speedup=baseline["step"] / result["step"]))
    return rows


def table(rows, check_steps: int) -> str:
    lines = ["| preset | XLA | float16 | first call (s) | ms/step | images/s | speed-up | "
             f"loss difference, first {check_steps} steps (tolerance) | agrees |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["tolerance"]:
            agreement = (f"{r['diff']:.1e} ({r['tolerance']:g}) | "
                         f"{'yes' if r['diff'] <= r['tolerance'] else '**no**'}")
        else:
            agreement = "— | —"
        lines.append(f"| {r['preset']} | {'on' if r['xla'] else 'off'} | "
                     f"{'on' if r['precision'] == 'mixed_float16' else 'off'} | "
                     f"{r['first_call']:.1f} | {1000 * r['step']:.1f} | "
                     f"{r['batch'] / r['step']:.0f} | {r['speedup']:.2f}× | {agreement} |")
    return "\n".join(lines)


def main():
    args = _parse()
    if args.smoke:
        os.environ.setdefault("XLA_FLAGS", SMOKE_XLA_FLAGS)
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import tensorflow as tf

    from kerasgan import config as config_lib
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.smoke:
        sys.exit("gpu_check: no GPU visible; --smoke checks the script on the CPU at 16 px")
    presets = [p for p in args.presets.split(",") if p] or (
        ["quick32"] if args.smoke else list(config_lib.PRESETS))
    steps = args.steps or (3 if args.smoke else 100)
    device = (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
              if gpus else "CPU")
    print(f"{device}, TensorFlow {tf.__version__}; {steps} timed steps"
          f"{', smoke: 16 px, 8 channels, batch 8' if args.smoke else ''}", flush=True)
    rows = [row for preset in presets
            for row in check_preset(preset, args.smoke, args.check_steps, steps)]
    print(table(rows, args.check_steps))
    if any(r["diff"] > r["tolerance"] for r in rows if r["tolerance"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
