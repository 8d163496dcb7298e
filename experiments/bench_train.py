"""Training-step throughput of kerasgan against two reference GAN loops on the same networks.

    python experiments/bench_train.py --image_size=64 --batch_size=64
    python experiments/bench_train.py --image_size=32,64,128 --batch_size=64   # the README table
    python experiments/bench_train.py --quick                                   # smoke run, seconds
    python experiments/bench_train.py --jit_compile=false --mixed_precision=off # GPU: no XLA, fp32

Loops, each in its own subprocess because TF_ENABLE_ONEDNN_OPTS is read when TensorFlow loads:
  kerasgan  the step as `python -m kerasgan.train` runs it: the package's defaults (oneDNN on, and
            --strategy/--jit_compile/--mixed_precision=auto, or the values given here), fed by its
            own tf.data pipeline.
  kerasio   a keras.io-style GAN (keras.Model with train_step, D on concatenated real+fake with
            noisy labels, then G) trained by model.fit, TensorFlow defaults.
  tutorial  the TensorFlow DCGAN tutorial's tf.function step (two tapes), TensorFlow defaults.
"TensorFlow defaults" depend on the CPU: TF 2.21 turns oneDNN on by itself only on CPUs with
AVX512_VNNI, AVX512_BF16 or AMX, and leaves it off on AVX2-only CPUs (such as the 2-core AMD
EPYC machines this project also runs on).
--reference_onednn=default (the default) leaves TF_ENABLE_ONEDNN_OPTS unset for the two
reference loops, so they get what TensorFlow picks on this machine; `off` gives them the AVX2
machines' default (oneDNN off) anywhere. Each row says what TensorFlow actually ran.
All three use the same kerasgan Generator and Discriminator: --arch=dcgan (default; latent 128,
the dcgan64 recipe) or seed (latent 100).
Rounds are interleaved (kerasgan, kerasio, tutorial, kerasgan, ...) and the best round of each loop
is reported, which damps the noise of a shared machine. The keras.io loop is timed inside one
model.fit call (from the end of an extra first step to the end of the last), so fit's set-up and
tear-down are not charged to its few timed steps.

FLOPs per trained image are counted analytically from the layer shapes: forward multiply-adds of
every Dense/Conv2D/Conv2DTranspose, times 2, for G once and D twice (real and fake), times 3 for the
forward and backward passes (the usual estimate; it ignores batch norm and activations). The peak
is a 4096x4096 float32 tf.linalg.matmul in a tf.function (1024x1024 with --quick), oneDNN on,
measured before every round of the same run; the highest is used.
The last line is `speedup_vs_kerasio=X.XX speedup_vs_tutorial=Y.YY peak_fraction=Z.ZZ` at 64 px
(or the last size given when 64 is not among them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPS = ("kerasgan", "kerasio", "tutorial")
REFERENCE_ONEDNN = {"default": None, "off": "0", "on": "1"}


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_size", default="64", help="comma-separated sizes, e.g. 32,64,128")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--arch", default="dcgan", choices=("dcgan", "seed"))
    parser.add_argument("--steps", type=int, default=0, help="timed steps per round (0: by size)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after tracing")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per loop")
    parser.add_argument("--jit_compile", default="auto", help="kerasgan loop: auto, true, false")
    parser.add_argument("--mixed_precision", default="auto",
                        help="kerasgan loop: auto, off, mixed_float16, mixed_bfloat16")
    parser.add_argument("--reference_onednn", default="default", choices=tuple(REFERENCE_ONEDNN),
                        help="oneDNN for the kerasio and tutorial loops: TensorFlow's own choice "
                             "for this CPU (default), off or on")
    parser.add_argument("--quick", action="store_true", help="16 px, batch 8, 2 steps, 1 round, "
                        "a 1024x1024 peak")
    parser.add_argument("--peak_size", type=int, default=4096, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


# ------------------------------------------------------------------------------------------------
# Workers: one loop (or the matmul peak) per process.

def _latent(arch):
    return 128 if arch == "dcgan" else 100


def _networks(args):
    from kerasgan import networks
    return networks.build_networks(args.image_size, _latent(args.arch), args.arch)


def _images(image_size, count):
    from kerasgan import data
    return data.synthetic_faces(range(count), image_size)


def kerasgan_loop(args):
    """kerasgan's GAN as `python -m kerasgan.train` builds it (synthetic data) and run(n), which
    trains n steps. args: image_size, batch_size, arch, jit_compile, mixed_precision."""
    from kerasgan import config as config_lib, data, distribute, gan as gan_lib
    config = config_lib.make_config(image_size=args.image_size, batch_size=args.batch_size,
                                    arch=args.arch, latent_dim=_latent(args.arch),
                                    dataset="synthetic", num_synthetic=args.batch_size * 4,
                                    jit_compile=args.jit_compile,
                                    mixed_precision=args.mixed_precision)
    strategy = distribute.make_strategy(config.strategy)
    gan = gan_lib.GAN(config, strategy)
    source = data.ImageSource("synthetic", _images(args.image_size, config.num_synthetic))
    dataset = source.dataset(args.batch_size).repeat()
    dataset = distribute.distribute_dataset(
        distribute.group_steps(dataset, config.steps_per_call, 0), strategy)
    iterator = iter(dataset)

    def run(n):
        for _ in range(n):
            metrics = gan.train_steps(next(iterator))
            float(metrics["d_loss"]), float(metrics["g_loss"])
    return gan, run


def _kerasgan(args, steps):
    import tensorflow as tf
    gan, run = kerasgan_loop(args)
    info = dict(jit=gan.jit_compile, precision=gan.precision,
                strategy=type(gan.strategy).__name__, replicas=gan.strategy.num_replicas_in_sync)
    return run, info, tf


def _kerasio(args, steps):
    import keras
    import tensorflow as tf
    generator, discriminator = _networks(args)
    latent_dim = _latent(args.arch)

    class KerasIoGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = generator, discriminator
            self.seed_generator = keras.random.SeedGenerator(1337)

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, real_images):
            ops = keras.ops
            batch = ops.shape(real_images)[0]
            z = keras.random.normal((batch, latent_dim), seed=self.seed_generator)
            generated = self.generator(z)
            combined = ops.concatenate([generated, real_images], axis=0)
            labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
            labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(combined))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = keras.random.normal((batch, latent_dim), seed=self.seed_generator)
            misleading = ops.zeros((batch, 1))
            with tf.GradientTape() as tape:
                g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    model = KerasIoGAN()
    model.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4),
                  keras.losses.BinaryCrossentropy(from_logits=True))
    images = _images(args.image_size, args.batch_size * 4).astype("float32") / 127.5 - 1.0
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(
        args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def run(n):
        """n steps inside one fit call, timed from the end of an extra first step to the end of
        the last: the steady state of a long fit. fit's own set-up and tear-down (on this VM
        sometimes ~10 s, irregularly) would otherwise be charged to the few timed steps."""
        marks = []
        clock = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: marks.append(time.perf_counter()))
        model.fit(dataset, epochs=1, steps_per_epoch=n + 1, verbose=0, callbacks=[clock])
        return marks[-1] - marks[0]
    return run, {}, tf


def _tutorial(args, steps):
    import keras
    import tensorflow as tf
    generator, discriminator = _networks(args)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([args.batch_size, _latent(args.arch)])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    images = _images(args.image_size, args.batch_size * 4).astype("float32") / 127.5 - 1.0
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(
        args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    iterator = iter(dataset)

    def run(n):
        for _ in range(n):
            gen_loss, disc_loss = train_step(next(iterator))
            float(gen_loss), float(disc_loss)
    return run, {}, tf


def _peak(n):
    import tensorflow as tf
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.linalg.matmul(x, y)))
    float(matmul(a, b))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        float(matmul(a, b))
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def _worker(args):
    if args.worker == "peak":
        import tensorflow as tf
        return {"flops_per_sec": _peak(args.peak_size), "tensorflow": tf.__version__,
                "gpus": len(tf.config.list_physical_devices("GPU"))}
    args.image_size = int(args.image_size)
    run, info, tf = {"kerasgan": _kerasgan, "kerasio": _kerasio, "tutorial": _tutorial}[
        args.worker](args, args.steps)
    return {**time_loop(run, args.steps, args.warmup, args.batch_size),
            "onednn": _onednn_on(), "tf": tf.__version__, **info}


def time_loop(run, steps: int, warmup: int, batch_size: int) -> dict:
    """Images/s of run(steps) after run(1 + warmup) (tracing and warm-up, timed apart)."""
    start = time.perf_counter()
    run(1 + warmup)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    measured = run(steps)  # a loop that times itself returns its own figure
    elapsed = measured if measured is not None else time.perf_counter() - start
    return {"images_per_sec": steps * batch_size / elapsed, "seconds": elapsed,
            "trace_and_warmup_s": setup}


# ------------------------------------------------------------------------------------------------
# The driver: FLOP count, interleaved subprocess rounds, the table.

def _conv_flops(layer, in_shape, out_shape) -> int:
    """2 x multiply-adds of one convolution (transposed or not) per image; 0 for other layers."""
    import keras
    layer = getattr(layer, "layer", layer)  # a spectrally normalised layer: the wrapped one
    if isinstance(layer, keras.layers.Conv2DTranspose):
        k = layer.kernel_size
        return 2 * in_shape[1] * in_shape[2] * k[0] * k[1] * in_shape[-1] * out_shape[-1]
    if isinstance(layer, keras.layers.Conv2D):
        k = layer.kernel_size
        return 2 * out_shape[1] * out_shape[2] * k[0] * k[1] * in_shape[-1] * out_shape[-1]
    return 0


def _block_flops(layer, shape) -> int:
    """A residual block's convolutions (networks.blocks.ResidualUp / ResidualDown) per image."""
    from kerasgan.networks import blocks
    h, w, c, width = shape[1], shape[2], shape[-1], layer.filters
    if isinstance(layer, blocks.ResidualUp):  # all three at the doubled resolution
        big = (1, 2 * h, 2 * w)
        return (_conv_flops(layer.conv1, (*big, c), (*big, width))
                + _conv_flops(layer.conv2, (*big, width), (*big, width))
                + _conv_flops(layer.shortcut, (*big, c), (*big, width)))
    shortcut = (1, h // 2, w // 2) if layer.first else (1, h, w)  # the first pools before it
    return (_conv_flops(layer.conv1, (1, h, w, c), (1, h, w, width))
            + _conv_flops(layer.conv2, (1, h, w, width), (1, h, w, width))
            + _conv_flops(layer.shortcut, (*shortcut, c), (*shortcut, width)))


def layer_flops(model, shape) -> list[int]:
    """Forward FLOPs per image (2 x multiply-adds) of each Dense, convolution and residual block
    of a kerasgan network (spectrally normalised or not), in order, for an input of `shape`
    (batch 1)."""
    import keras

    from kerasgan.networks import blocks
    flops = []
    for layer in model.net.layers:
        out_shape = layer.compute_output_shape(shape)
        inner = getattr(layer, "layer", layer)  # a spectrally normalised layer: the wrapped one
        if isinstance(inner, keras.layers.Dense):
            flops.append(2 * shape[-1] * out_shape[-1])
        elif isinstance(inner, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            flops.append(_conv_flops(inner, shape, out_shape))
        elif isinstance(layer, (blocks.ResidualUp, blocks.ResidualDown)):
            flops.append(_block_flops(layer, shape))
        shape = out_shape
    return flops


def train_flops_per_image(image_size: int, latent_dim: int = 100, arch: str = "seed",
                          channels: int = 0, d_steps: int = 1) -> float:
    """FLOPs per real image of one train step, from the layer shapes: 3 x forward FLOPs of
    G(z) + D(real) + D(fake) (see the docstring). With d_steps > 1 (separate updates), each D
    update costs G's forward and 3 x D on real and fake, and G's update 3 x (G + D)."""
    from kerasgan import networks
    generator, discriminator = networks.build_networks(image_size, latent_dim, arch,
                                                       channels=channels)
    g = sum(layer_flops(generator, (1, latent_dim)))
    d = sum(layer_flops(discriminator, (1, image_size, image_size, 3)))
    if d_steps == 1:
        return 3 * (g + 2 * d)
    return d_steps * (g + 6 * d) + 3 * (g + d)


def _onednn_on() -> bool:
    """Whether TensorFlow runs its oneDNN ops in this process (TF_ENABLE_ONEDNN_OPTS or its
    CPU-dependent default)."""
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())


def _run_worker(name, args, size, steps, timeout):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    # kerasgan and the peak run as `python -m kerasgan.train` does (oneDNN on); the references
    # as asked by --reference_onednn.
    onednn = REFERENCE_ONEDNN[args.reference_onednn] if name in ("kerasio", "tutorial") else "1"
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    command = [sys.executable, os.path.abspath(__file__), f"--worker={name}",
               f"--image_size={size}", f"--batch_size={args.batch_size}", f"--steps={steps}",
               f"--warmup={args.warmup}", f"--arch={args.arch}", f"--peak_size={args.peak_size}",
               f"--jit_compile={args.jit_compile}", f"--mixed_precision={args.mixed_precision}"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{name} at {size} px failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def _default_steps(size, quick):
    return 2 if quick else {16: 20, 32: 20, 64: 8, 128: 3, 256: 2}[size]


def main():
    args = _parse()
    if args.worker:
        sys.path.insert(0, ROOT)
        print(json.dumps(_worker(args)))
        return
    if args.quick:
        args.image_size, args.batch_size, args.rounds, args.warmup = "16", 8, 1, 0
        args.peak_size = 1024
    sys.path.insert(0, ROOT)
    sizes = [int(s) for s in args.image_size.split(",")]
    # This VM's speed drifts; noise only ever lowers a measured peak, so it is measured again
    # before every round and the highest value is kept.
    peaks = []

    def measure_peak():
        result = _run_worker("peak", args, sizes[0], 1, 600)
        if not peaks:  # TensorFlow is loaded in the workers only
            print(f"arch {args.arch}; TensorFlow {result['tensorflow']}; {os.cpu_count()} CPU "
                  f"cores; GPUs: {result['gpus']}; batch {args.batch_size}; best of "
                  f"{args.rounds} interleaved round(s)", flush=True)
        peaks.append(result["flops_per_sec"])
        print(f"  matmul peak ({args.peak_size}^2 float32, oneDNN on): "
              f"{peaks[-1] / 1e9:.1f} GFLOP/s", flush=True)
    results = {}
    for size in sizes:
        steps = args.steps or _default_steps(size, args.quick)
        best = {}
        for round_index in range(args.rounds):
            measure_peak()
            for name in LOOPS:
                result = _run_worker(name, args, size, steps, 1800)
                print(f"  {size:>3} px round {round_index + 1} {name:<9} "
                      f"{result['images_per_sec']:8.1f} images/s  "
                      f"({json.dumps({k: v for k, v in result.items() if k != 'images_per_sec'})})",
                      flush=True)
                if result["images_per_sec"] > best.get(name, {}).get("images_per_sec", 0):
                    best[name] = result
        results[size] = best
    peak = max(peaks)
    print(f"\nmatmul peak: {peak / 1e9:.1f} GFLOP/s (best of {len(peaks)}, lowest "
          f"{min(peaks) / 1e9:.1f})")
    print("| loop | " + " | ".join(f"{s} px" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    def reference(name, text):
        setting = {"default": "TF defaults", "off": "oneDNN forced off",
                   "on": "oneDNN forced on"}[args.reference_onednn]
        state = "on" if results[sizes[0]][name]["onednn"] else "off"
        return f"{text}, {setting} (oneDNN {state})"

    labels = {"kerasio": reference("kerasio", "keras.io-style model.fit GAN"),
              "tutorial": reference("tutorial", "TF-tutorial tf.function step"),
              "kerasgan": ("kerasgan step (--jit_compile={}, --mixed_precision={}: "
                           "XLA {}, {})").format(
                  args.jit_compile, args.mixed_precision, results[sizes[0]]["kerasgan"]["jit"],
                  results[sizes[0]]["kerasgan"]["precision"])}
    for name in ("kerasio", "tutorial", "kerasgan"):
        print(f"| {labels[name]} | " + " | ".join(
            f"{results[s][name]['images_per_sec']:.1f}" for s in sizes) + " |")
    fractions = {}
    for size in sizes:
        flops = train_flops_per_image(size, _latent(args.arch), args.arch)
        fractions[size] = results[size]["kerasgan"]["images_per_sec"] * flops / peak
        print(f"{size} px: train FLOPs/image {flops / 1e9:.3f} G (analytic); kerasgan "
              f"{results[size]['kerasgan']['images_per_sec'] * flops / 1e9:.1f} GFLOP/s = "
              f"{fractions[size]:.2f} of the matmul peak")
    key = 64 if 64 in results else sizes[-1]
    last = results[key]
    ours = last["kerasgan"]["images_per_sec"]
    print(f"speedup_vs_kerasio={ours / last['kerasio']['images_per_sec']:.2f} "
          f"speedup_vs_tutorial={ours / last['tutorial']['images_per_sec']:.2f} "
          f"peak_fraction={fractions[key]:.2f}")


if __name__ == "__main__":
    main()
