import numpy as np
import pytest

import keras

from kerasgan import config as config_lib, networks


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


@pytest.mark.parametrize("arch,size", [("seed", 16), ("seed", 32), ("dcgan", 32), ("seed", 64),
                                       ("dcgan_resize", 16), ("dcgan_resize", 64),
                                       ("resnet", 16), ("resnet", 64)])
def test_output_shapes_and_range(arch, size):
    generator, discriminator = networks.build_networks(size, 8, arch)
    z = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    images = generator(z).numpy()
    assert images.shape == (2, size, size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert discriminator(images).shape == (2, 1)


def test_dcgan_resize_is_dcgan_with_resize_convolutions_in_g():
    generator, discriminator = networks.build_networks(64, 8, "dcgan_resize", channels=128,
                                                       d_norm="spectral")
    reference_g, reference_d = networks.build_networks(64, 8, "dcgan", channels=128,
                                                       d_norm="spectral")
    assert _layer_names(generator) == (
        ["Dense", "Reshape", "FusedBatchNormalization", "ReLU"]
        + ["UpSampling2D", "Conv2D", "FusedBatchNormalization", "ReLU"] * 3
        + ["UpSampling2D", "Conv2D", "Activation"])
    convs = [b for b in generator.blocks if isinstance(b, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (64, (3, 3), (1, 1)), (32, (3, 3), (1, 1)), (16, (3, 3), (1, 1)), (3, (3, 3), (1, 1))]
    assert [b.interpolation for b in generator.blocks
            if isinstance(b, keras.layers.UpSampling2D)] == ["nearest"] * 4
    assert generator.blocks[0].units == reference_g.blocks[0].units == 4 * 4 * 128
    assert _layer_names(discriminator) == _layer_names(reference_d)
    assert [w.shape for w in discriminator.weights] == [w.shape for w in reference_d.weights]


def test_resnet_follows_sn_gan_with_biggan_widths():
    generator, discriminator = networks.build_networks(32, 8, "resnet", channels=64,
                                                       d_norm="spectral")
    assert _layer_names(generator) == (["Dense", "Reshape"] + ["ResidualUp"] * 3 + [
        "FusedBatchNormalization", "ReLU", "Conv2D", "Activation"])
    ups = generator.blocks[2:5]
    assert [(b.in_width, b.filters) for b in ups] == [(64, 64), (64, 32), (32, 16)]
    assert generator.blocks[0].units == 4 * 4 * 64
    assert _layer_names(discriminator) == ["ResidualDown"] * 3 + [
        "ReLU", "GlobalSumPooling", "Flatten", "SpectralNormalization"]
    downs = discriminator.blocks[:3]
    assert [b.filters for b in downs] == [16, 32, 64] and [b.first for b in downs] == [
        True, False, False]
    # Every convolution of D is spectrally normalised: three per block and the logit.
    wrapped = [w for w in discriminator.weights if "vector_u" in w.path]
    assert len(wrapped) == 3 * 3 + 1
    default_g, default_d = networks.build_networks(32, 8, "resnet")
    assert default_g.blocks[0].units == 4 * 4 * 256 and default_d.blocks[2].filters == 256


def test_a_residual_up_block_is_its_shortcut_when_its_last_convolution_is_zero():
    block = networks.blocks.ResidualUp(4, 6)
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4)).astype("float32")
    assert block(x).shape == (2, 6, 6, 6)
    for weight in (block.conv2.kernel, block.conv2.bias):
        weight.assign(np.zeros(weight.shape))
    upsampled = x.repeat(2, axis=1).repeat(2, axis=2)  # nearest-neighbour 2x
    expected = upsampled @ block.shortcut.kernel.numpy()[0, 0] + block.shortcut.bias.numpy()
    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("first", [True, False])
def test_a_residual_down_block_is_its_pooled_shortcut_when_its_last_convolution_is_zero(first):
    block = networks.blocks.ResidualDown(5, first=first)
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype("float32")
    assert block(x).shape == (2, 2, 2, 5)
    for weight in (block.conv2.kernel, block.conv2.bias):
        weight.assign(np.zeros(weight.shape))
    pooled = x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))  # 2x2 average pooling
    # A 1x1 convolution and average pooling commute: the two shortcut orders agree.
    expected = pooled @ block.shortcut.kernel.numpy()[0, 0] + block.shortcut.bias.numpy()
    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_global_sum_pooling_sums_each_channel_over_positions():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype("float32")
    np.testing.assert_allclose(networks.blocks.GlobalSumPooling()(x).numpy(),
                               x.sum(axis=(1, 2)), rtol=1e-5)


