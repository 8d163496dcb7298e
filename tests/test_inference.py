"""inference: one compiled generator call shared by GAN.generate, sampling and evaluation."""

import gc
import weakref

import keras
import numpy as np
import pytest

from kerasgan import evaluate_lib, inference, networks, sample_lib
from kerasgan.errors import ConfigError
from kerasgan.labels import draw_labels
from kerasgan.gan import GAN
from kerasgan.noise import seeded_noise


@pytest.fixture(scope="module")
def generator():
    return networks.build_networks(16, 8, "dcgan")[0]


def test_repeated_calls_of_any_size_trace_the_generator_once(generator):
    sample_lib.generate(generator, range(5), batch_size=2)
    sample_lib.generate(generator, range(3), batch_size=64)
    evaluate_lib.generate_images(generator, 7, seed=1, batch_size=4)
    assert inference.compiled_generator(generator).experimental_get_tracing_count() == 1


def test_output_is_the_inference_mode_call_in_batches(generator):
    z = seeded_noise(range(5), 8)
    expected = generator(z, training=False).numpy()
    np.testing.assert_allclose(inference.generate(generator, z, batch_size=2), expected,
                               rtol=1e-5, atol=1e-6)


def test_gan_sample_and_evaluate_draw_the_same_images_for_the_same_seeds(tiny_config):
    gan = GAN(tiny_config)
    by_gan = gan.generate(seeded_noise(range(3), tiny_config.latent_dim))
    drawn_by = gan.inference_generator
    by_seed = sample_lib.generate(drawn_by, [0, 1, 2])
    for_metrics = evaluate_lib.generate_images(drawn_by, 3, seed=0)
    np.testing.assert_array_equal(by_gan, by_seed)
    np.testing.assert_array_equal(by_gan, for_metrics)
    assert inference.compiled_generator(drawn_by).experimental_get_tracing_count() == 1


def test_any_keras_model_taking_noise_works():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2 * 2 * 3, activation="tanh"),
                              keras.layers.Reshape((2, 2, 3))])
    images = inference.generate(model, np.ones((3, 4)), batch_size=2)
    assert images.shape == (3, 2, 2, 3) and images.dtype == np.float32


def test_the_cache_does_not_keep_a_generator_alive():
    model = networks.build_networks(16, 8, "dcgan")[0]
    inference.generate(model, np.zeros((1, 8)))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_empty_noise_or_batch_size_zero_is_refused(generator):
    with pytest.raises(ValueError, match="at least one noise vector"):
        inference.generate(generator, np.zeros((0, 8)))
    with pytest.raises(ValueError, match="batch_size > 0"):
        inference.generate(generator, np.zeros((2, 8)), batch_size=0)


# Conditional generators: labels float32 [N, A] of 0/1.

NAMES = ("Smiling", "Male")


@pytest.fixture(scope="module")
def conditional_generator():
    return networks.build_networks(16, 8, "dcgan", attribute_names=NAMES,
                                   attribute_frequencies=(0.7, 0.2))[0]


def test_conditional_output_is_the_inference_mode_call_on_z_and_labels(conditional_generator):
    z = seeded_noise(range(5), 8)
    labels = draw_labels((0.7, 0.2), range(5))
    expected = conditional_generator((z, labels), training=False).numpy()
    got = inference.generate(conditional_generator, z, batch_size=2, labels=labels)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    inference.generate(conditional_generator, z[:3], batch_size=64, labels=labels[:3])
    assert inference.compiled_generator(
        conditional_generator).experimental_get_tracing_count() == 1


def test_labels_are_required_by_a_conditional_generator_and_refused_by_others(
        conditional_generator, generator):
    z = np.zeros((3, 8), "float32")
    with pytest.raises(ConfigError, match=r"^this generator is conditional on Smiling, Male: "
                                          r"give labels, one row of 2 0/1 values per noise "
                                          r"vector$"):
        inference.generate(conditional_generator, z)
    with pytest.raises(ConfigError, match=r"^labels of shape \(3, 1\) do not fit 3 noise vectors "
                                          r"and the 2 attributes \(Smiling, Male\): use \[3, 2\]$"):
        inference.generate(conditional_generator, z, labels=np.zeros((3, 1)))
    with pytest.raises(ConfigError, match=r"^this generator is not conditional: it takes no "
                                          r"attribute labels$"):
        inference.generate(generator, z, labels=np.zeros((3, 2)))
