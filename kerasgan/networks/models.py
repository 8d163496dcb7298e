"""Generator and Discriminator: Keras Model subclasses over a family's layers (families.py).

Both take an optional list of binary attributes (CelebA's Smiling, Eyeglasses, ...); with none
they are exactly the unconditional networks (same layers, weights, outputs and checkpoint keys).
With attributes, labels are float32 [batch, A], 1.0 where a face has the attribute:
- G, with --g_conditioning=concat (the default; the conditional GAN of Mirza & Osindero 2014):
  the labels, mapped to -1/+1, go through a learned linear embedding of latent_dim units, scaled
  by --label_scale (0.1), and are concatenated to z before G's first Dense. The embedding starts
  with N(0, 1/A) weights, so the embedded units start at a tenth of z's scale. At z's own scale
  (StyleGAN2-ADA's choice) the labels drowned the noise: on the 32 px quick32 recipe with six
  synthetic attributes, 3 epochs scored swd_avg 79.3 (the full 14 epochs 89.7, its faces nearly
  one per attribute combination) against 49.5 at a tenth and 46.8 unconditional
  (experiments/conditional32).
- G, with --g_conditioning=cbn: the concat input above, plus conditional batch norm (as in
  SN-GAN's and BigGAN's generators): a zero-initialised linear map of the -1/+1 labels gives
  every batch norm of every family a per-example (gain, shift) pair per channel, applied as
  x (1 + gain) + shift after it. At the start the map is zero, so a cbn G starts as the concat
  G exactly. The labels through batch norm alone, without the concat input, obeyed them less
  (quick32 with six attributes: Black_Hair 0.820, Pale_Skin 0.828 against concat's 0.938,
  0.913; experiments/conditional32).
- D is a projection discriminator (Miyato & Koyama 2018): logit = psi(phi(x)) + <V y, phi(x)>,
  phi(x) D's last feature map flattened (the input of its logit layer), psi that logit layer and
  V a learned linear embedding of the -1/+1 labels. For independent binary attributes this is the
  projection form of a log-likelihood ratio with one embedding vector per attribute (the -1/+1
  mapping absorbs the per-attribute constant into psi). Unlike concatenating labels to D's input,
  it makes the label a term of the logit, which D cannot ignore, and it is the design the
  spectrally normalised GANs (SN-GAN, BigGAN) use: with --d_norm=spectral V is normalised too.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasgan.config import G_CONDITIONINGS, TrainConfig
from kerasgan.labels import check_combinations
from kerasgan.networks import blocks, families

LABEL_SCALE = TrainConfig.label_scale  # a conditional G's embedded labels, relative to z (above)


@keras.saving.register_keras_serializable(package="kerasgan")
class Generator(keras.Model):
    """Maps noise z of shape [batch, latent_dim] to images [batch, size, size, 3] in [-1, 1].

    Args:
        image_size: side of the output image: 16, 32, 64, 128 or 256.
        latent_dim: size of z.
        arch: "seed" (8x8x512 start, LeakyReLU, 5x5 kernels, a final stride-1 layer to RGB) or
            "dcgan" (4x4x512 start, ReLU, 4x4 kernels, the last stride-2 layer emits RGB).
        sync_batchnorm: batch-norm statistics over the global batch under tf.distribute
            (keras.layers.BatchNormalization(synchronized=True)) rather than per replica.
        channels: width of the first feature map (halved per stage); 0 for the reference 512.
        attribute_names: the attributes G is conditioned on (then it is called on (z, labels),
            labels float32 [batch, len(attribute_names)] of 0/1); () for an unconditional G.
        attribute_frequencies: the share of the training images that have each attribute, kept
            (in the config, so in generator.keras) for drawing natural labels; 0.5 each when
            not given.
        label_scale: the factor on a conditional G's embedded labels (LABEL_SCALE unless a saved
            generator says otherwise): kept in the config, so a generator.keras draws as it was
            trained even if the default changes.
        attribute_combinations: the attributes' label rows in the training data with their
            shares (labels.label_combinations), kept likewise so that drawn labels come in the
            data's combinations; () when not known (each attribute is then drawn alone).
        conditioning: how a conditional G takes the labels: "concat" (embedded, joined to z) or
            "cbn" (conditional batch norm); see the module docstring.
        **kwargs: passed to keras.Model (name, dtype, ...).
    """

    def __init__(self, image_size: int = 128, latent_dim: int = 100, arch: str = "seed",
                 sync_batchnorm: bool = False, channels: int = 0, attribute_names=(),
                 attribute_frequencies=(), attribute_combinations=(),
                 label_scale: float = LABEL_SCALE, conditioning: str = "concat", **kwargs):
        super().__init__(**kwargs)
        if conditioning not in G_CONDITIONINGS:
            raise ValueError(f"conditioning={conditioning!r} is not one of "
                             f"{', '.join(G_CONDITIONINGS)}")
        self.image_size = image_size
        self.latent_dim = latent_dim
        self.arch = arch
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
        self.attribute_names = blocks.attribute_names(attribute_names)
        self.attribute_frequencies = blocks.attribute_frequencies(attribute_frequencies,
                                                                  self.attribute_names)
        self.attribute_combinations = check_combinations(attribute_combinations,
                                                         len(self.attribute_names))
        self.label_scale = float(label_scale)
        self.conditioning = conditioning
        family = families.family(arch)
        stages = families.stages(image_size, arch)
        stack = family.generator_layers(stages, channels, sync_batchnorm, family.initializer())
        # A Sequential attribute, not a list: tf.train.Checkpoint does not see layers that a
        # Keras 3 subclassed model keeps in a Python list (their weights would not be saved).
        self.net = keras.Sequential(stack, name="layers")
        if not self.attribute_names:  # an unconditional G is as it always was
            return
        self.label_embedding = blocks.label_embedding(latent_dim, len(self.attribute_names))
        if conditioning == "cbn":
            self.modulated_widths = blocks.batch_norm_widths(stack)
            self.label_modulation = blocks.label_modulation(2 * sum(self.modulated_widths))

    @property
    def blocks(self) -> list:
        if not self.attribute_names:
            return self.net.layers
        modulation = [self.label_modulation] if self.conditioning == "cbn" else []
        return [self.label_embedding] + modulation + self.net.layers

    def call(self, inputs, training=False):
        if not self.attribute_names:
            return self.net(inputs, training=training)
        z, labels = blocks.split_inputs(inputs, self.attribute_names, "z")
        signs = blocks.signs(labels)
        embedded = self.label_scale * self.label_embedding(signs)
        x = ops.concatenate([ops.cast(z, embedded.dtype), embedded], axis=-1)
        if self.conditioning != "cbn":
            return self.net(x, training=training)
        if not self.net.built:  # its layers are called one by one
            self.net.build(x.shape)
        return blocks.run_modulated(self.net.layers, x, self.label_modulation(signs),
                                    self.modulated_widths, training)

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, latent_dim=self.latent_dim, arch=self.arch,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels)
        if self.attribute_names:  # an unconditional G's config stays as it was
            config.update(attribute_names=list(self.attribute_names),
                          attribute_frequencies=list(self.attribute_frequencies),
                          label_scale=self.label_scale)
            if self.conditioning != "concat":  # a concat G's config stays as it was
                config.update(conditioning=self.conditioning)
            if self.attribute_combinations:
                config.update(attribute_combinations=[
                    list(pair) for pair in self.attribute_combinations])
        return config


@keras.saving.register_keras_serializable(package="kerasgan")
class Discriminator(keras.Model):
    """Maps images [batch, size, size, 3] in [-1, 1] to one real/fake logit per image.

    Args:
        image_size: side of the input image: 16, 32, 64, 128 or 256.
        arch: "seed" (5x5 stride-2 convolutions 64, 128, 256, 512, ... down to 8x8, each followed
            by LeakyReLU and Dropout) or "dcgan" (4x4 stride-2 convolutions down to 4x4, batch
            norm after all but the first, LeakyReLU).
        dropout: dropout rate after each `seed` block.
        sync_batchnorm: batch-norm statistics over the global batch under tf.distribute.
        channels: width of the last feature map (halved per stage towards the image); 0 for
            the reference widths (64, 128, ... up to 512).
        norm: "spectral" wraps every convolution and the logit layer in spectral normalisation
            (Miyato et al. 2018), bounding D's Lipschitz constant; "none" leaves them plain.
            Batch norm stays: on the 32 px quick-start recipe, dropping it as the SN-GAN
            discriminator does gave swd_avg 46.8 against 24.1 with it (experiments/time_to_faces).
            With attributes it wraps the projection embedding as well.
        attribute_names: the attributes D judges images with (then it is called on (images,
            labels), labels float32 [batch, A] of 0/1, and adds the projection term to its
            logit); () for an unconditional D.
        **kwargs: passed to keras.Model.
    """

    def __init__(self, image_size: int = 128, arch: str = "seed", dropout: float = 0.3,
                 sync_batchnorm: bool = False, channels: int = 0, norm: str = "none",
                 attribute_names=(), **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.arch = arch
        self.dropout = dropout
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
        self.norm = norm
        self.attribute_names = blocks.attribute_names(attribute_names)
        family = families.family(arch)
        stages = families.stages(image_size, arch)
        init = family.initializer()
        wrap = blocks.spectral_wrap(norm)
        stack, features = family.discriminator_layers(stages, channels, sync_batchnorm, norm,
                                                      dropout, init)
        stack.append(layers.Flatten())
        logit = blocks.logit_head(init, wrap)
        if not self.attribute_names:  # the unconditional D, layer for layer as before
            self.net = keras.Sequential(stack + [logit], name="layers")
            return
        # Conditional: net ends at phi(x), the flattened features; psi and V act on them.
        self.net = keras.Sequential(stack, name="layers")
        self.logit = logit
        self.projection = blocks.projection_head(features, init, wrap)

    @property
    def blocks(self) -> list:
        if not self.attribute_names:
            return self.net.layers
        return self.net.layers + [self.logit, self.projection]

    def call(self, inputs, training=False):
        if not self.attribute_names:
            return self.net(inputs, training=training)
        images, labels = blocks.split_inputs(inputs, self.attribute_names, "images")
        features = ops.cast(self.net(images, training=training), "float32")
        embedded = ops.cast(self.projection(blocks.signs(labels), training=training), "float32")
        return (ops.cast(self.logit(features, training=training), "float32")
                + ops.sum(embedded * features, axis=-1, keepdims=True))

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, arch=self.arch, dropout=self.dropout,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels, norm=self.norm)
        if self.attribute_names:
            config.update(attribute_names=list(self.attribute_names))
        return config


def generator_kwargs(config, attribute_frequencies=(), attribute_combinations=()) -> dict:
    """The Generator arguments a TrainConfig implies (with the data's attribute frequencies and
    combinations for a conditional run): the one place they are read from a config."""
    kwargs = dict(image_size=config.image_size, latent_dim=config.latent_dim, arch=config.arch,
                  channels=config.channels)
    names = config.attribute_names
    if names:
        kwargs.update(attribute_names=names, attribute_frequencies=tuple(attribute_frequencies),
                      attribute_combinations=tuple(attribute_combinations),
                      label_scale=config.label_scale, conditioning=config.g_conditioning)
    return kwargs


def discriminator_kwargs(config) -> dict:
    """The Discriminator arguments a TrainConfig implies: the one place they are read."""
    kwargs = dict(image_size=config.image_size, arch=config.arch, channels=config.channels,
                  norm=config.d_norm)
    names = config.attribute_names
    if names:
        kwargs.update(attribute_names=names)
    return kwargs


def build_generator(config, sync_batchnorm: bool = False, name: str = "generator",
                    attribute_frequencies=(), attribute_combinations=()) -> Generator:
    """A built generator (weights created) for a TrainConfig."""
    generator = Generator(**generator_kwargs(config, attribute_frequencies,
                                             attribute_combinations),
                          sync_batchnorm=sync_batchnorm, name=name)
    generator(example_inputs(generator))
    return generator


def build_networks_for(config, sync_batchnorm: bool = False, attribute_frequencies=(),
                       attribute_combinations=()) -> tuple[Generator, Discriminator]:
    """A built generator/discriminator pair for a TrainConfig (weights created, ready for
    checkpoints and optimizers). Both are made before either is built, so their weights are
    drawn in the order every run so far has drawn them."""
    generator = Generator(**generator_kwargs(config, attribute_frequencies,
                                             attribute_combinations),
                          sync_batchnorm=sync_batchnorm, name="generator")
    discriminator = Discriminator(**discriminator_kwargs(config), sync_batchnorm=sync_batchnorm,
                                  name="discriminator")
    generator(example_inputs(generator))
    images = np.zeros((1, config.image_size, config.image_size, 3), "float32")
    discriminator(images if not discriminator.attribute_names
                  else (images, np.zeros((1, len(discriminator.attribute_names)), "float32")))
    return generator, discriminator


def build_networks(image_size: int, latent_dim: int, arch: str, sync_batchnorm: bool = False,
                   channels: int = 0, d_norm: str = "none", attribute_names=(),
                   attribute_frequencies=(), attribute_combinations=(),
                   label_scale: float = LABEL_SCALE, g_conditioning: str = "concat"
                   ) -> tuple[Generator, Discriminator]:
    """build_networks_for from plain values (notebooks, tests, benchmarks): each names the
    TrainConfig field it sets, so the networks' arguments are still read in one place."""
    config = TrainConfig(image_size=image_size, latent_dim=latent_dim, arch=arch,
                         channels=channels, d_norm=d_norm, label_scale=label_scale,
                         g_conditioning=g_conditioning,
                         conditional_attributes=",".join(blocks.attribute_names(attribute_names)))
    return build_networks_for(config, sync_batchnorm, attribute_frequencies,
                              attribute_combinations)


def example_inputs(generator: Generator, batch: int = 1):
    """Zero inputs of the structure a generator takes: z, or (z, labels) when it is conditional."""
    z = np.zeros((batch, generator.latent_dim), "float32")
    if not generator.attribute_names:
        return z
    return z, np.zeros((batch, len(generator.attribute_names)), "float32")
