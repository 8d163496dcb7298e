"""Run as a script (tests/test_distribute.py does): 2 logical CPUs, mirrored GAN vs one device.
`_mirrored_check.py ARCH conditional` trains a GAN conditional on two attributes, on
(images, labels) groups.

Prints one JSON line. Logical devices must be configured before TensorFlow initialises them,
which is why this is its own process.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from kerasgan import config as config_lib, distribute, gan as gan_lib  # noqa: E402

BATCH, LATENT = 8, 8


class FixedNoiseGAN(gan_lib.GAN):
    """Each replica draws its rows of one global noise batch: the same z as on one device."""

    z = tf.constant(np.random.default_rng(1).standard_normal((BATCH, LATENT)), tf.float32)

    def _noise(self, batch):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.slice(self.z, [replica * batch, 0], [batch, LATENT])


def train(strategy, arch, batches, labels=None):
    config = config_lib.make_config(image_size=16, latent_dim=LATENT, batch_size=BATCH, arch=arch,
                                    sync_batchnorm=True, dataset="synthetic",
                                    conditional_attributes="" if labels is None else "Smiling,Male")
    gan = FixedNoiseGAN(config, strategy)
    # Adam's first steps are about lr * sign(g): float-rounding noise in near-zero gradients
    # would flip whole updates. A large epsilon makes updates proportional to the gradients.
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        optimizer.epsilon = 1.0
    start = [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]
    if labels is None:
        groups = distribute.group_steps(tf.data.Dataset.from_tensor_slices(batches), 1, 0)
    else:  # one-step groups (images [B, 1, ...], labels [B, 1, A]), made here
        groups = tf.data.Dataset.from_tensor_slices((batches[:, :, None], labels[:, :, None]))
    dataset = distribute.distribute_dataset(groups, strategy)
    # Step 2 asks to stop: both replicas' votes must come back.
    metrics = [{k: float(v) for k, v in gan.train_steps(group, stop=i == 1).items()}
               for i, group in enumerate(dataset)]
    moves = [v.numpy() - w
             for v, w in zip(gan.generator.weights + gan.discriminator.weights, start)]
    return metrics, moves


def main():
    arch = sys.argv[1]
    rng = np.random.default_rng(0)
    batches = rng.uniform(-1, 1, (3, BATCH, 16, 16, 3)).astype("float32")
    batches[2, BATCH - 1, 0, 0, 0] = np.nan  # only the second replica's half of step 3 is bad
    labels = None
    if sys.argv[2:] == ["conditional"]:
        labels = (rng.random((3, BATCH, 2)) < 0.5).astype("float32")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = tf.distribute.get_strategy()
    m_metrics, m_weights = train(mirrored, arch, batches, labels)
    o_metrics, o_weights = train(one, arch, batches, labels)
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "max_update_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(m_weights, o_weights)),
        "max_update": max(float(np.max(np.abs(b))) for b in o_weights),
        "d_loss_mirrored": [m["d_loss"] for m in m_metrics],
        "d_loss_one": [m["d_loss"] for m in o_metrics],
        "stop_votes_mirrored": [m["stop_votes"] for m in m_metrics],
        "stop_votes_one": [m["stop_votes"] for m in o_metrics],
    }))


if __name__ == "__main__":
    main()
