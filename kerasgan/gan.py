"""The training state (G, D, their optimizers, counters, the noise stream) and one training step.

With `d_steps=1` the step is the simultaneous update of the TensorFlow DCGAN tutorial: one
generator forward pass feeds both losses and both gradients, the cheapest correct GAN step. With
`d_steps>1` (the usual WGAN-GP setting) the critic is updated d_steps times on the batch, each
time on fresh noise, before one generator update.

Conditional runs (--conditional_attributes): a group is (images, labels) instead of images, labels
float32 [batch, k, A]; each step's fakes are drawn with that step's real labels, so D sees real and
generated images with the same label distribution, and every D call (losses, gradient penalty, R1)
gets the labels, while penalties and augmentation act on the images only.

Execution (docs/speed.md): the step runs under any tf.distribute strategy, optionally XLA-compiled
and in mixed precision, and `train_steps` runs several steps per compiled call.
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from kerasgan import augment, distribute, ema, inference, losses, networks
from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError
from kerasgan.labels import check_combinations, draw_labels
from kerasgan.noise import seeded_noise

METRIC_NAMES = ("d_loss", "g_loss", "d_real_loss", "d_fake_loss", "d_real_acc", "d_fake_acc",
                "g_acc", "d_real_prob", "d_fake_prob")
# With --augment: E[sign(D(augmented real))], ADA's overfitting signal, and the probability used.
AUGMENT_METRIC_NAMES = ("d_real_sign", "augment_p")


def grid_seeds(config: TrainConfig, num: Optional[int] = None) -> list[int]:
    """The noise seeds behind the per-epoch sample grid: a pure function of the run's seed."""
    return [config.seed * 1_000_003 + s for s in range(num or config.num_grid_samples)]


def fixed_noise(config: TrainConfig, num: Optional[int] = None) -> np.ndarray:
    """The noise behind the per-epoch sample grid: a pure function of the seed, the same all run."""
    return seeded_noise(grid_seeds(config, num), config.latent_dim)


def fixed_labels(config: TrainConfig, frequencies, num: Optional[int] = None,
                 combinations=()) -> Optional[np.ndarray]:
    """The labels behind the per-epoch grid of a conditional run: one row per grid seed, drawn
    from the attribute combinations (or frequencies) as `sample` draws them (labels.draw_labels),
    the same all run; None for an unconditional run."""
    if not config.attribute_names:
        return None
    return draw_labels(frequencies, grid_seeds(config, num), combinations)


