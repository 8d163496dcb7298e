import numpy as np
import pytest

import keras

from kerasgan import networks


def _layer_names(model):
    return [type(layer).__name__ for layer in model.blocks]


def test_seed_generator_at_128_is_the_reference_stack():
    generator = networks.Generator(image_size=128, latent_dim=100, arch="seed")
    generator(np.zeros((1, 100), "float32"))
    assert _layer_names(generator) == (
        ["Dense", "Reshape", "FusedBatchNormalization", "LeakyReLU"]
        + ["Conv2DTranspose", "FusedBatchNormalization", "LeakyReLU"] * 4
        + ["Conv2DTranspose", "Activation"])
    convs = [b for b in generator.blocks if isinstance(b, keras.layers.Conv2DTranspose)]
    assert [c.filters for c in convs] == [256, 128, 64, 32, 3]
    assert [c.strides for c in convs] == [(2, 2)] * 4 + [(1, 1)]
    assert generator.blocks[0].units == 8 * 8 * 512 and not generator.blocks[0].use_bias


def test_seed_discriminator_at_128_is_the_reference_stack():
    discriminator = networks.Discriminator(image_size=128, arch="seed")
    discriminator(np.zeros((1, 128, 128, 3), "float32"))
    assert _layer_names(discriminator) == (["Conv2D", "LeakyReLU", "Dropout"] * 4
                                           + ["Flatten", "Dense"])
    convs = [b for b in discriminator.blocks if isinstance(b, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 512]
    assert discriminator.blocks[-1].units == 1


def test_dcgan_64_follows_radford_et_al():
    generator, discriminator = networks.build_networks(64, 128, "dcgan")
    assert generator.blocks[0].units == 4 * 4 * 512
    assert [type(b).__name__ for b in generator.blocks].count("ReLU") == 4
    d_names = _layer_names(discriminator)
    assert d_names[:3] == ["Conv2D", "LeakyReLU", "Conv2D"]  # no batch norm after the first conv
    assert d_names.count("FusedBatchNormalization") == 3
    init = generator.blocks[0].kernel_initializer
    assert isinstance(init, keras.initializers.RandomNormal) and init.stddev == 0.02


@pytest.mark.parametrize("arch,size", [("seed", 16), ("seed", 32), ("dcgan", 32), ("seed", 64)])
def test_output_shapes_and_range(arch, size):
    generator, discriminator = networks.build_networks(size, 8, arch)
    z = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    images = generator(z).numpy()
    assert images.shape == (2, size, size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert discriminator(images).shape == (2, 1)


def test_bad_arch_or_size_is_refused():
    with pytest.raises(ValueError, match="image_size=100"):
        networks.Generator(image_size=100)
    with pytest.raises(ValueError, match="arch='vae'"):
        networks.Discriminator(arch="vae")


def test_keras_file_round_trip_gives_equal_outputs(tmp_path):
    generator, discriminator = networks.build_networks(16, 8, "seed")
    z = np.random.default_rng(1).standard_normal((3, 8)).astype("float32")
    images = generator(z).numpy()
    for model, x in ((generator, z), (discriminator, images)):
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        assert type(loaded) is type(model)
        assert loaded.get_config()["image_size"] == 16
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


def test_channels_set_the_widths_of_both_networks():
    generator, discriminator = networks.build_networks(32, 8, "dcgan", channels=64)
    g_widths = [layer.filters for layer in generator.blocks if hasattr(layer, "filters")]
    d_widths = [layer.filters for layer in discriminator.blocks if hasattr(layer, "filters")]
    assert generator.blocks[0].units == 4 * 4 * 64
    assert g_widths == [32, 16, 3] and d_widths == [16, 32, 64]
    assert generator(np.zeros((2, 8), "float32")).shape == (2, 32, 32, 3)


def test_spectral_norm_holds_each_d_layer_near_unit_spectral_norm():
    import keras

    _, discriminator = networks.build_networks(16, 8, "dcgan", channels=32, d_norm="spectral")
    wrapped = [layer for layer in discriminator.blocks
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3  # two convolutions and the logit layer
    for layer in wrapped:
        layer.kernel.assign(layer.kernel * 10.0)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    for _ in range(30):  # one power iteration per training call
        discriminator(images, training=True)
    for layer in wrapped:
        kernel = layer.kernel.numpy().reshape(-1, layer.kernel.shape[-1])
        assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=0.05)


def test_get_config_round_trips_channels_and_norm():
    generator, discriminator = networks.build_networks(16, 8, "dcgan", channels=32,
                                                       d_norm="spectral")
    assert networks.Generator.from_config(generator.get_config()).channels == 32
    rebuilt = networks.Discriminator.from_config(discriminator.get_config())
    assert rebuilt.norm == "spectral" and rebuilt.channels == 32
