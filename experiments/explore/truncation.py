"""What truncation ψ trades: quality against variety, on one trained run (README.md here).

    PYTHONPATH=. python experiments/explore/truncation.py --workdir=runs/quick32 \
        [--psi=1.0,0.8,0.6,0.4] [--num_samples=1024] [--grid=docs/figures/truncation.png]

For each ψ, the run's generator (as `sample --workdir` loads it) draws seeds 0..N-1 with
`--truncation=ψ`, and two figures are printed:
- swd_avg x1e3 against N held-out synthetic faces (indices 100000+, never trained on): the
  protocol of experiments/time_to_faces; lower is closer to real faces;
- diversity: the mean distance between two generated faces, the root mean square of their pixel
  difference in [0, 1], over all pairs; the held-out real faces' own figure is printed beside it.
With --grid, the same 8 seeds at each ψ, a row per ψ, are written as one PNG.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

HELD_OUT = 100_000


def diversity(images: np.ndarray) -> float:
    """Mean over all pairs i < j of the RMS pixel difference of images i and j (values in [0, 1]),
    from the Gram matrix: |a - b|^2 = |a|^2 + |b|^2 - 2 a.b."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    squares = np.sum(flat * flat, axis=1)
    distances = squares[:, None] + squares[None, :] - 2.0 * flat @ flat.T
    upper = np.triu_indices(len(images), k=1)
    return float(np.mean(np.sqrt(np.maximum(distances[upper], 0.0) / flat.shape[1])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--psi", default="1.0,0.8,0.6,0.4")
    parser.add_argument("--num_samples", type=int, default=1024)
    parser.add_argument("--grid", default="", help="write the same 8 seeds at each ψ here")
    args = parser.parse_args()

    from kerasgan import checkpointing, data, images as images_lib, metrics, sample_lib

    start = time.perf_counter()
    config, generator, path = checkpointing.load_run_generator(args.workdir)
    size = config.image_size
    held_out = data.synthetic_faces(np.arange(HELD_OUT, HELD_OUT + args.num_samples), size)
    real_diversity = diversity(held_out / 255.0)
    psis = [float(value) for value in args.psi.split(",")]
    print(f"{args.workdir}: {os.path.basename(path)}, {size} px; {args.num_samples} generated "
          f"(seeds 0-{args.num_samples - 1}) vs {args.num_samples} held-out synthetic faces")
    print("| ψ | swd_avg | diversity (held-out real faces: "
          f"{real_diversity:.3f}) |\n|---:|---:|---:|")
    rows = []
    for psi in psis:
        fakes = sample_lib.generate(generator, range(args.num_samples), truncation=psi)
        swd = metrics.sliced_wasserstein_distance(fakes, held_out, seed=0)["swd_avg"]
        spread = diversity(images_lib.to_uint8(fakes) / 255.0)
        print(f"| {psi:g} | {swd:.1f} | {spread:.3f} |", flush=True)
        rows.append(images_lib.to_uint8(fakes[:8]))
    if args.grid:
        images_lib.save_image_grid(np.concatenate(rows), args.grid, ncols=8)
        print(f"wrote {args.grid}: seeds 0-7, a row per ψ ({args.psi})")
    print(f"took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
