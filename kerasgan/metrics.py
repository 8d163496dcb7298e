"""FID, KID and multi-scale SWD with a fixed, documented protocol (see docs/metrics.md).

Interface:

    frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float
    gaussian_statistics(features) -> (mu, sigma)                  float64, sigma with ddof=1
    fid_from_features(real_features, fake_features) -> float
    kernel_inception_distance(features1, features2, num_subsets=100, subset_size=1000,
                              seed=0) -> (mean, std)
    sliced_wasserstein_distance(images1, images2, seed=0, ...) -> {"swd_<res>": ..., "swd_avg": ...}
    swd_resolutions(size, min_resolution=16) -> [size, size/2, ..., 16]
    laplacian_pyramid(images, num_levels) -> [finest, ..., coarsest]
    sliced_wasserstein(a, b, rng, dir_repeats=4, dirs_per_repeat=128) -> float
    images_to_uint8(images) -> uint8 NHWC
    resolve_inception_weights(weights_path=None) -> path           given, Keras-cached or downloaded
    load_inception(weights_path=None) -> keras.Model               2048-d average-pool features
    InceptionFeatures(weights_path=None, batch_size=50, model=None)(images) -> float64 [N, D]
    StatsCache(directory): .path(key) .load(key) .save(key, arrays) .get_or_compute(key, compute)

Images are NHWC, either uint8 in [0, 255] or float in [-1, 1]. Float images are first put on
the uint8 grid (round, clip), as the ProGAN metrics do with generated images, so a generator
is measured exactly as its saved PNGs would be and real data read as floats measures the same
as real data read as bytes.

FID/KID features come from Keras' ImageNet InceptionV3 (include_top=False, pooling="avg"),
after a legacy bilinear resize to 299x299 (align_corners=False, half_pixel_centers=False: the
ResizeBilinear of the 2015 Inception graph and TF-GAN) and x / 127.5 - 1. Those weights are
not the 2015 graph used by the original FID code, so kerasgan's FID/KID are comparable only
with each other. TensorFlow is imported only by the Inception parts.

SWD follows ProGAN (Karras et al. 2018): Laplacian pyramid (5x5 binomial, mirrored edges) down
to 16 px, the 16 px level kept Gaussian; 128 random 7x7 neighbourhoods per image and level,
normalised per channel by each set's own mean/std; 4 x 128 random unit directions; mean absolute
difference of the sorted projections, x 1e3.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from typing import Callable, Iterable, Mapping

import numpy as np
import scipy.linalg

from kerasgan.errors import MetricError

INCEPTION_SIZE = 299
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                         "inception_v3/" + INCEPTION_WEIGHTS_FILE)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
SWD_MIN_RESOLUTION = 16
_BINOMIAL_5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0


# ----------------------------------------------------------------------------------------------
# Frechet distance and FID.

def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof=1, as in the reference FID code) of [N, D] features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise MetricError(f"statistics need features of shape [N>=2, D], got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    d = |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)). As in the reference
    implementations (TTUR, pytorch-fid): if sqrtm is not finite (near-singular covariances),
    eps is added to both diagonals and it is retried; an imaginary part that is numerical noise
    (diagonal within 1e-3 of zero) is dropped, a larger one is an error.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise MetricError(f"statistics do not match: mu {mu1.shape} vs {mu2.shape}, "
                          f"sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # N < D is singular, and fine
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(dim) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        max_imag = np.max(np.abs(np.diagonal(covmean).imag))
        if max_imag > 1e-3:
            raise MetricError(f"the covariance product has a complex square root "
                              f"(imaginary part {max_imag:.3g}): use more samples")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(real_features, fake_features) -> float:
    """FID: Frechet distance between the Gaussians fitted to two [N, D] feature sets."""
    mu1, sigma1 = gaussian_statistics(real_features)
    mu2, sigma2 = gaussian_statistics(fake_features)
    return frechet_distance(mu1, sigma1, mu2, sigma2)


# ----------------------------------------------------------------------------------------------
# KID.

def _polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3 (Binkowski et al. 2018)."""
    m, dim = x.shape
    k_xx = (x @ x.T / dim + 1.0) ** 3
    k_yy = (y @ y.T / dim + 1.0) ** 3
    k_xy = (x @ y.T / dim + 1.0) ** 3
    within = ((k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_inception_distance(features1, features2, num_subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: mean and std (ddof=0) of the unbiased cubic-kernel MMD^2 over random subsets.

    Each subset draws min(subset_size, N1, N2) rows from each set without replacement.
    """
    x = np.asarray(features1, np.float64)
    y = np.asarray(features2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise MetricError(f"KID needs two [N, D] feature sets of one D, "
                          f"got {x.shape} and {y.shape}")
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise MetricError(f"KID needs at least 2 samples per set, "
                          f"got {x.shape[0]} and {y.shape[0]}")
    rng = np.random.default_rng(seed)
    mmds = np.array([
        _polynomial_mmd2_unbiased(x[rng.choice(x.shape[0], m, replace=False)],
                                  y[rng.choice(y.shape[0], m, replace=False)])
        for _ in range(num_subsets)])
    return float(mmds.mean()), float(mmds.std())


# ----------------------------------------------------------------------------------------------
# Images.

def images_to_uint8(images) -> np.ndarray:
    """NHWC uint8 [0, 255] or float [-1, 1] images -> uint8, floats rounded and clipped.

    Floats beyond +-1.5 are taken as a range mistake (e.g. [0, 255] floats) and rejected.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise MetricError(f"images must be NHWC, got shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise MetricError(f"images must be uint8 in [0, 255] or float in [-1, 1], "
                          f"got {images.dtype}")
    if images.size:
        low, high = float(images.min()), float(images.max())
        if not (np.isfinite(low) and np.isfinite(high)) or low < -1.5 or high > 1.5:
            raise MetricError(f"float images must be in [-1, 1], got values in [{low:.3g}, "
                              f"{high:.3g}]: rescale with x / 127.5 - 1 or pass uint8")
    return np.clip(np.rint((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Multi-scale sliced Wasserstein distance (Karras et al. 2018).

def _blur(x: np.ndarray) -> np.ndarray:
    """5x5 binomial filter on NHWC, mirrored edges (scipy.ndimage 'mirror', OpenCV's default)."""
    height, width = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    rows = sum(w * padded[:, i:i + height] for i, w in enumerate(_BINOMIAL_5))
    return sum(w * rows[:, :, i:i + width] for i, w in enumerate(_BINOMIAL_5))


def _pyr_down(x: np.ndarray) -> np.ndarray:
    return _blur(x)[:, ::2, ::2]


def _pyr_up(x: np.ndarray) -> np.ndarray:
    n, height, width, channels = x.shape
    up = np.zeros((n, 2 * height, 2 * width, channels), x.dtype)
    up[:, ::2, ::2] = x
    return 4.0 * _blur(up)


def laplacian_pyramid(images, num_levels: int) -> list[np.ndarray]:
    """Laplacian pyramid of NHWC float images, finest first; the coarsest level stays Gaussian."""
    gaussian = [np.asarray(images, np.float32)]
    for _ in range(num_levels - 1):
        gaussian.append(_pyr_down(gaussian[-1]))
    return [fine - _pyr_up(coarse) for fine, coarse in zip(gaussian, gaussian[1:])] + gaussian[-1:]


def swd_resolutions(size: int, min_resolution: int = SWD_MIN_RESOLUTION) -> list[int]:
    """Pyramid level sizes for a square image side: size, size/2, ... while >= min_resolution."""
    resolutions = []
    while size >= min_resolution:
        resolutions.append(size)
        if size % 2 and size // 2 >= min_resolution:
            raise MetricError(f"SWD needs an image side that halves evenly down to "
                              f"{min_resolution} px, got {resolutions[0]}")
        size //= 2
    return resolutions


def _extract_descriptors(level, ys, xs, half):
    """[B*K, (2*half+1)^2, C] neighbourhoods of `level` [B, H, W, C] centred at (ys, xs) [B, K]."""
    offsets = np.arange(-half, half + 1)
    batch = np.arange(level.shape[0])[:, None, None, None]
    rows = ys[:, :, None, None] + offsets[None, None, :, None]
    cols = xs[:, :, None, None] + offsets[None, None, None, :]
    patches = level[batch, rows, cols]
    return patches.reshape(-1, offsets.size ** 2, level.shape[-1])


def _normalize_descriptors(desc: np.ndarray) -> np.ndarray:
    """Zero mean, unit std per channel over all neighbourhoods and pixels; flattened to [M, D].

    Sums are float64: float32 reductions over this layout drift by ~0.2% in std, which moves
    the SWD of near-identical sets by several percent.
    """
    flat = desc.reshape(-1, desc.shape[-1])
    mean = np.einsum("ij->j", flat, dtype=np.float64) / flat.shape[0]
    var = np.einsum("ij,ij->j", flat, flat, dtype=np.float64) / flat.shape[0] - mean ** 2
    std = np.sqrt(np.maximum(var, 0.0))
    std[std == 0] = 1.0  # a constant channel becomes 0 rather than NaN
    out = (desc - mean.astype(np.float32)) / std.astype(np.float32)
    return out.reshape(desc.shape[0], -1)


def sliced_wasserstein(a, b, rng: np.random.Generator, dir_repeats: int = 4,
                       dirs_per_repeat: int = 128) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of two [M, D] sets."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.ndim != 2 or a.shape != b.shape:
        raise MetricError(f"sliced Wasserstein needs two [M, D] sets of one shape, "
                          f"got {a.shape} and {b.shape}")
    results = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs = (dirs / np.linalg.norm(dirs, axis=0, keepdims=True)).astype(np.float32)
        proj_a = dirs.T @ a.T
        proj_b = dirs.T @ b.T
        proj_a.sort(axis=1)
        proj_b.sort(axis=1)
        results.append(np.mean(np.abs(proj_a - proj_b), dtype=np.float64))
    return float(np.mean(results))


def _swd_descriptors(images, num_levels, positions, half, batch_size):
    """Normalised descriptors of every pyramid level, the pyramid built batch by batch."""
    per_level = [[] for _ in range(num_levels)]
    for start in range(0, images.shape[0], batch_size):
        batch = images_to_uint8(images[start:start + batch_size]).astype(np.float32)
        for level_index, level in enumerate(laplacian_pyramid(batch, num_levels)):
            ys, xs = positions[level_index]
            per_level[level_index].append(_extract_descriptors(
                level, ys[start:start + batch_size], xs[start:start + batch_size], half))
    return [_normalize_descriptors(np.concatenate(chunks)) for chunks in per_level]


def sliced_wasserstein_distance(images1, images2, seed: int = 0, nhood_size: int = 7,
                                nhoods_per_image: int = 128, dir_repeats: int = 4,
                                dirs_per_repeat: int = 128,
                                min_resolution: int = SWD_MIN_RESOLUTION,
                                batch_size: int = 256) -> dict[str, float]:
    """Multi-scale SWD x 1e3 per Laplacian level, as in ProGAN; returns swd_<res> and swd_avg.

    Both sets are NHWC of one shape (square, side >= min_resolution). Per level, descriptors
    are random nhood_size^2 neighbourhoods, normalised per channel by their own set's mean/std
    (as the reference does); the same positions are used in both sets, so identical sets give 0.
    Deterministic for a given seed.
    """
    images1, images2 = np.asarray(images1), np.asarray(images2)
    if images1.shape != images2.shape:
        raise MetricError(f"SWD needs two image sets of one shape, got {images1.shape} "
                          f"and {images2.shape}")
    if images1.ndim != 4 or images1.shape[1] != images1.shape[2]:
        raise MetricError(f"SWD needs square NHWC images, got shape {images1.shape}")
    size = images1.shape[1]
    if size < min_resolution:
        raise MetricError(f"SWD needs images of at least {min_resolution} px, got {size}")
    resolutions = swd_resolutions(size, min_resolution)
    half = nhood_size // 2
    level_seeds = np.random.SeedSequence(seed).spawn(len(resolutions))
    positions, dir_rngs = [], []
    for res, level_seed in zip(resolutions, level_seeds):
        pos_seed, dir_seed = level_seed.spawn(2)
        pos_rng = np.random.default_rng(pos_seed)
        shape = (images1.shape[0], nhoods_per_image)
        positions.append((pos_rng.integers(half, res - half, size=shape),
                          pos_rng.integers(half, res - half, size=shape)))
        dir_rngs.append(np.random.default_rng(dir_seed))
    desc1 = _swd_descriptors(images1, len(resolutions), positions, half, batch_size)
    desc2 = _swd_descriptors(images2, len(resolutions), positions, half, batch_size)
    result = {f"swd_{res}": 1e3 * sliced_wasserstein(d1, d2, rng, dir_repeats, dirs_per_repeat)
              for res, d1, d2, rng in zip(resolutions, desc1, desc2, dir_rngs)}
    result["swd_avg"] = float(np.mean(list(result.values())))
    return result


# ----------------------------------------------------------------------------------------------
# Inception features.

def _keras_models_dir() -> str:
    """Where keras.utils.get_file keeps weights: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def _download_inception_weights() -> str:
    import keras

    return keras.utils.get_file(INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL,
                                cache_subdir="models", file_hash=INCEPTION_WEIGHTS_MD5)


def resolve_inception_weights(weights_path: str | None = None) -> str:
    """Path of the Inception weights: the given file, Keras' cached copy, or a fresh download."""
    if weights_path:
        if not os.path.isfile(weights_path):
            raise MetricError(f"Inception weights file not found: {weights_path}")
        return weights_path
    cached = os.path.join(_keras_models_dir(), INCEPTION_WEIGHTS_FILE)
    if os.path.isfile(cached):
        return cached
    try:
        return _download_inception_weights()
    except Exception as error:  # noqa: BLE001  any download failure means the same fix
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        if len(reason) > 80:
            reason = "..." + reason[-80:]
        raise MetricError(
            f"FID/KID need Keras' InceptionV3 weights: put {INCEPTION_WEIGHTS_FILE} (from "
            f"{INCEPTION_WEIGHTS_URL}) in {_keras_models_dir()}/ or pass --inception_weights=PATH "
            f"(download failed: {reason})") from error


def load_inception(weights_path: str | None = None):
    """Keras InceptionV3, ImageNet weights, no top, average pool: [N, 299, 299, 3] -> [N, 2048]."""
    import keras

    path = resolve_inception_weights(weights_path)
    try:
        return keras.applications.InceptionV3(
            weights=path, include_top=False, pooling="avg",
            input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    except Exception as error:  # noqa: BLE001  a truncated or foreign file fails in many ways
        raise MetricError(f"cannot load Inception weights from {path} "
                          f"({type(error).__name__}: {error}); expected "
                          f"{INCEPTION_WEIGHTS_FILE}".replace("\n", " ")) from error


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class InceptionFeatures:
    """Images -> float64 [N, D] Inception pool features, batch by batch.

    Images (uint8 or float [-1, 1], NHWC, any size) are put on the uint8 grid, resized to
    299x299 with TF's legacy bilinear resize (align_corners=False, half_pixel_centers=False,
    as in the 2015 Inception graph and TF-GAN) and scaled by x / 127.5 - 1 (Keras' Inception
    preprocessing).

    Args:
        weights_path: Keras' InceptionV3 notop .h5 file; None finds or downloads Keras' copy.
        batch_size: images per forward pass.
        model: a Keras model to use instead of Inception (tests); its numbers are not FID.
    """

    def __init__(self, weights_path: str | None = None, batch_size: int = 50, model=None):
        import tensorflow as tf

        self.weights_path = weights_path
        self.batch_size = batch_size
        if model is None:
            path = resolve_inception_weights(weights_path)
            self.model = load_inception(path)
            self.id = f"keras-inception_v3-notop-sha256:{_file_sha256(path)[:16]}"
        else:
            self.model = model
            self.id = f"custom-model:{model.name}"

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8)])
        def extract(images):
            resized = tf.raw_ops.ResizeBilinear(
                images=images, size=[INCEPTION_SIZE, INCEPTION_SIZE],
                align_corners=False, half_pixel_centers=False)
            return self.model(resized / 127.5 - 1.0, training=False)

        self._extract = extract

    def __call__(self, images) -> np.ndarray:
        """Features of an NHWC array, or of an iterable of NHWC batches (e.g. a tf.data set)."""
        batches = [images] if _is_array(images) else images
        features = []
        for batch in _as_numpy_batches(batches):
            batch = images_to_uint8(batch)
            if batch.shape[-1] != 3:
                raise MetricError(f"Inception features need RGB images, got {batch.shape}")
            for start in range(0, batch.shape[0], self.batch_size):
                out = np.asarray(self._extract(batch[start:start + self.batch_size]), np.float64)
                if out.ndim != 2:
                    raise MetricError(f"the feature model must return [N, D], got {out.shape}")
                features.append(out)
        if not features:
            raise MetricError("no images to compute Inception features of")
        return np.concatenate(features)


def _is_array(images) -> bool:
    return isinstance(images, np.ndarray) or (hasattr(images, "numpy") and hasattr(images, "shape"))


def _as_numpy_batches(batches: Iterable) -> Iterable[np.ndarray]:
    for batch in batches:
        yield np.asarray(batch.numpy() if hasattr(batch, "numpy") else batch)


# ----------------------------------------------------------------------------------------------
# Cache of real-data statistics.

class StatsCache:
    """Arrays (features, mu, sigma, ...) of real data on disk, one .npz per key.

    The key is a JSON-able dict naming everything the numbers depend on; kerasgan uses
    dataset, split, size, crop, count and extractor (InceptionFeatures.id). The file name is a
    hash of the key and the key is stored inside, so a changed key is a miss. Writes are atomic.

    Args:
        directory: folder of the .npz files, created on first save.
    """

    def __init__(self, directory: str):
        self.directory = directory

    @staticmethod
    def _canonical(key: Mapping) -> str:
        return json.dumps(dict(key), sort_keys=True, separators=(",", ":"))

    def path(self, key: Mapping) -> str:
        digest = hashlib.sha256(self._canonical(key).encode()).hexdigest()[:16]
        return os.path.join(self.directory, f"stats-{digest}.npz")

    def load(self, key: Mapping) -> dict[str, np.ndarray] | None:
        """The stored arrays, or None if absent, unreadable or stored under another key."""
        path = self.path(key)
        if not os.path.isfile(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["__key__"]) != self._canonical(key):
                    return None
                return {name: data[name] for name in data.files if name != "__key__"}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def save(self, key: Mapping, arrays: Mapping[str, np.ndarray]) -> str:
        """Write the arrays under key (temporary file, then os.replace); returns the path."""
        if "__key__" in arrays:
            raise MetricError("'__key__' is reserved in StatsCache arrays")
        os.makedirs(self.directory, exist_ok=True)
        path = self.path(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, __key__=np.array(self._canonical(key)), **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path

    def get_or_compute(self, key: Mapping,
                       compute: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The cached arrays for key; on a miss, compute() them, save and return them."""
        cached = self.load(key)
        if cached is not None:
            return cached
        arrays = {name: np.asarray(value) for name, value in compute().items()}
        self.save(key, arrays)
        return arrays
