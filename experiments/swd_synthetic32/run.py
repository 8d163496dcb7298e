"""SWD before and after training a 32 px GAN on synthetic faces (see README.md here).

    PYTHONPATH=. python experiments/swd_synthetic32/run.py [--workdir=DIR] [--epochs=12]

Step 0 is the untrained generator exactly as training starts it: GAN(config) seeds Keras with
config.seed before building the networks, so a fresh GAN(config) holds the step-0 weights. Every
epoch's checkpoint is then measured with the same real images, noise seeds and SWD seed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import tensorflow as tf

from kerasgan import evaluate_lib, rundir
from kerasgan.gan import GAN
from kerasgan.networks import Generator


def train_flags(args):
    return [f"--workdir={args.workdir}", "--dataset=synthetic", "--image_size=32",
            "--num_synthetic=2048", "--batch_size=32", "--latent_dim=100",
            f"--arch={args.arch}", "--g_lr=2e-4",
            "--d_lr=2e-4", "--beta1=0.5", f"--epochs={args.epochs}", "--log_every=64",
            "--max_to_keep=100", f"--seed={args.seed}"]


def checkpoint_generator(config, path):
    generator = Generator(image_size=config.image_size, latent_dim=config.latent_dim,
                          arch=config.arch)
    generator(tf.zeros((1, config.latent_dim)))
    tf.train.Checkpoint(generator=generator).restore(path).expect_partial()
    return generator


def swd(generator, config, args):
    results = evaluate_lib.evaluate_generator(generator, config, "swd", args.num_samples,
                                              seed=0)
    return {r["metric"]: r["value"] for r in results}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="/tmp/swd_synthetic32")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--num_samples", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", default="dcgan")
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)

    command = [sys.executable, "-m", "kerasgan.train", *train_flags(args)]
    print("$", " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    train_seconds = time.perf_counter() - start

    config = rundir.read_config(args.workdir)
    rows = [(0, 0, swd(GAN(config).generator, config, args))]
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(), os.path.join(args.workdir, rundir.CHECKPOINT_DIR), None)
    for path in manager.checkpoints:
        step, epoch = evaluate_lib.checkpoint_counters(path)
        rows.append((step, epoch, swd(checkpoint_generator(config, path), config, args)))

    names = list(rows[0][2])
    print(f"\ntraining: {train_seconds:.0f} s for {rows[-1][0]} steps; SWD x1e3 of "
          f"{args.num_samples} generated vs {args.num_samples} real 32 px images, seed 0")
    print("| step | epoch | " + " | ".join(names) + " |")
    print("|---:|---:|" + "---:|" * len(names))
    for step, epoch, values in rows:
        print(f"| {step} | {epoch} | " + " | ".join(f"{values[n]:.1f}" for n in names) + " |")
    first, last = rows[0][2]["swd_avg"], rows[-1][2]["swd_avg"]
    print(f"\nswd_avg: step 0 {first:.1f} -> step {rows[-1][0]} {last:.1f} "
          f"({'lower' if last < first else 'NOT lower'} after training)")


if __name__ == "__main__":
    main()
