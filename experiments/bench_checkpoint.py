"""What one checkpoint save costs, and what share of a run the checkpoint defaults take.

    python experiments/bench_checkpoint.py --image_size=128 --arch=seed --saves=5 --steps=3

Builds the run's GAN (G, D, both Adams with their slots), saves a RunCheckpoint `--saves` times
into a temporary folder (the first save, which also writes the object graph, is timed apart)
and times `--steps` training steps at `--batch_size` after one warm-up step. Prints the median
save, the checkpoint's size on disk and the share of wall time spent saving under the defaults
(--checkpoint_every_steps=500, --checkpoint_every_minutes=10, whichever first) for the measured
step and for a GPU step of --gpu_step_ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def share(save_s: float, step_s: float, every_steps: int = 500, every_minutes: float = 10.0):
    """(seconds between saves, share of wall time spent saving) under the two intervals."""
    interval = min(every_steps * step_s, every_minutes * 60.0)
    return interval, save_s / (interval + save_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--arch", default="seed")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--saves", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--gpu_step_ms", type=float, default=30.0)
    args = parser.parse_args()

    import tensorflow as tf

    from kerasgan import checkpointing, config as config_lib
    from kerasgan.gan import GAN

    config = config_lib.make_config(image_size=args.image_size, arch=args.arch,
                                    batch_size=args.batch_size, dataset="synthetic")
    gan = GAN(config)
    with tempfile.TemporaryDirectory() as workdir:
        checkpoint = checkpointing.RunCheckpoint(gan, workdir, max_to_keep=2)
        times = []
        for _ in range(args.saves + 1):
            start = time.perf_counter()
            path = checkpoint.save()
            times.append(time.perf_counter() - start)
            gan.step.assign_add(1)
        size = sum(os.path.getsize(p) for p in tf.io.gfile.glob(path + ".*"))
    save_s = statistics.median(times[1:])
    print(f"{args.arch} {args.image_size}px: checkpoint {size / 2**20:.1f} MiB, first save "
          f"{times[0]:.2f} s, median of {args.saves} later saves {save_s:.3f} s "
          f"(min {min(times[1:]):.3f}, max {max(times[1:]):.3f})")
    if args.steps:
        images = np.random.default_rng(0).uniform(
            -1, 1, (args.batch_size, 1, args.image_size, args.image_size, 3)).astype("float32")
        gan.train_steps(images)  # tracing
        start = time.perf_counter()
        for _ in range(args.steps):
            float(gan.train_steps(images)["d_loss"])
        step_s = (time.perf_counter() - start) / args.steps
        interval, fraction = share(save_s, step_s)
        print(f"train step (batch {args.batch_size}): {step_s:.2f} s; defaults save every "
              f"{interval:.0f} s: {100 * fraction:.2f} % of the run")
    interval, fraction = share(save_s, args.gpu_step_ms / 1000)
    print(f"GPU step of {args.gpu_step_ms:.0f} ms: defaults save every {interval:.0f} s: "
          f"{100 * fraction:.1f} % of the run")


if __name__ == "__main__":
    main()
