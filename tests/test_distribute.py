"""Execution choices: auto resolution on CPU, k steps per call, mirrored == one device,
2 workers."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import distribute, gan as gan_lib
from kerasgan.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("field,value", [("strategy", "horovod"), ("jit_compile", "yes"),
                                         ("mixed_precision", "float16")])
def test_bad_execution_flags_name_the_flag(tiny_config, field, value):
    with pytest.raises(ConfigError, match=f"--{field}={value}"):
        tiny_config.replace(**{field: value})


def test_steps_per_call_must_divide_log_every(tiny_config):
    with pytest.raises(ConfigError, match="--steps_per_call=3"):
        tiny_config.replace(steps_per_call=3, log_every=4, checkpoint_every_steps=6)


def test_auto_resolves_to_the_cpu_path_here():
    assert distribute.resolve_jit_compile("auto") is False
    assert distribute.resolve_mixed_precision("auto") == "float32"
    assert distribute.resolve_strategy_name("auto") == "one_device"


def test_auto_picks_xla_and_float16_with_gpus():
    assert distribute.resolve_jit_compile("auto", num_gpus=1) is True
    assert distribute.resolve_jit_compile("false", num_gpus=1) is False
    assert (distribute.resolve_mixed_precision("auto", capabilities=[(8, 0), (7, 0)])
            == "mixed_float16")
    assert distribute.resolve_mixed_precision("auto", capabilities=[(6, 1)]) == "float32"
    assert distribute.resolve_mixed_precision("off", capabilities=[(9, 0)]) == "float32"


def test_auto_strategy_follows_gpus_and_tf_config():
    assert distribute.resolve_strategy_name("auto", num_gpus=4, num_workers=0) == "mirrored"
    assert distribute.resolve_strategy_name("auto", num_gpus=4, num_workers=2) == "multi_worker"
    assert distribute.resolve_strategy_name("tpu", num_gpus=0, num_workers=0) == "tpu"
    tf_config = json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}})
    assert distribute.tf_config_workers({"TF_CONFIG": tf_config}) == 3


def test_tpu_without_a_tpu_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"--strategy=tpu is not allowed here: no TPU found"):
        distribute.make_strategy("tpu")


def test_one_device_is_the_default_strategy_and_chief():
    strategy = distribute.make_strategy("one_device")
    assert strategy is tf.distribute.get_strategy() and distribute.is_chief(strategy)


def test_groups_end_on_multiples_of_steps_per_call():
    batches = tf.data.Dataset.from_tensor_slices(np.zeros((7, 2, 1), "float32"))
    sizes = [int(g.shape[1]) for g in distribute.group_steps(batches, 2, first_step=3)]
    assert sizes == [1, 2, 2, 2]


def _numbered(count, batch=2, num_labels=4):
    """(images [count, batch, 3, 3, 1], labels [count, batch, A]): every value is 10 * its batch
    number + its row, so a regrouped element shows where each of its parts came from."""
    ids = (np.arange(count)[:, None] * 10 + np.arange(batch)[None]).astype("float32")
    return (np.broadcast_to(ids[..., None, None, None], (count, batch, 3, 3, 1)).copy(),
            np.broadcast_to(ids[..., None], (count, batch, num_labels)).copy())


@pytest.mark.parametrize("steps_per_call, first_step, sizes", [
    (1, 0, [1] * 7), (1, 5, [1] * 7), (3, 2, [1, 3, 3]), (3, 4, [2, 3, 2]), (3, 3, [3, 3, 1])])
def test_group_steps_regroups_images_and_labels_alike(steps_per_call, first_step, sizes):
    images, labels = _numbered(7)
    groups = list(distribute.group_steps(tf.data.Dataset.from_tensor_slices((images, labels)),
                                         steps_per_call, first_step))
    assert [int(g[1].shape[1]) for g in groups] == sizes
    plain = list(distribute.group_steps(tf.data.Dataset.from_tensor_slices(images),
                                        steps_per_call, first_step))
    start = 0
    for (group_images, group_labels), alone in zip(groups, plain, strict=True):
        k = sizes.pop(0)
        assert group_images.shape == (2, k, 3, 3, 1) and group_labels.shape == (2, k, 4)
        assert group_images.dtype == tf.float32 and group_labels.dtype == tf.float32
        np.testing.assert_array_equal(group_images, np.swapaxes(images[start:start + k], 0, 1))
        np.testing.assert_array_equal(group_labels, np.swapaxes(labels[start:start + k], 0, 1))
        np.testing.assert_array_equal(alone, group_images)  # a lone tensor: as before
        start += k
    assert start == 7


def test_first_replica_of_a_nest_on_one_device_is_the_nest():
    images, labels = _numbered(1)
    first = distribute.first_replica(tf.distribute.get_strategy(), (images, labels))
    assert first[0] is images and first[1] is labels


def test_mirrored_groups_of_images_and_labels_split_by_rows():
    script = os.path.join(ROOT, "tests", "_nested_replica_check.py")
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, env=_env(),
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    # 5 batches of 4 rows, 2 steps per call from step 1: groups of 1, 2, 2 steps; the first
    # replica holds rows 0 and 1 of each batch, its images and labels from the same batches.
    expected = [[[0.0], [1.0]], [[10.0, 20.0], [11.0, 21.0]], [[30.0, 40.0], [31.0, 41.0]]]
    assert [g["image_ids"] for g in result["groups"]] == expected
    assert [g["label_ids"] for g in result["groups"]] == expected
    assert [g["images_shape"] for g in result["groups"]] == [[2, 1, 2, 2, 3], [2, 2, 2, 2, 3],
                                                            [2, 2, 2, 2, 3]]
    assert [g["labels_shape"] for g in result["groups"]] == [[2, 1, 3], [2, 2, 3], [2, 2, 3]]


def test_k_steps_in_one_call_equal_k_single_calls(tiny_config):
    images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 16, 16, 3)).astype("float32")
    single, grouped = gan_lib.GAN(tiny_config), gan_lib.GAN(tiny_config)
    d_losses = [float(single.train_step(batch)["d_loss"]) for batch in images]
    metrics = grouped.train_steps(np.swapaxes(images, 0, 1))
    assert int(grouped.step) == 3
    np.testing.assert_allclose(float(metrics["d_loss"]), np.mean(d_losses), rtol=1e-5)
    for a, b in zip(single.generator.weights, grouped.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_xla_compiled_step_trains_with_the_same_networks(tiny_config):
    """The step --jit_compile=auto picks on GPUs compiles with XLA here too. Its networks
    (batch norm's fused kernel included) compute what the oneDNN ones do; its noise stream does
    not: XLA's kernel draws other normals from the same generator state (docs/speed.md)."""
    config = tiny_config.replace(arch="dcgan")
    plain, xla = gan_lib.GAN(config.replace(jit_compile="false")), gan_lib.GAN(
        config.replace(jit_compile="true"))
    assert xla.jit_compile and not plain.jit_compile
    z = np.random.default_rng(1).standard_normal((8, config.latent_dim)).astype("float32")
    for model in ("generator", "discriminator"):
        def loss_and_grads(gan, jit):
            def fn(z):
                with tf.GradientTape() as tape:
                    images = gan.generator(z, training=True)
                    loss = tf.reduce_mean(gan.discriminator(images, training=True) ** 2)
                return loss, tape.gradient(loss, getattr(gan, model).trainable_variables)
            return tf.function(fn, jit_compile=jit)(z)
        want, got = loss_and_grads(plain, False), loss_and_grads(xla, True)
        np.testing.assert_allclose(float(got[0]), float(want[0]), rtol=1e-4)
        for a, b in zip(want[1], got[1]):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-3, atol=1e-6)
    before = [w.numpy().copy() for w in xla.generator.trainable_weights]
    images = np.random.default_rng(2).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    metrics = xla.train_step(images)
    assert int(xla.step) == 1 and all(np.isfinite(float(v)) for v in metrics.values())
    assert all(not np.array_equal(b, w.numpy())
               for b, w in zip(before, xla.generator.trainable_weights))


