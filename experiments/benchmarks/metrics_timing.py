"""Time kerasgan.metrics on random data: SWD, FID/KID maths and Inception feature extraction.

    python experiments/benchmarks/metrics_timing.py

Random uint8 images and Gaussian features; the Inception network is randomly initialised
(it costs the same as the trained one), so nothing is downloaded. Results: docs/metrics.md.
"""

import time

import numpy as np

from kerasgan import metrics


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    for n, size, repeats in [(1000, 32, 3), (1000, 64, 3), (5000, 32, 1), (5000, 64, 1)]:
        a = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        seconds = best_of(lambda: metrics.sliced_wasserstein_distance(a, b), repeats)
        print(f"SWD N={n} {size}px: {seconds:.1f} s (best of {repeats})", flush=True)
    f1, f2 = rng.normal(size=(5000, 2048)), rng.normal(size=(5000, 2048))
    seconds = best_of(lambda: metrics.fid_from_features(f1, f2), 1)
    print(f"fid_from_features 2 x 5000 x 2048: {seconds:.1f} s", flush=True)
    seconds = best_of(lambda: metrics.kernel_inception_distance(f1, f2), 1)
    print(f"KID 100 subsets of 1000, 2048-d: {seconds:.1f} s", flush=True)

    import keras

    model = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg")
    extractor = metrics.InceptionFeatures(model=model, batch_size=50)
    images = rng.integers(0, 256, (100, 64, 64, 3), dtype=np.uint8)
    extractor(images[:50])
    seconds = best_of(lambda: extractor(images), 1)
    print(f"InceptionFeatures 100 images 64px -> 299, batch 50: {seconds:.1f} s "
          f"({100 / seconds:.1f} images/s)", flush=True)


if __name__ == "__main__":
    main()