class GAN:
    """G, D, both Adam optimizers, the step/epoch counters and the noise generator of one run,
    with the optional stabilisers: G's moving average, D's input augmentation and R1.

    D is called through `_run_d` only (which augments its input while training) and G through
    `_run_g`, so every loss and penalty sees the same D.

    Args:
        config: the run's TrainConfig; with conditional_attributes, G and D are conditional.
        strategy: a tf.distribute.Strategy; the default (no distribution) when None.
        attribute_frequencies: a conditional run's share of training images with each attribute
            (float [A], the data source's attribute_frequencies); G keeps them (generator.keras
            too) and G's average draws its batch-norm labels from them. 0.5 each when None.
        attribute_combinations: the data's attribute combinations with their shares (the source's
            attribute_combinations); kept by G beside the frequencies, and the labels G's average
            and the per-epoch grid are drawn with come in them. () when not known.
    """

    def __init__(self, config: TrainConfig, strategy: Optional[tf.distribute.Strategy] = None,
                 attribute_frequencies=None, attribute_combinations=()):
        self.config = config
        self.attribute_names = config.attribute_names
        if attribute_frequencies is None:
            attribute_frequencies = (0.5,) * len(self.attribute_names)
        self.attribute_frequencies = tuple(float(f) for f in attribute_frequencies)
        if len(self.attribute_frequencies) != len(self.attribute_names):
            raise ValueError(f"{len(self.attribute_frequencies)} attribute frequencies for the "
                             f"{len(self.attribute_names)} attributes of --conditional_attributes="
                             f"{config.conditional_attributes}")
        self.attribute_combinations = check_combinations(attribute_combinations,
                                                         len(self.attribute_names))
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ConfigError(f"--batch_size={config.batch_size} is not allowed: it must be a "
                              f"multiple of the {replicas} replicas of "
                              f"--strategy={config.strategy}")
        self.jit_compile = distribute.resolve_jit_compile(config.jit_compile)
        self.precision = distribute.resolve_mixed_precision(config.mixed_precision)
        keras.utils.set_random_seed(config.seed)
        self.augment_names = config.augment_ops
        fixed_p = config.fixed_augment_p
        self.adaptive_augment = bool(self.augment_names) and fixed_p is None
        self.metric_names = METRIC_NAMES + (AUGMENT_METRIC_NAMES if self.augment_names else ())
        with self.strategy.scope():
            self.generator, self.discriminator = _build_networks(
                config, self.precision, self.attribute_frequencies, self.attribute_combinations)
            self.averaged = None
            if config.g_ema:
                average = _build_networks(config, self.precision, self.attribute_frequencies,
                                          self.attribute_combinations, generator_only=True)
                self.averaged = ema.AveragedGenerator(average, self.generator, config.g_ema_kimg,
                                                      config.g_ema_rampup)
            self.g_optimizer = keras.optimizers.Adam(config.g_lr, beta_1=config.beta1,
                                                     beta_2=config.beta2, name="g_adam")
            self.d_optimizer = keras.optimizers.Adam(config.d_lr, beta_1=config.beta1,
                                                     beta_2=config.beta2, name="d_adam")
            # Slots must exist before a restore so that every checkpointed value has a home.
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
            # float16 gradients underflow without loss scaling. The scalers wrap the Adams that
            # the checkpoint holds, so a run resumes under any precision (the scale re-adapts).
            self._g_apply, self._d_apply = self.g_optimizer, self.d_optimizer
            if self.precision == "mixed_float16":
                scale = keras.optimizers.LossScaleOptimizer
                self._g_apply = scale(self.g_optimizer, name="g_scale")
                self._d_apply = scale(self.d_optimizer, name="d_scale")
                self._g_apply.build(self.generator.trainable_variables)
                self._d_apply.build(self.discriminator.trainable_variables)
            self.noise = tf.random.Generator.from_seed(config.seed)
        # Outside the scope: plain variables, updated in cross-replica context only, so that
        # int(gan.step) works under every strategy (a MirroredVariable has no __int__).
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.augment_p = tf.Variable(0.0 if fixed_p is None else fixed_p, dtype=tf.float32,
                                     trainable=False, name="augment_p")
        self._averaged_at_step = -1
        self.g_loss_fn, self.d_loss_fn = losses.get(config.loss)
        # As Keras does: XLA compiles the per-replica step, the strategy calls it on each replica.
        self._replica_fn = (tf.function(self._replica_step_at, jit_compile=True)
                            if self.jit_compile else self._replica_step_at)
        self._steps_fn = tf.function(self._distributed_steps)
        self._d_fn = tf.function(lambda x: self.discriminator(x, training=False),
                                 reduce_retracing=True)

    @property
    def conditional(self) -> bool:
        return bool(self.attribute_names)

    @property
    def inference_generator(self) -> keras.Model:
        """The generator that draws the run's images: G's moving average when --g_ema is on (its
        batch-norm statistics recomputed for the current step), else G itself."""
        if self.averaged is None:
            return self.generator
        if self._averaged_at_step != int(self.step):
            self.averaged.refresh_batch_statistics()
            self._averaged_at_step = int(self.step)
        return self.averaged.model

    def checkpoint_items(self) -> dict:
        """Everything a checkpoint holds, by name: the whole training state."""
        items = dict(generator=self.generator, discriminator=self.discriminator,
                     g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                     step=self.step, epoch=self.epoch, batch_in_epoch=self.batch_in_epoch,
                     noise=self.noise, seed_generators={
                         f"state_{i}": v for i, v in enumerate(self.seed_generator_states())})
        if self.averaged is not None:
            items["g_ema"] = self.averaged.model
        if self.augment_names:
            items["augment_p"] = self.augment_p
        if self.loss_scale_variables():
            items["loss_scale"] = self.loss_scale_variables()
        return items

    def initialise_missing(self, names) -> list[str]:
        """Starts the state a checkpoint lacked (it predates the option): G's average from G, the
        augmentation probability from its configured start. Returns a line per item."""
        lines = []
        if "g_ema" in names and self.averaged is not None:
            ema.copy_weights(self.averaged.model, self.generator)
            self._averaged_at_step = -1
            lines.append("G's moving average (--g_ema) starts from the restored G")
        if "loss_scale" in names:
            lines.append("the mixed_float16 loss scale starts afresh")
        if "augment_p" in names:
            lines.append(f"the augmentation probability (--augment_p) starts at "
                         f"{float(self.augment_p):g}")
        return lines

    def loss_scale_variables(self) -> dict[str, tf.Variable]:
        """The loss scalers' own state under mixed_float16 (the scale, the steps since it last
        grew, their step count), by name; {} in float32. The checkpoint holds it, so a resumed
        run scales its losses exactly as an uninterrupted one would."""
        found = {}
        for prefix, scaler, inner in (("g", self._g_apply, self.g_optimizer),
                                      ("d", self._d_apply, self.d_optimizer)):
            if scaler is not inner:
                wrapped = {id(v) for v in inner.variables}
                found.update({f"{prefix}_{v.name}": v.value for v in scaler.variables
                              if id(v) not in wrapped})
        return found

    def seed_generator_states(self) -> list[tf.Variable]:
        """Keras SeedGenerator states (Dropout's) that tf.train.Checkpoint does not track by
        itself."""
        return [v.value for model in (self.generator, self.discriminator) for v in model.variables
                if v.path.endswith("seed_generator_state")]

    def train_step(self, real_images, labels=None) -> dict[str, tf.Tensor]:
        """One D update (d_steps of them) and one G update on a batch (with its labels [batch, A]
        in a conditional run); scalar metrics, replica-averaged."""
        group = tf.expand_dims(real_images, 1)
        if labels is not None:
            group = (group, tf.expand_dims(labels, 1))
        metrics = self.train_steps(group)
        del metrics["stop_votes"]
        return metrics

    def train_steps(self, group, stop: bool = False) -> dict[str, tf.Tensor]:
        """Train steps on a group [batch, k, H, W, 3] (distribute.group_steps), one compiled call;
        in a conditional run the group is (images [batch, k, H, W, 3], labels [batch, k, A]).

        Step i trains on group[:, i]. The metrics are the means over the k steps, so a NaN or Inf
        loss in any of them shows in the result; every step skips its own non-finite update.
        `stop` is this worker's stop request (a signal it received); the result's "stop_votes"
        sums it over the replicas of every worker in the same all-reduced call, so all workers of
        a multi-worker run learn of one worker's signal at the same step and stop together.
        """
        labelled = isinstance(group, (tuple, list))
        if labelled != self.conditional:
            raise ValueError(
                f"this GAN is conditional on {', '.join(self.attribute_names)}: train it on "
                "(images, labels) groups" if self.conditional else
                "this GAN is not conditional: train it on image groups, without labels")
        return self._steps_fn(tuple(group) if labelled else group, tf.constant(bool(stop)))

    def last_batch(self, group):
        """The last real batch of a group, first local replica's share: for D-output plots;
        (images, labels) for a conditional group."""
        return tf.nest.map_structure(lambda x: x[:, -1], self._first_replica(group))

    def _first_replica(self, group):
        return tf.nest.map_structure(lambda x: distribute.first_replica(self.strategy, x), group)

    def _distributed_steps(self, group, stop):
        votes = self.strategy.reduce(
            tf.distribute.ReduceOp.SUM,
            self.strategy.run(lambda s: tf.cast(s, tf.float32), args=(stop,)), axis=None)
        return {**self._distributed_k_steps(group), "stop_votes": votes}

    def _distributed_k_steps(self, group):
        images = tf.nest.flatten(self._first_replica(group))[0]
        if images.shape[1] == 1:
            # k statically 1 (the default): a straight-line graph, no while loop.
            return self._distributed_step(group, 0)
        num_steps = tf.shape(images)[1]
        totals = {name: tf.zeros([]) for name in self.metric_names}
        for i in tf.range(num_steps):
            metrics = self._distributed_step(group, i)
            totals = {name: totals[name] + metrics[name] for name in self.metric_names}
        return {name: value / tf.cast(num_steps, tf.float32) for name, value in totals.items()}

    def _distributed_step(self, group, i):
        per_replica = self.strategy.run(self._replica_fn, args=(group, i))
        metrics = {name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica[name],
                                              axis=None) for name in self.metric_names
                   if name != "augment_p"}
        self.step.assign_add(1)
        self.batch_in_epoch.assign_add(1)
        batch = self.config.batch_size
        if self.averaged is not None:
            self.averaged.update(batch, self.step * batch)
        if self.augment_names:
            metrics["augment_p"] = tf.identity(self.augment_p)
        if self.adaptive_augment:
            self.augment_p.assign(augment.adjust_p(
                self.augment_p, metrics["d_real_sign"], self.config.augment_target, batch,
                self.config.augment_kimg))
        return metrics

    def _replica_step_at(self, group, i):
        # A gather, not x[:, i]: XLA takes a slice's bounds as compile-time constants, so the
        # loop's i compiled the step once per value, steps_per_call times.
        step = tf.nest.map_structure(lambda x: tf.gather(x, i, axis=1), group)
        return self._replica_step(*step) if isinstance(step, tuple) else self._replica_step(step)

    def _replica_step(self, real, labels=None):
        if self.config.d_steps == 1:
            return self._joint_update(real, labels)
        for _ in range(self.config.d_steps):
            d_metrics = self._discriminator_update(real, labels)
        return {**d_metrics, **self._generator_update(tf.shape(real)[0], labels)}

    def _noise(self, batch):
        return self.noise.normal([batch, self.config.latent_dim])

    def _run_g(self, z, labels=None):
        """G in training mode; a conditional G draws the faces the labels ask for."""
        return self.generator(z if labels is None else (z, labels), training=True)

    def _run_d(self, images, labels=None):
        """D in training mode on images as D's updates see them: augmented when --augment is on
        (the images only: an augmented face keeps its labels)."""
        if self.augment_names:
            images = augment.augment(images, self.augment_names, self.augment_p, self.noise)
        return self.discriminator(images if labels is None else (images, labels), training=True)

    def _critic(self, labels):
        """D as a function of the images alone, labels held fixed: what the penalties
        differentiate."""
        return self._run_d if labels is None else (lambda images: self._run_d(images, labels))

    def _scaled(self, loss, optimizer):
        """The loss each replica differentiates: its batch mean divided by the replica count, so
        the gradients all-reduced (summed) over replicas are those of the global-batch mean (what
        tf.nn.compute_average_loss gives for the equal per-replica batches used here); times the
        loss scale under mixed_float16."""
        loss = tf.cast(loss, tf.float32) / tf.cast(self.strategy.num_replicas_in_sync, tf.float32)
        return optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss

    def _d_loss(self, real, fake, real_logits, fake_logits, labels=None):
        d_real, d_fake = self.d_loss_fn(real_logits, fake_logits)
        d_loss = d_real + d_fake
        if self.config.loss == "wgan-gp":
            alpha = self.noise.uniform([tf.shape(real)[0], 1, 1, 1])
            d_loss += self.config.gp_weight * losses.gradient_penalty(self._critic(labels), real,
                                                                      fake, alpha)
        if self.config.r1_gamma > 0:
            d_loss += self._lazy_r1(real, labels)
        return d_loss, d_real, d_fake

    def _lazy_r1(self, real, labels=None):
        """R1 every r1_interval steps with its weight times the interval (StyleGAN2's lazy
        regularisation: the same average penalty at a fraction of the cost), else 0."""
        interval = self.config.r1_interval
        weight = 0.5 * self.config.r1_gamma * interval

        def penalty():
            return weight * losses.r1_penalty(self._critic(labels), real)

        if interval == 1:
            return penalty()
        return tf.cond(self.step % interval == 0, penalty, lambda: tf.zeros([]))

    def _joint_update(self, real, labels=None):
        z = self._noise(tf.shape(real)[0])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self._run_g(z, labels)
            real_logits = self._run_d(real, labels)
            fake_logits = self._run_d(fake, labels)
            d_loss, d_real, d_fake = self._d_loss(real, fake, real_logits, fake_logits, labels)
            g_loss = self.g_loss_fn(fake_logits)
            d_scaled = self._scaled(d_loss, self._d_apply)
            g_scaled = self._scaled(g_loss, self._g_apply)
        d_grads = d_tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_grads = g_tape.gradient(g_scaled, self.generator.trainable_variables)
        _apply_if_finite([d_loss, g_loss], [(d_grads, self.discriminator, self._d_apply),
                                            (g_grads, self.generator, self._g_apply)])
        return {**_d_metrics(d_loss, d_real, d_fake, real_logits, fake_logits),
                **_g_metrics(g_loss, fake_logits)}

    def _discriminator_update(self, real, labels=None):
        fake = self._run_g(self._noise(tf.shape(real)[0]), labels)
        with tf.GradientTape() as tape:
            real_logits = self._run_d(real, labels)
            fake_logits = self._run_d(fake, labels)
            d_loss, d_real, d_fake = self._d_loss(real, fake, real_logits, fake_logits, labels)
            scaled = self._scaled(d_loss, self._d_apply)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        _apply_if_finite([d_loss], [(grads, self.discriminator, self._d_apply)])
        return _d_metrics(d_loss, d_real, d_fake, real_logits, fake_logits)

    def _generator_update(self, batch, labels=None):
        with tf.GradientTape() as tape:
            fake_logits = self._run_d(self._run_g(self._noise(batch), labels), labels)
            g_loss = self.g_loss_fn(fake_logits)
            scaled = self._scaled(g_loss, self._g_apply)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        _apply_if_finite([g_loss], [(grads, self.generator, self._g_apply)])
        return _g_metrics(g_loss, fake_logits)

    def generate(self, z, labels=None, batch_size: int = 256) -> np.ndarray:
        """Images in [-1, 1] for noise z (and, in a conditional run, labels [N, A]) from the
        inference generator (G's average when --g_ema is on), in inference mode
        (inference.generate)."""
        return inference.generate(self.inference_generator, z, batch_size, labels=labels)

    def d_probabilities(self, images, labels=None) -> np.ndarray:
        """D's probability that each image is real (inference mode), judged with the labels
        [N, A] in a conditional run."""
        labels = inference.check_labels(self.attribute_names, labels, len(images))
        inputs = images if labels is None else (images, labels)
        return tf.sigmoid(tf.cast(self._d_fn(inputs), tf.float32)).numpy().ravel()

    def d_sign(self, images: np.ndarray, batch_size: int = 128) -> float:
        """mean(sign(D(x))) over unconditional images (float in [-1, 1]), D in inference mode
        and unaugmented: ADA's overfitting signal, on a fixed set of training or held-out
        images."""
        signs = []
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            signs.append(np.sign(tf.cast(self._d_fn(batch), tf.float32).numpy()).ravel())
        return float(np.concatenate(signs).mean())


