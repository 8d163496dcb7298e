"""kerasgan.metrics against closed forms and plain numpy/scipy; nothing here downloads."""

import math
import os

import numpy as np
import pytest
import scipy.ndimage

from kerasgan import metrics
from kerasgan.errors import KerasganError, MetricError


def _random_covariance(rng, dim):
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _frechet_by_eigh(mu1, sigma1, mu2, sigma2):
    """tr sqrtm(S1 S2) = sum sqrt(eig(sqrt(S1) S2 sqrt(S1))), a symmetric problem."""
    root1 = _psd_sqrt(sigma1)
    eigen = np.clip(np.linalg.eigvalsh(root1 @ sigma2 @ root1), 0, None)
    diff = mu1 - mu2
    return diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(eigen).sum()


def _noise_images(seed, n=64, size=32):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _box_blur(images):
    padded = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    size = images.shape[1]
    out = sum(padded[:, i:i + size, j:j + size] for i in range(3) for j in range(3)) / 9
    return np.rint(out).astype(np.uint8)


def _legacy_bilinear(image, out_size):
    """TF1 resize_bilinear (align_corners=False, half_pixel_centers=False) in plain numpy."""
    in_h, in_w = image.shape[:2]

    def axis(n_in):
        src = np.arange(out_size) * (n_in / out_size)
        low = np.floor(src).astype(int)
        return low, np.minimum(low + 1, n_in - 1), src - low

    top, bottom, fy = axis(in_h)
    left, right, fx = axis(in_w)
    img = image.astype(np.float64)
    wx, wy = fx[None, :, None], fy[:, None, None]
    upper = img[top][:, left] * (1 - wx) + img[top][:, right] * wx
    lower = img[bottom][:, left] * (1 - wx) + img[bottom][:, right] * wx
    return upper * (1 - wy) + lower * wy


# Frechet distance and FID.

def test_frechet_distance_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    a, b = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    value = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert value == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_eigen_computation():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=64), rng.normal(size=64)
    sigma1, sigma2 = _random_covariance(rng, 64), _random_covariance(rng, 64)
    expected = _frechet_by_eigh(mu1, sigma1, mu2, sigma2)
    assert metrics.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_is_symmetric():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    sigma1, sigma2 = _random_covariance(rng, 16), _random_covariance(rng, 16)
    assert metrics.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(
        metrics.frechet_distance(mu2, sigma2, mu1, sigma1), rel=1e-10)


def test_frechet_distance_is_zero_for_identical_statistics():
    rng = np.random.default_rng(3)
    mu, sigma = rng.normal(size=32), _random_covariance(rng, 32)
    assert abs(metrics.frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_frechet_distance_handles_rank_deficient_covariances():
    rng = np.random.default_rng(4)
    mu1, sigma1 = metrics.gaussian_statistics(rng.normal(size=(20, 64)))
    mu2, sigma2 = metrics.gaussian_statistics(rng.normal(size=(20, 64)) + 0.5)
    value = metrics.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert value == pytest.approx(_frechet_by_eigh(mu1, sigma1, mu2, sigma2), rel=1e-4)


def test_frechet_distance_rejects_mismatched_dimensions():
    with pytest.raises(MetricError, match="do not match"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_gaussian_statistics_are_float64_mean_and_unbiased_covariance():
    features = np.random.default_rng(5).normal(size=(50, 4)).astype(np.float32)
    mu, sigma = metrics.gaussian_statistics(features)
    centred = features.astype(np.float64) - features.astype(np.float64).mean(axis=0)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, centred.T @ centred / 49, rtol=1e-12)


# KID.

def test_kid_matches_direct_unbiased_mmd():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)) + 0.3
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(12) for j in range(12) if i != j) / (12 * 11)
    yy = sum(k(y[i], y[j]) for i in range(12) for j in range(12) if i != j) / (12 * 11)
    xy = sum(k(x[i], y[j]) for i in range(12) for j in range(12)) / 144
    mean, std = metrics.kernel_inception_distance(x, y, num_subsets=1, subset_size=12)
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    assert std == 0.0


def test_kid_is_near_zero_for_one_distribution():
    rng = np.random.default_rng(7)
    mean, std = metrics.kernel_inception_distance(
        rng.normal(size=(400, 16)), rng.normal(size=(400, 16)), num_subsets=20, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3


def test_kid_is_clearly_positive_for_shifted_distributions():
    rng = np.random.default_rng(8)
    mean, std = metrics.kernel_inception_distance(
        rng.normal(size=(400, 16)), rng.normal(size=(400, 16)) + 0.5,
        num_subsets=20, subset_size=200)
    assert mean > 10 * std > 0


# SWD.

def test_laplacian_pyramid_matches_scipy_reference_filters():
    images = _noise_images(9, n=2).astype(np.float32)
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, :, :, None] / 256.0
    down = scipy.ndimage.convolve(images, kernel, mode="mirror")[:, ::2, ::2]
    up = np.zeros_like(images)
    up[:, ::2, ::2] = down
    up = scipy.ndimage.convolve(up, 4 * kernel, mode="mirror")
    fine, coarse = metrics.laplacian_pyramid(images, 2)
    np.testing.assert_allclose(coarse, down, atol=1e-3)
    np.testing.assert_allclose(fine, images - up, atol=1e-3)


