"""kerasgan's training step with its fused batch norm against the same step with Keras' own layer.

    python experiments/bench_batchnorm.py --image_size=64 --batch_size=64   # about 4 minutes on CPU

Both variants are bench_train.py's `kerasgan` loop (package defaults, synthetic data, dcgan arch),
each round in its own subprocess, rounds interleaved; the best and the median round are
reported (this VM's speed drifts by 10-20 % over minutes). The `keras` variant
builds the networks with keras.layers.BatchNormalization in place of
kerasgan.layers.FusedBatchNormalization; nothing else differs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ("fused", "keras")


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--arch", default="dcgan", choices=("dcgan", "seed"))
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


def _worker(args):
    sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]
    if args.variant == "keras":
        import keras
        from kerasgan import networks
        networks.FusedBatchNormalization = keras.layers.BatchNormalization
    import bench_train
    args.jit_compile, args.mixed_precision = "auto", "auto"
    _, run = bench_train.kerasgan_loop(args)
    return bench_train.time_loop(run, args.steps, warmup=2, batch_size=args.batch_size)


def main():
    args = _parse()
    if args.variant:
        print(json.dumps(_worker(args)))
        return
    # As `python -m kerasgan.train` runs: oneDNN on unless the caller set it.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               TF_ENABLE_ONEDNN_OPTS=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1"))
    speeds = {variant: [] for variant in VARIANTS}
    for round_index in range(args.rounds):
        for variant in VARIANTS:
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), f"--variant={variant}",
                 f"--image_size={args.image_size}", f"--batch_size={args.batch_size}",
                 f"--arch={args.arch}", f"--steps={args.steps}"],
                capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
            speed = json.loads(lines[-1])["images_per_sec"]
            print(f"round {round_index + 1} {variant:<6} batch norm: {speed:7.1f} images/s",
                  flush=True)
            speeds[variant].append(speed)
    best = {variant: max(values) for variant, values in speeds.items()}
    median = {variant: statistics.median(values) for variant, values in speeds.items()}
    print(f"{args.arch} {args.image_size} px, batch {args.batch_size}, {args.rounds} rounds: "
          f"fused best {best['fused']:.1f} / median {median['fused']:.1f} images/s, keras best "
          f"{best['keras']:.1f} / median {median['keras']:.1f} images/s; speedup "
          f"{best['fused'] / best['keras']:.2f} (best), {median['fused'] / median['keras']:.2f} "
          f"(median)")


if __name__ == "__main__":
    main()
