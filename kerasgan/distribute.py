"""Execution choices of a run: the tf.distribute strategy, XLA, mixed precision, chief duties.

`auto` picks the fastest known path for the hardware found: XLA and mixed_float16 only where a
GPU (or TPU) is present, plain oneDNN kernels on CPU (measured faster there, docs/speed.md).
Nothing here needs a GPU; every function resolves on CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Optional

import tensorflow as tf

from kerasgan.errors import ConfigError

# Tensor cores (fast float16 matmul/conv) start at compute capability 7.0 (Volta).
_MIN_FLOAT16_CAPABILITY = (7, 0)


def _gpus() -> list:
    return tf.config.list_physical_devices("GPU")


def _has_tpu() -> bool:
    return bool(tf.config.list_logical_devices("TPU"))


def tf_config_workers(environ=os.environ) -> int:
    """Number of worker tasks (chief included) that TF_CONFIG describes; 0 without TF_CONFIG."""
    text = environ.get("TF_CONFIG", "")
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except (ValueError, AttributeError) as error:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {error}") from error
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def resolve_strategy_name(setting: str, num_gpus: Optional[int] = None,
                          num_workers: Optional[int] = None) -> str:
    """The strategy `setting` means here: auto -> multi_worker, mirrored or one_device."""
    if setting != "auto":
        return setting
    num_gpus = len(_gpus()) if num_gpus is None else num_gpus
    num_workers = tf_config_workers() if num_workers is None else num_workers
    if num_workers > 1:
        return "multi_worker"
    if num_gpus > 1:
        return "mirrored"
    return "one_device"


def make_strategy(setting: str) -> tf.distribute.Strategy:
    """The tf.distribute.Strategy for --strategy.

    one_device is TensorFlow's default strategy (no wrapping, no copies): the fastest path on one
    device. The strategy must be created before any other TensorFlow op runs in the process for
    multi_worker (TensorFlow's rule), so call this first.
    """
    name = resolve_strategy_name(setting)
    if name == "one_device":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ConfigError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                              "(cluster and task); see docs/speed.md")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            raise ConfigError(f"--strategy=tpu is not allowed here: no TPU found ({error}); use "
                              "auto, one_device, mirrored or multi_worker") from error
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"--strategy={setting} is not allowed")


def resolve_jit_compile(setting: str, num_gpus: Optional[int] = None) -> bool:
    """XLA for the train step: auto is on with a GPU or TPU and off on CPU (oneDNN wins there)."""
    if setting in ("true", "false"):
        return setting == "true"
    num_gpus = len(_gpus()) if num_gpus is None else num_gpus
    return num_gpus > 0 or _has_tpu()


def _gpu_capability(gpu) -> tuple[int, int]:
    details = tf.config.experimental.get_device_details(gpu)
    return tuple(details.get("compute_capability", (0, 0)))


def resolve_mixed_precision(setting: str, capabilities: Optional[list] = None) -> str:
    """The Keras dtype policy name: auto is mixed_float16 when every GPU has tensor cores
    (compute capability 7.0+), mixed_bfloat16 on TPU, float32 otherwise (on CPU bf16 is slower)."""
    if setting == "off":
        return "float32"
    if setting != "auto":
        return setting
    if capabilities is None:
        if _has_tpu():
            return "mixed_bfloat16"
        capabilities = [_gpu_capability(gpu) for gpu in _gpus()]
    if capabilities and all(c >= _MIN_FLOAT16_CAPABILITY for c in capabilities):
        return "mixed_float16"
    return "float32"


def _task_resolver(strategy: tf.distribute.Strategy):
    """The strategy's cluster resolver when this process is one task of a cluster, else None."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver if resolver is not None and getattr(resolver, "task_type", None) else None


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """How many worker tasks (chief included) train together under strategy: 1 unless it is a
    multi-worker strategy with a cluster."""
    resolver = _task_resolver(strategy)
    if resolver is None:
        return 1
    cluster = resolver.cluster_spec().as_dict()
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one worker that writes samples, plots, history and the exported generator."""
    resolver = _task_resolver(strategy)
    if resolver is None or resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_dir(directory: str, strategy: tf.distribute.Strategy) -> str:
    """Where this worker writes: the run directory on the chief, a private temporary directory
    elsewhere. Every worker must take part in each checkpoint save (TensorFlow's rule), but only
    the chief's checkpoint, samples, plots, history and exported generator are kept."""
    if is_chief(strategy):
        return directory
    resolver = strategy.cluster_resolver
    return tempfile.mkdtemp(prefix=f"kerasgan_{resolver.task_type}{resolver.task_id}_")


def remove_worker_dir(directory: str, strategy: tf.distribute.Strategy) -> None:
    """Deletes a non-chief worker's temporary directory (nothing on the chief)."""
    if not is_chief(strategy):
        shutil.rmtree(directory, ignore_errors=True)


def group_steps(dataset: tf.data.Dataset, steps_per_call: int, first_step: int) -> tf.data.Dataset:
    """Batches of [B, ...] regrouped into [B, k, ...] elements of up to k = steps_per_call steps.

    An element may be one tensor (images) or a nest of them, e.g. (images [B, S, S, 3], labels
    [B, A]); every tensor in it is regrouped alike, into (images [B, k, S, S, 3], labels
    [B, k, A]), so step j of a group pairs the images and labels of the same batch.
    The first group is cut short so that every later group ends on a global step that is a
    multiple of k (first_step is the step count before the first batch): log and checkpoint steps
    (multiples of k) then always fall at the end of a call. The batch axis stays first so that
    tf.distribute splits the batch, not the steps, across replicas.
    """
    if steps_per_call == 1:
        return dataset.map(_each_tensor(lambda batch: tf.expand_dims(batch, 1)))

    def regroup(ds: tf.data.Dataset, k: int) -> tf.data.Dataset:
        return ds.batch(k).map(
            _each_tensor(lambda steps: tf.experimental.numpy.swapaxes(steps, 0, 1)))

    head = (-first_step) % steps_per_call
    if head == 0:
        return regroup(dataset, steps_per_call)
    return regroup(dataset.take(head), head).concatenate(
        regroup(dataset.skip(head), steps_per_call))


def _each_tensor(fn):
    """A Dataset.map function applying fn to every tensor of an element (a tensor or a nest;
    map passes a tuple element as separate arguments, so they are packed back into one)."""
    def apply(*element):
        return tf.nest.map_structure(fn, element[0] if len(element) == 1 else element)
    return apply


def distribute_dataset(dataset: tf.data.Dataset, strategy: tf.distribute.Strategy):
    """The per-replica input: each global batch split across the replicas of all workers.

    Sharding is by data (AutoShardPolicy.DATA): every worker runs the same deterministic pipeline
    and keeps only its replicas' share of each global batch, so the global batch, its order and a
    resumed run's batches are exactly those of one device.
    """
    if strategy.num_replicas_in_sync == 1 and getattr(strategy, "cluster_resolver", None) is None:
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def first_replica(strategy: tf.distribute.Strategy, values):
    """The first local replica's share of a distributed value (a plain tensor stays as it is).

    A nest, such as a distributed (images, labels) group, gives the nest of the first
    replica's shares: every strategy's experimental_local_results maps over nests."""
    return strategy.experimental_local_results(values)[0]