def test_mixed_bfloat16_keeps_weights_logits_and_losses_float32(tiny_config):
    gan = gan_lib.GAN(tiny_config.replace(mixed_precision="mixed_bfloat16", arch="dcgan"))
    images = np.zeros((8, 16, 16, 3), "float32")
    metrics = gan.train_step(images)
    assert all(v.dtype == tf.float32 for v in metrics.values())
    assert np.isfinite(float(metrics["d_loss"]))
    assert gan.generator.net.layers[0].compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in gan.generator.weights)
    assert gan.discriminator(images).dtype == tf.float32


def test_mixed_float16_scales_losses_and_skips_overflowing_updates(tiny_config):
    """The GPU default (mixed_float16) runs on CPU too: float16 layers, float32 weights and
    losses, loss-scale optimizers around the Adams; an update whose float16 gradients overflow
    is skipped by the loss scaler, which halves its scale."""
    gan = gan_lib.GAN(tiny_config.replace(mixed_precision="mixed_float16", arch="dcgan"))
    assert gan.generator.net.layers[0].compute_dtype == "float16"
    assert all(v.dtype == "float32" for v in gan.generator.weights + gan.discriminator.weights)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    metrics = gan.train_step(images)
    assert all(v.dtype == tf.float32 and np.isfinite(float(v)) for v in metrics.values())
    scale = float(gan._g_apply.dynamic_scale)
    assert scale == 2.0 ** 15
    gan._g_apply.dynamic_scale.assign(3e38)  # any float16 gradient overflows under this scale
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    metrics = gan.train_step(images)
    assert np.isfinite(float(metrics["g_loss"]))
    assert all(np.array_equal(b, w.numpy())
               for b, w in zip(before, gan.generator.trainable_weights))
    assert float(gan._g_apply.dynamic_scale) == pytest.approx(1.5e38, rel=1e-6)


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES="")


