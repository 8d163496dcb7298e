"""What each reference recipe costs: parameters, activations, FLOPs, GPU memory and wall time.

    python experiments/recipe_costs.py                       # the table the recipe READMEs quote
    python experiments/recipe_costs.py --tflops=19.5 --utilisation=0.4 --train_images=162770

Analytic, from the networks' layer shapes (nothing is trained):
  FLOPs per trained image   bench_train.train_flops_per_image: 3 x forward multiply-add FLOPs of
                            G(z) + D(real) + D(fake) (forward + backward; batch norm, activations
                            and the optimizer ignored); with --d_steps=k, k D updates (G forward,
                            D forward and backward on real and fake) and one G update.
  GPU memory, float32       16 B per parameter (weights, gradients, Adam's two slots) plus 4 B per
                            activation kept for the backward pass (every layer output of G once and
                            of D twice, per image, times the batch), then x1.5 for cuDNN workspaces
                            and the allocator, plus 1 GiB of CUDA context. mixed_float16 (the GPU
                            default) roughly halves the activation part.
  GPU wall time             images trained (epochs x (train_images // batch) x batch, or a
                            preset's --kimg budget) x FLOPs per
                            image / (tflops x utilisation). Data loading (the preprocessed cache
                            serves > 12,000 images/s at 128 px on 2 CPU cores, docs/data.md) and the
                            per-epoch artifacts are left out.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "experiments"))
CELEBA_TRAIN = 162_770  # images in CelebA's train partition


def _activations(model, shape) -> int:
    """Elements of every layer output of a kerasgan network for one input of `shape`."""
    total = 0
    for layer in model.net.layers:
        shape = layer.compute_output_shape(shape)
        count = 1
        for dim in shape[1:]:
            count *= dim
        total += count
    return total


def recipe_costs(preset: str, tflops: float, utilisation: float, train_images: int) -> dict:
    from bench_train import train_flops_per_image
    from kerasgan import config as config_lib, networks

    config = config_lib.make_config(preset)
    generator, discriminator = networks.build_networks_for(config)
    params = generator.count_params() + discriminator.count_params()
    activations = (_activations(generator, (1, config.latent_dim))
                   + 2 * _activations(discriminator, (1, config.image_size, config.image_size, 3)))
    flops = train_flops_per_image(config.image_size, config.latent_dim, config.arch,
                                  config.channels, config.d_steps)
    steps_per_epoch = train_images // config.batch_size
    # A --kimg budget counts images seen whatever the data's size; otherwise whole epochs.
    steps = (int(config.kimg * 1000) // config.batch_size if config.kimg
             else config.epochs * steps_per_epoch)
    images = steps * config.batch_size
    memory = 1.5 * (16 * params + 4 * activations * config.batch_size) + 2**30
    return {"preset": preset, "image_size": config.image_size, "arch": config.arch,
            "batch_size": config.batch_size, "epochs": config.epochs,
            "g_params": generator.count_params(), "d_params": discriminator.count_params(),
            "activations_per_image": activations, "train_gflops_per_image": flops / 1e9,
            "gpu_memory_gib": memory / 2**30, "steps": steps,
            "images": images, "gpu_hours": images * flops / (tflops * 1e12 * utilisation) / 3600}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="seed128,dcgan64,keras32,celeba64,celeba128")
    parser.add_argument("--tflops", type=float, default=19.5,
                        help="GPU float32 peak, TFLOP/s (19.5: an A100's non-tensor-core fp32)")
    parser.add_argument("--utilisation", type=float, default=0.4,
                        help="share of the peak the step reaches (assumed, not measured)")
    parser.add_argument("--train_images", type=int, default=CELEBA_TRAIN,
                        help="images per epoch (162,770: CelebA's train split)")
    args = parser.parse_args()
    print(f"GPU assumption: {args.tflops} TFLOP/s x {args.utilisation:.0%} utilisation; "
          f"{args.train_images:,} images per epoch")
    print("| preset | size | G params | D params | activations/image | train GFLOP/image | "
          "GPU memory (fp32, est.) | steps | GPU hours (est.) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets.split(","):
        c = recipe_costs(preset, args.tflops, args.utilisation, args.train_images)
        print(f"| {preset} | {c['image_size']} | {c['g_params']:,} | {c['d_params']:,} | "
              f"{c['activations_per_image']:,} | {c['train_gflops_per_image']:.2f} | "
              f"{c['gpu_memory_gib']:.1f} GiB | {c['steps']:,} | {c['gpu_hours']:.2f} |")


if __name__ == "__main__":
    main()
