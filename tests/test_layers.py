import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasgan.layers import FusedBatchNormalization


def _pair(shape, **kwargs):
    """A stock Keras batch norm and the fused one, with the same random weights and statistics."""
    stock = keras.layers.BatchNormalization(**kwargs)
    fused = FusedBatchNormalization(**kwargs)
    rng = np.random.default_rng(1)
    for layer in (stock, fused):
        layer.build(shape)
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        value = rng.uniform(0.5, 1.5, shape[-1]).astype("float32")
        getattr(stock, name).assign(value)
        getattr(fused, name).assign(value)
    return stock, fused, {name: getattr(stock, name).numpy().copy()
                          for name in ("moving_mean", "moving_variance")}


@pytest.mark.parametrize("shape", [(8, 5, 5, 6), (16, 7)])
def test_training_pass_matches_keras_batch_norm(shape):
    stock, fused, before = _pair(shape, momentum=0.9)
    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, shape).astype("float32"))
    results = []
    for layer in (stock, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.sin(y))
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y] + grads + [layer.moving_mean, layer.moving_variance])
    for want, got in zip(*results):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=2e-4)
    # Against numpy: momentum 0.9 towards the batch mean and the biased batch variance.
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(fused.moving_mean.numpy(),
                               0.9 * before["moving_mean"] + 0.1 * np.asarray(x).mean(axis=axes),
                               rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               0.9 * before["moving_variance"] + 0.1 * np.asarray(x).var(axis=axes),
                               rtol=1e-5)


def test_inference_uses_moving_statistics():
    stock, fused, _ = _pair((4, 3, 3, 2))
    x = np.random.default_rng(2).normal(size=(4, 3, 3, 2)).astype("float32")
    np.testing.assert_allclose(fused(x, training=False), stock(x, training=False), rtol=1e-6)
    before = fused.moving_mean.numpy().copy()
    fused(x, training=False)
    np.testing.assert_array_equal(fused.moving_mean.numpy(), before)


def test_batch_of_one_keeps_finite_statistics():
    layer = FusedBatchNormalization()
    y = layer(np.ones((1, 2, 2, 3), "float32") * 4.0, training=True)
    assert np.isfinite(y.numpy()).all()
    assert np.isfinite(layer.moving_variance.numpy()).all()


def test_unfused_cases_fall_back_to_keras():
    stock, fused, _ = _pair((4, 6, 2), momentum=0.5)  # rank 3: not a fused shape
    x = np.random.default_rng(3).normal(size=(4, 6, 2)).astype("float32")
    np.testing.assert_allclose(fused(x, training=True), stock(x, training=True), rtol=1e-5)
    np.testing.assert_allclose(fused.moving_mean.numpy(), stock.moving_mean.numpy(), rtol=1e-6)


def test_saves_and_loads_as_a_keras_layer(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 3)), FusedBatchNormalization(momentum=0.8)])
    model(np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype("float32"), training=True)
    path = str(tmp_path / "bn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[0]) is FusedBatchNormalization and loaded.layers[0].momentum == 0.8
    np.testing.assert_array_equal(loaded.layers[0].moving_mean.numpy(),
                                  model.layers[0].moving_mean.numpy())


def test_training_graph_runs_the_fused_kernel():
    layer = FusedBatchNormalization()
    layer.build((2, 3, 3, 4))
    graph = tf.function(lambda x: layer(x, training=True)).get_concrete_function(
        tf.TensorSpec((2, 3, 3, 4), tf.float32)).graph
    op_types = {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in op_types and "Mean" not in op_types
