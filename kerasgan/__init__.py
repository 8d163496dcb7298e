"""kerasgan: train GANs that make faces, watch them learn, sample them and measure them."""

import os as _os

from kerasgan import quiet as _quiet

# TensorFlow turns oneDNN on by itself only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX; on AVX2
# CPUs it stays off, and there it doubles the training step's speed (docs/speed.md). It must be
# set before TensorFlow is imported; a value the user set wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
_quiet.install()

__version__ = "0.1.0"