def test_sliced_wasserstein_of_a_translated_set():
    rng = np.random.default_rng(10)
    a, shift = rng.normal(size=(500, 10)), rng.normal(size=10)
    value = metrics.sliced_wasserstein(a, a + shift, np.random.default_rng(0))
    mean_abs_direction_component = math.gamma(5) / (math.sqrt(math.pi) * math.gamma(5.5))
    assert value == pytest.approx(np.linalg.norm(shift) * mean_abs_direction_component, rel=0.1)


def test_swd_is_zero_for_identical_sets():
    images = _noise_images(11)
    result = metrics.sliced_wasserstein_distance(images, images.copy())
    assert result == {"swd_32": 0.0, "swd_16": 0.0, "swd_avg": 0.0}


def test_swd_reports_each_level_down_to_16_px_and_their_mean():
    result = metrics.sliced_wasserstein_distance(_noise_images(12, n=8, size=64),
                                                 _noise_images(13, n=8, size=64))
    assert list(result) == ["swd_64", "swd_32", "swd_16", "swd_avg"]
    levels = [result["swd_64"], result["swd_32"], result["swd_16"]]
    assert result["swd_avg"] == pytest.approx(np.mean(levels))


def test_swd_is_deterministic_for_a_seed():
    first, second = _noise_images(14), _noise_images(15)
    assert metrics.sliced_wasserstein_distance(first, second, seed=3) == \
        metrics.sliced_wasserstein_distance(first, second, seed=3)
    assert metrics.sliced_wasserstein_distance(first, second, seed=3) != \
        metrics.sliced_wasserstein_distance(first, second, seed=4)


def test_swd_grows_with_blur():
    real, same_kind = _noise_images(16, n=256), _noise_images(17, n=256)
    baseline = metrics.sliced_wasserstein_distance(real, same_kind)
    blurred = metrics.sliced_wasserstein_distance(real, _box_blur(same_kind))
    assert blurred["swd_32"] > 3 * baseline["swd_32"]