def test_a_resnet_pair_round_trips_through_keras_files(tmp_path):
    generator, discriminator = networks.build_networks(16, 8, "resnet", channels=16,
                                                       d_norm="spectral")
    z = np.random.default_rng(1).standard_normal((3, 8)).astype("float32")
    images = generator(z).numpy()
    for model, x in ((generator, z), (discriminator, images)):
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


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


def test_spectral_norm_keeps_ds_logit_float32_under_mixed_float16():
    """Keras' SpectralNormalization casts its output to its input's dtype: wrapped under the
    global mixed_float16 policy, D's float32 logit layer gave float16 logits, and the GPU
    defaults with --r1_gamma failed to add the float32 penalty to the float16 loss."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        _, discriminator = networks.build_networks(16, 8, "dcgan", channels=8, d_norm="spectral")
    finally:
        keras.config.set_dtype_policy(previous)
    assert discriminator.blocks[0].compute_dtype == "float16"
    images = np.zeros((4, 16, 16, 3), "float32")
    assert discriminator(images, training=True).dtype == "float32"


def test_get_config_round_trips_channels_and_norm():
    generator, discriminator = networks.build_networks(16, 8, "dcgan", channels=32,
                                                       d_norm="spectral")
    assert networks.Generator.from_config(generator.get_config()).channels == 32
    rebuilt = networks.Discriminator.from_config(discriminator.get_config())
    assert rebuilt.norm == "spectral" and rebuilt.channels == 32


# Conditional networks (attribute_names): G on (z, labels), D a projection discriminator.

NAMES = ("Smiling", "Male", "Blond_Hair")


def _conditional(arch, d_norm="none", size=16):
    return networks.build_networks(size, 8, arch, channels=16, d_norm=d_norm,
                                   attribute_names=NAMES, attribute_frequencies=(0.5, 0.4, 0.1))


def _inputs(batch=4, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, 8)).astype("float32")
    labels = (rng.random((batch, len(NAMES))) < 0.5).astype("float32")
    return z, labels


@pytest.mark.parametrize("arch,d_norm", [("seed", "none"), ("dcgan", "none"),
                                         ("seed", "spectral"), ("dcgan", "spectral"),
                                         ("resnet", "spectral")])
def test_conditional_networks_give_images_and_one_float32_logit(arch, d_norm):
    generator, discriminator = _conditional(arch, d_norm)
    z, labels = _inputs()
    images = generator((z, labels))
    logits = discriminator((images, labels))
    assert images.shape == (4, 16, 16, 3) and images.dtype == "float32"
    assert -1.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0
    assert logits.shape == (4, 1) and logits.dtype == "float32"


@pytest.mark.parametrize("arch", ["seed", "dcgan", "resnet"])
def test_the_labels_change_gs_images_and_ds_judgement(arch):
    generator, discriminator = _conditional(arch)
    z, labels = _inputs()
    images = generator((z, labels)).numpy()
    other = 1.0 - labels
    # dcgan's N(0, 0.02) weights draw faint images at first: compare with their own scale.
    assert np.abs(generator((z, other)).numpy() - images).mean() > 0.1 * np.abs(images).mean()
    logits = discriminator((images, labels)).numpy()
    assert np.abs(discriminator((images, other)).numpy() - logits).min() > 0.01 * np.abs(
        logits).mean()


def test_g_concatenates_an_embedding_of_the_signed_labels_to_z():
    generator, _ = _conditional("dcgan")
    z, labels = _inputs()
    embedding = generator.label_embedding.kernel.numpy()  # [A, latent_dim]
    assert embedding.shape == (len(NAMES), 8)
    expected = generator.net(np.concatenate(
        [z, networks.LABEL_SCALE * (2 * labels - 1) @ embedding], axis=1)).numpy()
    np.testing.assert_allclose(generator((z, labels)).numpy(), expected, atol=1e-6)


def test_d_is_a_projection_discriminator():
    # logit = psi(phi(x)) + <V (2y - 1), phi(x)>, computed here from the layers' own weights.
    _, discriminator = _conditional("dcgan")
    images = np.random.default_rng(3).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    _, labels = _inputs()
    features = discriminator.net(images).numpy()  # phi(x): the flattened last feature map
    assert features.shape == (4, 4 * 4 * 16)
    psi = features @ discriminator.logit.kernel.numpy() + discriminator.logit.bias.numpy()
    projection = np.sum(((2 * labels - 1) @ discriminator.projection.kernel.numpy()) * features,
                        axis=1, keepdims=True)
    np.testing.assert_allclose(discriminator((images, labels)).numpy(), psi + projection,
                               rtol=1e-5, atol=1e-5)


def test_spectral_norm_covers_the_projection_embedding():
    _, discriminator = _conditional("dcgan", d_norm="spectral")
    projection = discriminator.projection
    assert isinstance(projection, keras.layers.SpectralNormalization)
    projection.kernel.assign(projection.kernel * 10.0)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    _, labels = _inputs()
    for _ in range(30):
        discriminator((images, labels), training=True)
    kernel = projection.kernel.numpy()
    assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=0.05)


def test_conditional_configs_round_trip_and_unconditional_ones_stay_as_they_were():
    generator, discriminator = _conditional("dcgan", d_norm="spectral")
    rebuilt = networks.Generator.from_config(generator.get_config())
    assert rebuilt.attribute_names == NAMES and rebuilt.attribute_frequencies == (0.5, 0.4, 0.1)
    assert networks.Discriminator.from_config(discriminator.get_config()).attribute_names == NAMES
    plain_g, plain_d = networks.build_networks(16, 8, "dcgan")
    assert "attribute_names" not in plain_g.get_config()
    assert "attribute_names" not in plain_d.get_config()
    assert plain_g.attribute_names == () and plain_g.attribute_frequencies == ()


def test_a_generators_attribute_combinations_round_trip_in_its_config_and_file(tmp_path):
    combinations = (("000", 0.5), ("110", 0.3), ("001", 0.2))
    generator = networks.Generator(image_size=16, latent_dim=8, arch="dcgan", channels=16,
                                   attribute_names=NAMES, attribute_combinations=combinations)
    assert networks.Generator.from_config(generator.get_config()).attribute_combinations == \
        combinations
    generator(networks.example_inputs(generator))
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    assert keras.models.load_model(path).attribute_combinations == combinations
    assert "attribute_combinations" not in _conditional("dcgan")[0].get_config()
    with pytest.raises(ValueError, match="distinct codes of 3 0/1 characters"):
        networks.Generator(image_size=16, attribute_names=NAMES,
                           attribute_combinations=(("01", 1.0),))


def test_the_label_scale_is_kept_and_scales_the_embedded_labels():
    generator = networks.Generator(image_size=16, latent_dim=8, arch="dcgan", channels=16,
                                   attribute_names=NAMES, label_scale=0.3)
    z, labels = _inputs()
    drawn = generator((z, labels)).numpy()
    rebuilt = networks.Generator.from_config(generator.get_config())
    assert rebuilt.label_scale == 0.3
    rebuilt((z, labels))
    rebuilt.set_weights(generator.get_weights())
    np.testing.assert_allclose(rebuilt((z, labels)).numpy(), drawn, atol=1e-6)
    old_config = {k: v for k, v in generator.get_config().items() if k != "label_scale"}
    assert networks.Generator.from_config(old_config).label_scale == networks.LABEL_SCALE == 0.1
    config = config_lib.make_config(image_size=16, latent_dim=8, arch="dcgan", channels=16,
                                    conditional_attributes=",".join(NAMES), label_scale=0.3)
    assert networks.build_generator(config).label_scale == 0.3


def test_a_conditional_generator_without_frequencies_takes_half_for_each():
    generator = networks.Generator(image_size=16, latent_dim=8, arch="dcgan",
                                   attribute_names=["Smiling", "Male"])
    assert generator.attribute_frequencies == (0.5, 0.5)


def test_keras_file_round_trip_of_a_conditional_generator(tmp_path):
    generator, _ = _conditional("seed")
    z, labels = _inputs(batch=5, seed=4)
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is networks.Generator
    assert loaded.attribute_names == NAMES and loaded.attribute_frequencies == (0.5, 0.4, 0.1)
    np.testing.assert_allclose(loaded((z, labels)).numpy(), generator((z, labels)).numpy(),
                               atol=1e-6)


def test_conditional_layers_are_listed_in_blocks():
    generator, discriminator = _conditional("dcgan")
    assert generator.blocks[0] is generator.label_embedding
    assert generator.blocks[1:] == generator.net.layers
    assert discriminator.blocks[-2:] == [discriminator.logit, discriminator.projection]
    assert type(discriminator.net.layers[-1]).__name__ == "Flatten"


def test_bad_conditional_inputs_are_refused():
    # Keras wraps errors raised in call() with its own context; the line of ours is in there.
    generator, discriminator = _conditional("dcgan")
    z, labels = _inputs()
    with pytest.raises(ValueError, match=r"labels have 2 columns; this network is conditioned "
                                         r"on 3 attributes \(Smiling, Male, Blond_Hair\)"):
        generator((z, labels[:, :2]))
    with pytest.raises(ValueError, match=r"is called on \(images, labels\), labels \[batch, 3\]"):
        discriminator(np.zeros((4, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match=r"attribute_frequencies must be 3 shares in \[0, 1\]"):
        networks.Generator(image_size=16, attribute_names=NAMES, attribute_frequencies=(0.5,))
    with pytest.raises(ValueError, match="not the string 'Smiling'"):
        networks.Discriminator(image_size=16, attribute_names="Smiling")


def test_every_family_in_the_registry_is_an_arch_choice_and_back():
    from kerasgan.config import ARCHS
    assert sorted(networks.FAMILIES) == sorted(ARCHS)
    for module in networks.FAMILIES.values():
        assert {"START", "initializer", "generator_layers", "discriminator_layers"} <= set(
            dir(module))


# Conditional batch norm in G (--g_conditioning=cbn).

def _cbn(arch):
    return networks.build_networks(16, 8, arch, channels=16, attribute_names=NAMES,
                                   attribute_frequencies=(0.5, 0.4, 0.1), g_conditioning="cbn")[0]


@pytest.mark.parametrize("arch", ["seed", "dcgan", "dcgan_resize", "resnet"])
def test_a_cbn_generator_starts_as_the_concat_generator(arch):
    keras.utils.set_random_seed(5)
    concat = _conditional(arch)[0]
    keras.utils.set_random_seed(5)
    generator = _cbn(arch)
    z, labels = _inputs()
    # The label map starts at zero: the same weights give the concat generator's images.
    for a, b in zip(concat.weights, [w for w in generator.weights
                                     if "label_modulation" not in w.path]):
        b.assign(a)
    np.testing.assert_allclose(generator((z, labels)).numpy(), concat((z, labels)).numpy(),
                               atol=1e-6)
    assert [layer.name for layer in generator.blocks[:2]] == ["label_embedding",
                                                              "label_modulation"]
    # One (gain, shift) pair per channel of each batch norm: the start map and every up block.
    widths = networks.blocks.batch_norm_widths(generator.net.layers)
    assert generator.label_modulation.kernel.shape == (len(NAMES), 2 * sum(widths))
    assert widths[0] == 16
    assert not np.any(generator.label_modulation.kernel.numpy())


@pytest.mark.parametrize("arch", ["seed", "dcgan", "resnet"])
def test_a_cbn_generators_label_map_changes_its_faces(arch):
    generator = _cbn(arch)
    z, labels = _inputs()
    before = generator((z, labels)).numpy()
    kernel = generator.label_modulation.kernel
    kernel.assign(np.random.default_rng(1).normal(0, 0.5, kernel.shape).astype("float32"))
    after = generator((z, labels)).numpy()
    assert not np.allclose(before, after)
    generator.label_embedding.kernel.assign(np.zeros(generator.label_embedding.kernel.shape))
    assert not np.allclose(generator((z, labels)).numpy(), generator((z, 1.0 - labels)).numpy())


def test_run_modulated_scales_and_shifts_each_batch_norm_output():
    bn = networks.blocks.batch_norm()
    stack = [keras.layers.Reshape((1, 1, 2)), bn]
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    modulation = np.array([[0.5, -1.0, 0.1, 0.2], [0.0, 1.0, -0.3, 0.0]], np.float32)
    out = networks.blocks.run_modulated(stack, x, modulation, [2], training=False).numpy()
    normalised = bn(x.reshape(2, 1, 1, 2), training=False).numpy()  # moving mean 0, variance 1
    expected = normalised * (1 + modulation[:, None, None, :2]) + modulation[:, None, None, 2:]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(normalised, x.reshape(2, 1, 1, 2) / np.sqrt(1 + bn.epsilon),
                               rtol=1e-5)


def test_cbn_survives_get_config_and_a_keras_file(tmp_path):
    generator = _cbn("dcgan")
    kernel = generator.label_modulation.kernel
    kernel.assign(np.random.default_rng(2).normal(0, 0.5, kernel.shape).astype("float32"))
    assert generator.get_config()["conditioning"] == "cbn"
    path = str(tmp_path / "g.keras")
    generator.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    assert loaded.conditioning == "cbn"
    z, labels = _inputs()
    np.testing.assert_allclose(loaded((z, labels)).numpy(), generator((z, labels)).numpy(),
                               atol=1e-6)


def test_a_concat_generator_config_is_as_it_was_and_old_configs_read_as_concat():
    generator = _conditional("dcgan")[0]
    config = generator.get_config()
    assert "conditioning" not in config
    assert networks.Generator.from_config(config).conditioning == "concat"
    assert not hasattr(generator, "label_modulation")
    with pytest.raises(ValueError, match="conditioning='film' is not one of concat, cbn"):
        networks.Generator(image_size=16, attribute_names=NAMES, conditioning="film")


def test_g_conditioning_is_a_checked_identity_field():
    assert config_lib.make_config(g_conditioning="cbn").g_conditioning == "cbn"
    assert "g_conditioning" in config_lib.IDENTITY_FIELDS
    assert config_lib.TrainConfig.from_json("{}").g_conditioning == "concat"
    with pytest.raises(config_lib.ConfigError, match="--g_conditioning=film is not allowed"):
        config_lib.make_config(g_conditioning="film")