def _build_networks(config: TrainConfig, precision: str, attribute_frequencies=(),
                    attribute_combinations=(), generator_only: bool = False):
    """G and D (or G alone) under the dtype policy `precision`; the global policy is left as it
    was. Their last layers (G's tanh, D's logit) are float32 in the network definitions, so losses
    stay float32."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        if generator_only:
            return networks.build_generator(config, name="generator_ema",
                                            attribute_frequencies=attribute_frequencies,
                                            attribute_combinations=attribute_combinations)
        return networks.build_networks_for(config, config.sync_batchnorm, attribute_frequencies,
                                           attribute_combinations)
    finally:
        keras.config.set_dtype_policy(previous)


def _apply_if_finite(loss_values, updates):
    """Applies each (grads, model, optimizer) update only when every loss is finite.

    A NaN/Inf step then leaves weights and optimizer slots untouched: the trainer can stop with
    the model as it was, or skip the batch (--nan_policy), and nothing poisoned is ever saved.
    Under distribution the replicas first agree (all-reduce) so that all skip or all apply; where
    the strategy synchronises through merge_call (MirroredStrategy), the branch runs in
    cross-replica context, as Keras' LossScaleOptimizer does, since a replica-context tf.cond
    around apply_gradients is not supported there.
    """
    finite = tf.reduce_all([tf.math.is_finite(loss) for loss in loss_values])
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        bad = context.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
        finite = bad == 0.0

    def apply():
        for grads, model, optimizer in updates:
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return tf.constant(True)

    if context is None or tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(finite, apply, lambda: tf.constant(False))
        return

    def cross_replica(distribution, finite):
        agreed = distribution.experimental_local_results(finite)[0]
        def apply_all():
            distribution.extended.call_for_each_replica(apply)
            return tf.constant(True)

        tf.cond(agreed, apply_all, lambda: tf.constant(False))

    context.merge_call(cross_replica, args=(finite,))


def _mean(x):
    return tf.reduce_mean(tf.cast(x, tf.float32))


def _d_metrics(d_loss, d_real, d_fake, real_logits, fake_logits):
    return {"d_loss": d_loss, "d_real_loss": d_real, "d_fake_loss": d_fake,
            "d_real_acc": _mean(real_logits > 0), "d_fake_acc": _mean(fake_logits < 0),
            "d_real_prob": _mean(tf.sigmoid(real_logits)),
            "d_fake_prob": _mean(tf.sigmoid(fake_logits)),
            "d_real_sign": _mean(tf.sign(tf.cast(real_logits, tf.float32)))}


def _g_metrics(g_loss, fake_logits):
    return {"g_loss": g_loss, "g_acc": _mean(fake_logits > 0)}