@pytest.mark.parametrize("mode", ["unconditional", "conditional"])
def test_mirrored_over_two_cpus_equals_one_device_and_agrees_to_skip_nan(mode):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "_mirrored_check.py"),
                           "dcgan", mode], capture_output=True, text=True, env=_env(), timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["max_update_diff"] < 1e-4 * result["max_update"] + 1e-6
    np.testing.assert_allclose(result["d_loss_mirrored"][:2], result["d_loss_one"][:2], rtol=1e-4)
    assert np.isnan(result["d_loss_mirrored"][2])
    assert result["stop_votes_mirrored"] == [0.0, 2.0, 0.0]
    assert result["stop_votes_one"] == [0.0, 1.0, 0.0]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _launch_workers(tmp_path, *extra):
    """Two `kerasgan.train` worker processes on 127.0.0.1 (worker 0 is the chief), their
    output in tmp_path/out<i>.txt."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    flags = ["--dataset=synthetic", "--image_size=16", "--latent_dim=8", "--batch_size=8",
             "--num_grid_samples=4", "--arch=dcgan", "--strategy=multi_worker",
             f"--workdir={tmp_path / 'run'}", *extra]
    procs = []
    for index in range(2):
        temp = tmp_path / f"tmp{index}"
        temp.mkdir()
        env = dict(_env(), TMPDIR=str(temp), PYTHONUNBUFFERED="1",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                        "index": index}}))
        with open(tmp_path / f"out{index}.txt", "w") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "kerasgan.train", *flags],
                                          cwd=ROOT, env=env, stdout=out,
                                          stderr=subprocess.STDOUT, text=True))
    return procs


def _wait(procs, tmp_path, timeout=240):
    try:
        for p in procs:
            p.wait(timeout=timeout)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [(tmp_path / f"out{i}.txt").read_text() for i in range(len(procs))]


def test_two_workers_train_together_and_only_the_chief_writes(tmp_path):
    procs = _launch_workers(tmp_path, "--epochs=1", "--steps_per_epoch=2", "--num_synthetic=32")
    outputs = _wait(procs, tmp_path)
    workdir = tmp_path / "run"
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert (workdir / "checkpoints" / "checkpoint").is_file()
    assert (workdir / "generator.keras").is_file()
    assert (workdir / "samples" / "epoch_0001.png").is_file()
    assert not [p for p in (tmp_path / "tmp1").iterdir() if p.name.startswith("kerasgan_")]


def test_sigterm_to_one_worker_stops_both_after_the_same_step(tmp_path):
    """A scheduler's SIGTERM that reaches only the non-chief worker: both stop after the same
    step, the chief's checkpoint holds that step, nobody hangs in a collective."""
    procs = _launch_workers(tmp_path, "--epochs=1", "--steps_per_epoch=40", "--num_synthetic=400",
                            "--log_every=1", "--checkpoint_every_steps=1000")
    chief_out = tmp_path / "out0.txt"
    deadline = time.monotonic() + 180
    while "[E01 | B3]" not in chief_out.read_text() and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), chief_out.read_text()[-2000:]
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)
    outputs = _wait(procs, tmp_path)
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert "SIGTERM received" in outputs[1] and "SIGTERM received" not in outputs[0]
    stops = [re.search(r"stopped at epoch 1, step (\d+)", out) for out in outputs]
    assert all(stops), outputs[0][-2000:] + outputs[1][-2000:]
    step = int(stops[0].group(1))
    assert int(stops[1].group(1)) == step and 3 <= step < 40
    latest = tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert latest.endswith(f"ckpt-{step}")
    assert not (tmp_path / "run" / "generator.keras").exists()