def test_swd_grows_with_a_colour_shift_that_varies_between_images():
    real, same_kind = _noise_images(18), _noise_images(19)
    offsets = np.random.default_rng(20).integers(-60, 61, (64, 1, 1, 3))
    shifted = np.clip(same_kind.astype(int) // 2 + 64 + offsets, 0, 255).astype(np.uint8)
    baseline = metrics.sliced_wasserstein_distance(real // 2 + 64, same_kind // 2 + 64)
    result = metrics.sliced_wasserstein_distance(real // 2 + 64, shifted)
    assert result["swd_16"] > 5 * baseline["swd_16"]


def test_swd_is_blind_to_one_affine_colour_change_of_a_whole_set():
    """Each set is normalised by its own statistics, as in the ProGAN reference."""
    images = _noise_images(21) // 2
    result = metrics.sliced_wasserstein_distance(images, images * 2 + 1)
    assert result["swd_avg"] < 1e-3


def test_swd_gives_the_same_for_uint8_and_float_images():
    first, second = _noise_images(22, n=8), _noise_images(23, n=8)
    as_float = second.astype(np.float32) / 127.5 - 1
    assert metrics.sliced_wasserstein_distance(first, as_float) == \
        metrics.sliced_wasserstein_distance(first, second)


def test_swd_works_at_16_px_and_refuses_smaller_images():
    result = metrics.sliced_wasserstein_distance(_noise_images(24, n=4, size=16),
                                                 _noise_images(25, n=4, size=16))
    assert list(result) == ["swd_16", "swd_avg"]
    with pytest.raises(MetricError, match="at least 16 px"):
        metrics.sliced_wasserstein_distance(_noise_images(26, n=4, size=8),
                                            _noise_images(27, n=4, size=8))


def test_swd_refuses_sets_of_different_sizes():
    with pytest.raises(MetricError, match="one shape"):
        metrics.sliced_wasserstein_distance(_noise_images(28, n=4), _noise_images(29, n=5))


def test_images_to_uint8_rejects_floats_in_0_255():
    with pytest.raises(MetricError, match=r"\[-1, 1\]"):
        metrics.images_to_uint8(np.full((1, 4, 4, 3), 200.0, np.float32))


# Inception features and the FID pipeline (test-only models: their numbers are not FID).

@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def tiny_cnn(keras):
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((None, None, 3)),
        keras.layers.Conv2D(8, 3, strides=4, activation="relu"),
        keras.layers.Conv2D(16, 3, strides=4, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
    ], name="tiny_cnn")


def test_inception_features_random_inception_v3_gives_2048_float64(keras):
    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg")
    extractor = metrics.InceptionFeatures(model=model, batch_size=2)
    images = _noise_images(30, n=3, size=16)
    features = extractor(images)
    assert features.shape == (3, 2048) and features.dtype == np.float64
    np.testing.assert_array_equal(features, extractor(images))


def test_inception_features_resize_is_legacy_bilinear_to_299(keras):
    identity = keras.Sequential([keras.Input((299, 299, 3)), keras.layers.Flatten()])
    images = _noise_images(31, n=2, size=32)
    features = metrics.InceptionFeatures(model=identity)(images)
    expected = np.stack([_legacy_bilinear(image, 299) / 127.5 - 1 for image in images])
    np.testing.assert_allclose(features, expected.reshape(2, -1), atol=1e-5)


def test_inception_features_same_for_any_batching(tiny_cnn):
    images = _noise_images(32, n=7)
    whole = metrics.InceptionFeatures(model=tiny_cnn, batch_size=7)(images)
    batches = iter([images[:4], images[4:]])
    batched = metrics.InceptionFeatures(model=tiny_cnn, batch_size=3)(batches)
    np.testing.assert_allclose(batched, whole, rtol=1e-5, atol=1e-6)


def test_fid_pipeline_separates_shifted_images_from_the_same_kind(tiny_cnn):
    extractor = metrics.InceptionFeatures(model=tiny_cnn, batch_size=16)
    real = extractor(_noise_images(33, n=32) // 2)
    same_kind = extractor(_noise_images(34, n=32) // 2)
    brighter = extractor(_noise_images(35, n=32) // 2 + 100)
    assert metrics.fid_from_features(real, real) == pytest.approx(0.0, abs=1e-8)
    baseline = metrics.fid_from_features(real, same_kind)
    assert metrics.fid_from_features(real, brighter) > 10 * baseline


def test_load_inception_offline_names_the_file_and_the_folder(tmp_path, monkeypatch):
    def no_network():
        raise OSError("no network in tests")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(metrics, "_download_inception_weights", no_network)
    with pytest.raises(KerasganError) as error:
        metrics.InceptionFeatures()
    message = str(error.value)
    assert "\n" not in message
    assert metrics.INCEPTION_WEIGHTS_FILE in message
    assert os.path.join(str(tmp_path), "models") in message
    assert "--inception_weights" in message


def test_load_inception_missing_weights_path_is_named(tmp_path):
    missing = str(tmp_path / "nowhere.h5")
    with pytest.raises(MetricError, match="not found: .*nowhere.h5"):
        metrics.load_inception(missing)


def test_inception_weights_found_in_keras_cache_are_used_without_download(tmp_path, monkeypatch):
    cached = tmp_path / "models" / metrics.INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir()
    cached.write_bytes(b"weights")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(metrics, "_download_inception_weights", pytest.fail)
    assert metrics.resolve_inception_weights() == str(cached)


# Real-data statistics cache.

KEY = {"dataset": "celeba", "split": "val", "size": 64, "crop": 108, "count": 100,
       "extractor": "test"}


def test_stats_cache_round_trip(tmp_path):
    cache = metrics.StatsCache(str(tmp_path))
    mu, sigma = np.arange(3.0), np.eye(3)
    cache.save(KEY, {"mu": mu, "sigma": sigma})
    loaded = metrics.StatsCache(str(tmp_path)).load(dict(reversed(list(KEY.items()))))
    np.testing.assert_array_equal(loaded["mu"], mu)
    np.testing.assert_array_equal(loaded["sigma"], sigma)
    assert os.listdir(tmp_path) == [os.path.basename(cache.path(KEY))]


def test_stats_cache_misses_for_another_key(tmp_path):
    cache = metrics.StatsCache(str(tmp_path))
    cache.save(KEY, {"mu": np.zeros(2)})
    assert cache.load({**KEY, "count": 101}) is None


def test_stats_cache_computes_once(tmp_path):
    cache, calls = metrics.StatsCache(str(tmp_path)), []

    def compute():
        calls.append(1)
        return {"mu": np.ones(2)}

    cache.get_or_compute(KEY, compute)
    np.testing.assert_array_equal(cache.get_or_compute(KEY, compute)["mu"], np.ones(2))
    assert len(calls) == 1


def test_stats_cache_treats_a_corrupt_file_as_a_miss(tmp_path):
    cache = metrics.StatsCache(str(tmp_path))
    with open(cache.path(KEY), "wb") as f:
        f.write(b"truncated")
    assert cache.load(KEY) is None


def test_load_inception_unreadable_weights_file_is_one_line_error(tmp_path):
    broken = tmp_path / metrics.INCEPTION_WEIGHTS_FILE
    broken.write_bytes(b"not an hdf5 file")
    with pytest.raises(MetricError, match="cannot load Inception weights") as error:
        metrics.load_inception(str(broken))
    assert "\n" not in str(error.value)
