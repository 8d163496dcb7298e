"""A probe, not a feature: conditional batch norm in G (the labels also scale and shift every
batch norm's output, as in SN-GAN's and BigGAN's generators), on the conditional32 recipe.

    PYTHONPATH=. python experiments/conditional32/conditional_bn_probe.py --workdir=runs/cbn

kerasgan's conditional G takes the labels only at its input (embedded and concatenated to z).
This script patches networks.Generator in its own process, so that a conditional G also has a
zero-initialised Dense from the -1/+1 labels to a (1 + gamma, beta) pair per batch-norm channel;
at the start it is the shipped G exactly. Then it trains the quick32 recipe with the six
synthetic attributes, evaluates attribute_accuracy (the same protocol as run.py: 1,024 seeds
asked with and without each attribute, the others from the data's combinations) and swd_avg on
the time_to_faces protocol (1,024 seeded faces against 1,024 held-out synthetic faces, seed 0),
for the shipped G first (trained and measured before the patch, in the same run) and then for
the patched one, side by side.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from keras import layers, ops

from kerasgan import checkpointing, evaluate_lib, inference, metrics, networks, train_lib
from kerasgan.config import make_config
from kerasgan.data import synthetic_faces
from kerasgan.labels import draw_labels
from kerasgan.noise import seeded_noise
from kerasgan.layers import FusedBatchNormalization

ATTRIBUTES = "Smiling,Blond_Hair,Black_Hair,Pale_Skin,Bangs,Long_Hair"


def patch_generator() -> None:
    """Gives every conditional Generator built afterwards in this process a label modulation."""
    original_init = networks.Generator.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if not self.attribute_names:
            return
        self.modulated_channels, previous = [], None
        for layer in self.net.layers:
            if isinstance(layer, FusedBatchNormalization):
                self.modulated_channels.append(previous.target_shape[-1]
                                               if isinstance(previous, layers.Reshape)
                                               else previous.filters)
            previous = layer
        self.label_modulation = layers.Dense(2 * sum(self.modulated_channels), use_bias=False,
                                             kernel_initializer="zeros", name="label_modulation")

    def call(self, inputs, training=False):
        if not self.attribute_names:
            return self.net(inputs, training=training)
        z, labels = networks.blocks.split_inputs(inputs, self.attribute_names, "z")
        signs = networks.blocks.signs(labels)
        embedded = self.label_scale * self.label_embedding(signs)
        x = ops.concatenate([ops.cast(z, embedded.dtype), embedded], axis=-1)
        if not self.net.built:  # the layers are called one by one: build the Sequential for tracking
            self.net.build(x.shape)
        modulation = self.label_modulation(signs)
        offset, channels = 0, iter(self.modulated_channels)
        for layer in self.net.layers:
            x = layer(x, training=training)
            if isinstance(layer, FusedBatchNormalization):
                width = next(channels)
                gain = modulation[:, offset:offset + width][:, None, None, :]
                shift = modulation[:, offset + width:offset + 2 * width][:, None, None, :]
                offset += 2 * width
                x = x * (1.0 + ops.cast(gain, x.dtype)) + ops.cast(shift, x.dtype)
        return x

    networks.Generator.__init__ = init
    networks.Generator.call = call


def measure(config, count: int) -> dict[str, float]:
    """Trains config's run afresh: {attribute: accuracy, "mean": ..., "swd_avg", "train_s"}."""
    start = time.perf_counter()
    train_lib.train_and_evaluate(config, overwrite=True)
    figures = {"train_s": time.perf_counter() - start}
    results = evaluate_lib.evaluate_run(config.workdir, "attribute_accuracy",
                                        num_samples=2 * count)
    figures.update({row["metric"].split("/", 1)[1]: row["value"] for row in results})
    _, generator, _ = checkpointing.load_run_generator(config.workdir)
    held_out = synthetic_faces(range(100000, 100000 + count), config.image_size)
    fakes = inference.generate(generator, seeded_noise(range(count), generator.latent_dim), 256,
                               labels=draw_labels(generator.attribute_frequencies, range(count),
                                                  generator.attribute_combinations))
    figures["swd_avg"] = metrics.sliced_wasserstein_distance(
        fakes, held_out.astype(np.float32) / 127.5 - 1.0, seed=0)["swd_avg"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="runs/conditional_bn_probe")
    parser.add_argument("--quick", action="store_true", help="tiny runs (tests)")
    args = parser.parse_args()
    tiny = dict(image_size=16, channels=16, batch_size=8, epochs=1, steps_per_epoch=2,
                num_synthetic=256, num_grid_samples=4) if args.quick else {}
    count = 16 if args.quick else 1024
    figures = {}
    for design in ("shipped G", "conditional BN"):
        if design == "conditional BN":
            patch_generator()
        config = make_config("quick32", conditional_attributes=ATTRIBUTES,
                             workdir=os.path.join(args.workdir, design.replace(" ", "_")),
                             **tiny)
        figures[design] = measure(config, count)
    print(f"\n{count:,} seeds each way; accuracy (balanced), swd_avg, train wall")
    print(f"{'':<12} {'shipped G':>10} {'conditional BN':>15}")
    for name in ATTRIBUTES.split(",") + ["swd_avg", "train_s"]:
        shipped, probe = figures["shipped G"][name], figures["conditional BN"][name]
        digits = 3 if name in ATTRIBUTES else 1
        print(f"{name:<12} {shipped:>10.{digits}f} {probe:>15.{digits}f}")


if __name__ == "__main__":
    main()
