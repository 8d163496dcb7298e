"""Run as a script (tests/test_distribute.py does): (images, labels) batches grouped k steps per
call and split over a mirrored strategy of 2 logical CPUs; prints, as one JSON line, what
`distribute.first_replica` gives for each group. Logical devices must be configured before
TensorFlow initialises them, which is why this is its own process.
"""

import json

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from kerasgan import distribute  # noqa: E402

STEPS, BATCH = 5, 4


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    ids = (np.arange(STEPS)[:, None] * 10 + np.arange(BATCH)[None]).astype("float32")  # step, row
    images = np.broadcast_to(ids[..., None, None, None], (STEPS, BATCH, 2, 2, 3)).copy()
    labels = np.broadcast_to(ids[..., None], (STEPS, BATCH, 3)).copy()
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    grouped = distribute.distribute_dataset(distribute.group_steps(dataset, 2, 1), strategy)
    groups = []
    for group in grouped:
        first_images, first_labels = distribute.first_replica(strategy, group)
        groups.append({"images_shape": first_images.shape.as_list(),
                       "labels_shape": first_labels.shape.as_list(),
                       "image_ids": first_images[:, :, 0, 0, 0].numpy().tolist(),
                       "label_ids": first_labels[:, :, 0].numpy().tolist()})
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "groups": groups}))


if __name__ == "__main__":
    main()
