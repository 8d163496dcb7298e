"""GFLOP/s of the dcgan discriminator's convolutions, one at a time, and of G's RGB output layer.

    python experiments/bench_conv_layers.py                # 64 px, batch 64, about 1 minute on CPU

For each stride-2 4x4 convolution of the 64 px dcgan D (3->64, 64->128, 128->256, 256->512
channels) it times, alone, the forward convolution, the input gradient and the filter gradient as
TensorFlow runs them (oneDNN on, as kerasgan runs), and prints GFLOP/s on all cores. Then G's last
layer, a stride-2 transposed convolution to 3 channels, against two equivalent forms: the same op
with the channels padded, and a sub-pixel form (a 2x2 convolution to 12 channels, then
depth_to_space and a crop to the same output shape). Each figure is the best of --repeats calls
after one untimed call.
"""

from __future__ import annotations

import argparse
import os
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    return parser.parse_args()


def _best_seconds(fn, args, repeats):
    import tensorflow as tf
    float(tf.reduce_sum(fn(*args)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        float(tf.reduce_sum(fn(*args)))
        best = min(best, time.perf_counter() - start)
    return best


def main():
    args = _parse()
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    batch, size = args.batch_size, args.image_size
    normal = tf.random.normal
    print(f"D convolutions, 4x4 stride 2, batch {batch}, GFLOP/s ({os.cpu_count()} cores):")
    side, channels = size, 3
    while side > 4:
        out_channels = min(64 * size // side, 512)
        out_side = side // 2
        x = normal([batch, side, side, channels])
        w = normal([4, 4, channels, out_channels])
        dy = normal([batch, out_side, out_side, out_channels])
        flops = 2 * batch * out_side * out_side * 16 * channels * out_channels
        ops = {
            "forward": (tf.function(lambda x, w: tf.nn.conv2d(x, w, 2, "SAME")), (x, w)),
            "input grad": (tf.function(lambda dy, w, s=x.shape: tf.nn.conv2d_transpose(
                dy, w, s, 2, "SAME")), (dy, w)),
            "filter grad": (tf.function(lambda x, dy, f=w.shape: tf.raw_ops.Conv2DBackpropFilter(
                input=x, filter_sizes=f, out_backprop=dy, strides=[1, 2, 2, 1],
                padding="SAME")), (x, dy)),
        }
        rates = {name: flops / _best_seconds(fn, inputs, args.repeats) / 1e9
                 for name, (fn, inputs) in ops.items()}
        print(f"  {side:>3}x{side:<3} {channels:>3} -> {out_channels:<3} "
              + "  ".join(f"{name} {rate:6.1f}" for name, rate in rates.items()))
        side, channels = out_side, out_channels

    half = size // 2
    x = normal([batch, half, half, 64])
    print(f"G's last layer, {half}x{half}x64 -> {size}x{size}x3, stride-2 4x4 transposed "
          f"convolution, ms per call:")
    forms = {"as is (3 channels)": (tf.function(lambda x, w: tf.nn.conv2d_transpose(
        x, w, [batch, size, size, 3], 2, "SAME")), (x, normal([4, 4, 3, 64])))}
    for padded in (4, 8, 16):
        forms[f"padded to {padded} channels"] = (tf.function(
            lambda x, w, c=padded: tf.nn.conv2d_transpose(x, w, [batch, size, size, c], 2,
                                                          "SAME")), (x, normal([4, 4, padded, 64])))
    forms["sub-pixel: 2x2 conv to 12 channels + depth_to_space"] = (tf.function(
        lambda x, w: tf.nn.depth_to_space(tf.nn.conv2d(
            tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), w, 1, "VALID"), 2)[:, 1:-1, 1:-1]),
        (x, normal([2, 2, 64, 12])))
    for name, (fn, inputs) in forms.items():
        print(f"  {name:<52} {1e3 * _best_seconds(fn, inputs, args.repeats):6.1f}")


if __name__ == "__main__":
    main()
