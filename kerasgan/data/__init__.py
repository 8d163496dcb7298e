"""Training images: CelebA (folder, zip, Kaggle layout, TFDS), any image folder, synthetic faces.

Every file-backed source goes through one preprocessed cache: the first `open_source` decodes each
file once (centre crop, antialiased resize, uint8) in a parallel tf.data pipeline and writes the
survivors to one flat uint8 file next to a JSON manifest. Decoding everything up front is what makes
bad files harmless: a truncated JPEG, a zero-byte file or a text file named `.jpg` is found and
counted while the cache is built, never in the middle of an epoch, and `num_examples` is exact.
Epochs then read the memory-mapped cache, which is far faster than decoding JPEGs again.
Processes that open one uncached source at once build it once: the first takes a lock beside the
cache folder and builds, the others wait and then read it (the manifest, published last, says
the cache is complete). The cache is keyed by every file's name, size and modification time, so a
file replaced in place is noticed.

The package, lower to higher: `synthetic` (the built-in faces and their attribute labels),
`decode` (decode, crop, resize), `cache` (the preprocessed cache and its lock), `align` (faces
found in pictures and cut as CelebA's are, --align), `listing` (what
a source's files are; image folders), `celeba` (CelebA's layouts and files, TFDS celeb_a),
`source` (`ImageSource`, `open_source`, `preview_images`). `python -m kerasgan.data` is
`__main__`:

    python -m kerasgan.data --dataset=celeba --data_dir=PATH [--split=all] --preview=grid.png
"""

from kerasgan.data.cache import CACHE_FOLDER, CACHE_VERSION, cache_folder
from kerasgan.data.celeba import CELEBA_PARTITIONS, TFDS_FILES, parse_attributes, parse_partition
from kerasgan.data.decode import preprocess_decoded, preprocess_image, raw_dataset
from kerasgan.data.listing import GET_CELEBA, IMAGE_EXTENSIONS
from kerasgan.data.source import (ImageSource, open_source, open_synthetic_heldout,
                                  preview_images)
from kerasgan.data.synthetic import (SYNTHETIC_ATTRIBUTE_NAMES, SYNTHETIC_HELDOUT_START,
                                     synthetic_attributes, synthetic_eyes, synthetic_faces)

__all__ = [
    "CACHE_FOLDER", "CACHE_VERSION", "CELEBA_PARTITIONS", "GET_CELEBA", "IMAGE_EXTENSIONS",
    "SYNTHETIC_ATTRIBUTE_NAMES", "SYNTHETIC_HELDOUT_START", "TFDS_FILES", "ImageSource",
    "cache_folder", "open_source",
    "open_synthetic_heldout",
    "parse_attributes", "parse_partition", "preprocess_decoded", "preprocess_image",
    "preview_images", "raw_dataset", "synthetic_attributes", "synthetic_eyes", "synthetic_faces",
]
