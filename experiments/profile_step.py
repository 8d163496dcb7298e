"""Where kerasgan's training step spends its time: TensorFlow profiler op times, grouped.

    python experiments/profile_step.py --image_size=64 --batch_size=64      # about 1 minute on CPU

Trains a few steps as `python -m kerasgan.train` would (package defaults, synthetic data), traces
`--steps` more with tf.profiler, and prints the op time per step summed over TensorFlow's executor
threads, grouped by kind (convolutions forward and backward, batch norm, activations, optimizer
and other element-wise ops) and, for the convolutions, by network and direction. It also prints
the convolution FLOPs the step really executes (TensorFlow prunes gradients nobody asked for, so
the count follows the step's two tapes) next to the usual 3 x forward estimate that
experiments/bench_train.py uses, and the convolutions' throughput per second of op time (per
core, as each op ran on a share of them).

Op times of ops that ran concurrently overlap in wall time; their sum over threads is the CPU
time the step keeps busy. The trace is read with the XSpace protobuf TensorFlow ships.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import sys
import tempfile
import time

# experiments/ is on sys.path when this script runs
from bench_train import kerasgan_loop, layer_flops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = (("conv", re.compile(r"Conv2D|MatMul")), ("batch norm", re.compile(r"BatchNorm")),
         ("activation", re.compile(r"Relu|Tanh|Sigmoid|Softplus")),
         ("other", re.compile(r".")))


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--arch", default="dcgan", choices=("dcgan", "seed"))
    parser.add_argument("--steps", type=int, default=3, help="traced steps")
    parser.add_argument("--inter_op_threads", type=int, default=0, help="0: TensorFlow's default")
    parser.add_argument("--intra_op_threads", type=int, default=0, help="0: TensorFlow's default")
    return parser.parse_args()


def executed_conv_flops(generator, discriminator, latent_dim: int, image_size: int) -> dict:
    """FLOPs per image of the joint step's Dense/conv ops, as TensorFlow runs them.

    G: forward, input and weight gradients (g_tape) = 3 passes, less G's first-layer input
    gradient. D: forward on real and fake, weight gradients on both (d_tape), input gradients
    on both except the first layer's (d_tape), and input gradients on fake down to the image
    (g_tape) = 7 passes less 2 first-layer ones. The 3 x forward estimate is 3 G + 6 D.
    """
    g = layer_flops(generator, (1, latent_dim))
    d = layer_flops(discriminator, (1, image_size, image_size, 3))
    return {"executed": 3 * sum(g) - g[0] + 7 * sum(d) - 2 * d[0],
            "estimate": 3 * (sum(g) + 2 * sum(d))}


def _kind(op_type: str) -> str:
    return next(name for name, pattern in KINDS if pattern.search(op_type))


def summarise(xplane_path: str, steps: int):
    """Op time per step (ms) by kind of op, and the convolutions' by network and direction."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as file:
        space.ParseFromString(file.read())
    by_kind, convs = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names[event.metadata_id].name
                if ":" not in name or "::" in name:  # TF ops are "scope/name:Type"
                    continue
                op_type = name.rsplit(":", 1)[-1]
                ms = event.duration_ps / 1e9 / steps
                kind = _kind(op_type)
                by_kind[kind] += ms
                network = re.search(r"(generator|discriminator)", name)
                if kind == "conv" and network:
                    direction = "backward" if name.startswith("gradient_tape") else "forward"
                    convs[f"{network.group(1)} {direction}"] += ms
    return by_kind, convs


def main():
    args = _parse()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, ROOT)
    import kerasgan  # noqa: F401  first: it sets TF_ENABLE_ONEDNN_OPTS
    import tensorflow as tf
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    args.jit_compile, args.mixed_precision = "auto", "auto"
    gan, run = kerasgan_loop(args)
    latent_dim = gan.config.latent_dim

    run(3)
    start = time.perf_counter()
    run(args.steps)
    wall_ms = (time.perf_counter() - start) * 1e3 / args.steps
    logdir = tempfile.mkdtemp(prefix="kerasgan_profile_")
    tf.profiler.experimental.start(logdir)
    run(args.steps)
    tf.profiler.experimental.stop()
    by_kind, convs = summarise(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0],
                                  args.steps)
    total = sum(by_kind.values())
    flops = executed_conv_flops(gan.generator, gan.discriminator, latent_dim, args.image_size)
    print(f"{args.arch} {args.image_size} px, batch {args.batch_size}: {wall_ms:.0f} ms per step "
          f"untraced ({args.batch_size * 1e3 / wall_ms:.1f} images/s); op time per step, summed "
          f"over {os.cpu_count()} cores' executor threads: {total:.0f} ms")
    for kind, _ in KINDS:
        print(f"  {kind:<11} {by_kind[kind]:7.1f} ms  {100 * by_kind[kind] / total:5.1f}%")
    print(f"conv FLOPs per image: executed {flops['executed'] / 1e9:.3f} G, 3 x forward estimate "
          f"{flops['estimate'] / 1e9:.3f} G (ratio {flops['executed'] / flops['estimate']:.2f})")
    per_step = flops["executed"] * args.batch_size
    print(f"conv throughput: {per_step / (by_kind['conv'] / 1e3) / 1e9:.1f} GFLOP per second of "
          f"conv op time; whole step {per_step / (wall_ms / 1e3) / 1e9:.1f} GFLOP/s executed")
    print("conv op time per step (ms): " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in sorted(convs.items())))


if __name__ == "__main__":
    main()
