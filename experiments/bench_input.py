"""Input-pipeline throughput: raw path (read + decode + crop + resize) vs the preprocessed cache.

Writes a folder of 178x218 JPEGs shaped like img_align_celeba (synthetic faces), then prints
images/s at 64 and 128 px for
  raw decode_and_crop  kerasgan.data.raw_dataset (decodes only the 140x140 crop window),
  raw decode+crop      full tf.io.decode_jpeg, then crop (same area resize), for comparison,
  cached               ImageSource.dataset over the memory-mapped uint8 cache (what training reads).

    python experiments/bench_input.py [--num_files=2000] [--batch_size=128] [--folder=DIR]

Target on a 2-core CPU: cached >= 20,000 images/s at 64 px. Measured figures are in docs/data.md.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kerasgan import config as config_lib  # noqa: E402
from kerasgan import data  # noqa: E402

CROP = 140


def write_celeba_like(folder: str, num_files: int, unique: int = 200) -> list[str]:
    """num_files JPEGs of 218x178 (quality 90) cycling over `unique` synthetic faces."""
    images_dir = os.path.join(folder, "img_align_celeba")
    os.makedirs(images_dir, exist_ok=True)
    paths = [os.path.join(images_dir, f"{i + 1:06d}.jpg") for i in range(num_files)]
    if all(os.path.exists(p) for p in paths):
        return paths
    faces = data.synthetic_faces(np.arange(unique), 218)[:, :, 20:198]
    for i, path in enumerate(paths):
        tf.io.write_file(path, tf.io.encode_jpeg(faces[i % unique], quality=90))
    return paths


def images_per_second(dataset: tf.data.Dataset, repeats: int = 1, trials: int = 3) -> float:
    """Best of `trials` timings of `repeats` full passes, after one untimed warm-up pass.

    Best-of, because the CPU is shared: the slowest trials measure the neighbours, not the pipeline.
    """
    for _ in dataset:
        pass
    best = 0.0
    for _ in range(trials):
        count, start = 0, time.perf_counter()
        for _ in range(repeats):
            for batch in dataset:
                count += int((batch[1] if isinstance(batch, tuple) else batch).shape[0])
        best = max(best, count / (time.perf_counter() - start))
    return best


def full_decode_then_crop(paths, size):
    def load(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        image = tf.image.crop_to_bounding_box(image, (218 - CROP) // 2, (178 - CROP) // 2,
                                              CROP, CROP)
        return tf.saturate_cast(tf.image.resize(image, [size, size], method="area"), tf.uint8)

    return tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_files", type=int, default=2000)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--sizes", default="64,128")
    parser.add_argument("--folder", default="", help="where the JPEGs go (default: a temp dir)")
    args = parser.parse_args()
    folder = args.folder or os.path.join(tempfile.gettempdir(), "kerasgan_bench_input")
    paths = write_celeba_like(folder, args.num_files)
    shutil.rmtree(os.path.join(folder, data.CACHE_FOLDER), ignore_errors=True)
    print(f"{len(paths)} JPEGs of 178x218 in {folder}, crop {CROP}, batch {args.batch_size}, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    for size in (int(s) for s in args.sizes.split(",")):
        raw = data.raw_dataset(paths, size, CROP, CROP).batch(args.batch_size).prefetch(-1)
        full = full_decode_then_crop(paths, size).batch(args.batch_size).prefetch(-1)
        config = config_lib.make_config(dataset="celeba", data_dir=folder, split="all",
                                        image_size=size, crop=CROP, batch_size=args.batch_size)
        start = time.perf_counter()
        source = data.open_source(config)
        opened = time.perf_counter() - start
        cached = source.dataset(args.batch_size, epoch=0)
        print(f"{size:4d} px  raw decode_and_crop {images_per_second(raw):9,.0f} images/s")
        print(f"{size:4d} px  raw decode+crop     {images_per_second(full):9,.0f} images/s")
        print(f"{size:4d} px  cached              {images_per_second(cached, 10):9,.0f} images/s"
              f"   (building the cache: {opened:.1f} s, {source.report()})")


if __name__ == "__main__":
    main()
