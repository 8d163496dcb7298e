"""kerasgan: train GANs that make faces, watch them learn, sample them and measure them."""

import os as _os

# TensorFlow turns oneDNN on by itself only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX; on AVX2
# CPUs it stays off, and there it doubles the training step's speed (64 px: 33 -> 70 images/s on
# a 2-core AVX2 CPU, the figures). It must be set before TensorFlow is imported; a value
# the user set wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
