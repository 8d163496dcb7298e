"""How well a conditional generator draws the attributes it is asked for: a small classifier
trained on the run's real faces judges generated ones (evaluate's attribute_accuracy).

    train_attribute_classifier(images, labels, held-out images, labels) -> (classifier, ceiling)
    load_or_train_classifier(workdir, real_data, names, image_size, ...)
        -> (classifier, info, trained): the classifier cached in the run directory
    attribute_accuracy(classifier, generate, latent_dim, names, frequencies, noise_seeds) -> {...}

For each attribute a and each noise seed the generator draws two faces with the same z: one asked
to have a, one asked not to, the other attributes drawn as the real faces with (or without) a
have them (the data's attribute combinations, labels.draw_labels), so that no face is asked for
what no real face is, black and blond hair at once. "on" is the share of the first that the
classifier says have a, "off" the share of the second that it says lack a, and "mean" their
average, a balanced accuracy: 1 for a generator that obeys a, 0.5 for one that ignores it, 0 for
one that inverts it, whatever a's frequency.
The ceiling is the classifier's own on/off/mean on held-out real faces: the generator cannot be
measured as more faithful than its judge. See docs/metrics.md.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional, Sequence

import keras
import numpy as np

from kerasgan import rundir
from kerasgan.errors import DataError, RunError
from kerasgan.fileio import atomic_target, write_atomic
from kerasgan.labels import draw_labels
from kerasgan.noise import seeded_noise

THRESHOLD = 0.5  # a sigmoid output above this says "has the attribute"
MAX_CLASSIFIER_SIDE = 64  # larger images are average-pooled down to this first
# Part of the cache key: raised when the classifier or its training changes, so that classifiers
# cached by an older kerasgan are trained again.
_CACHE_FORMAT = 1


def on_off_accuracy(predicted: Any, wanted: Any) -> dict[str, np.ndarray]:
    """Per attribute (columns of two [N, A] 0/1 arrays): "on", the share of rows wanted 1 that
    were predicted 1; "off", the share of rows wanted 0 predicted 0; "mean", their average.
    NaN where no row wanted that value."""
    predicted = np.asarray(predicted) > THRESHOLD
    wanted = np.asarray(wanted) > THRESHOLD
    if predicted.shape != wanted.shape or predicted.ndim != 2:
        raise ValueError(f"expected two [N, A] arrays of one shape, got {predicted.shape} and "
                         f"{wanted.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        on = (predicted & wanted).sum(0) / wanted.sum(0)
        off = (~predicted & ~wanted).sum(0) / (~wanted).sum(0)
    return {"on": on, "off": off, "mean": (on + off) / 2}


def build_attribute_classifier(image_size: int, num_attributes: int, seed: int = 0,
                               width: int = 32) -> keras.Model:
    """[N, S, S, 3] images in [-1, 1] -> [N, A] probabilities: stride-2 4x4 convolutions with
    leaky ReLU (width, doubled per layer up to 256 channels) down to 4x4, then one dense sigmoid
    output per attribute. Images over MAX_CLASSIFIER_SIDE are average-pooled to it first, so the
    cost stays small at 128 and 256 px. Its initial weights depend on seed only."""
    inputs = keras.Input((image_size, image_size, 3), name="images")
    x, side = inputs, image_size
    if side > MAX_CLASSIFIER_SIDE:
        factor = side // MAX_CLASSIFIER_SIDE
        x = keras.layers.AveragePooling2D(factor, name="shrink")(x)
        side //= factor
    channels, layer = width, 0
    while side > 4:
        x = keras.layers.Conv2D(channels, 4, strides=2, padding="same", name=f"conv{layer}",
                                kernel_initializer=keras.initializers.GlorotUniform(seed + layer)
                                )(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{layer}")(x)
        side, channels, layer = (side + 1) // 2, min(channels * 2, 256), layer + 1
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(num_attributes, activation="sigmoid", name="attributes",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed + layer)
                                 )(x)
    return keras.Model(inputs, outputs, name="attribute_classifier")


def classify(classifier: keras.Model, images: Any, batch_size: int = 256) -> np.ndarray:
    """bool [N, A]: whether the classifier says each image has each attribute."""
    probabilities = classifier.predict(np.asarray(images, np.float32), batch_size=batch_size,
                                       verbose=0)
    return np.asarray(probabilities) > THRESHOLD


def _check_set(images: Any, labels: Any, which: str, names: Sequence[str]) -> None:
    """DataError (one line) unless images are [N, S, S, 3], labels [N, A] of 0/1 and every
    attribute has faces with and without it."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or images.shape[1] != images.shape[2] or images.shape[3] != 3:
        raise DataError(f"the {which} images must be [N, S, S, 3], got {images.shape}")
    if labels.ndim != 2 or len(labels) != len(images):
        raise DataError(f"the {which} labels must be [{len(images)}, A], got {labels.shape}")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise DataError(f"the {which} labels must be 0 or 1 (1 = has the attribute)")
    for column in range(labels.shape[1]):
        name = names[column] if column < len(names) else f"attribute {column}"
        share = float(labels[:, column].mean()) if len(labels) else 0.0
        if share in (0.0, 1.0):
            raise DataError(f"{'none' if share == 0.0 else 'all'} of the {len(labels):,} {which} "
                            f"real images {'have' if share == 0.0 else 'has'} {name}: the "
                            "attribute classifier needs faces with and without it; use more "
                            "images")


def train_attribute_classifier(images: Any, labels: Any, validation_images: Any,
                               validation_labels: Any, epochs: int = 5, batch_size: int = 64,
                               seed: int = 0, learning_rate: float = 1e-3,
                               attribute_names: Sequence[str] = ()
                               ) -> tuple[keras.Model, dict[str, np.ndarray]]:
    """Trains build_attribute_classifier on real images [N, S, S, 3] in [-1, 1] with labels
    [N, A] of 0/1 (binary cross-entropy, Adam), and measures it on the held-out set.

    Returns (classifier, ceiling): ceiling is on_off_accuracy on the held-out images, each of
    "on", "off", "mean" a float64 array [A]. Deterministic for a seed: the initial weights and
    the order of the batches (a permutation per epoch) depend on it alone. attribute_names only
    name the attributes in errors.
    """
    _check_set(images, labels, "training", attribute_names)
    _check_set(validation_images, validation_labels, "held-out", attribute_names)
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.float32)
    if np.asarray(validation_labels).shape[1] != labels.shape[1] or \
            np.asarray(validation_images).shape[1:] != images.shape[1:]:
        raise DataError("the held-out images and labels must match the training ones in image "
                        "size and number of attributes")
    model = build_attribute_classifier(images.shape[1], labels.shape[1], seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        permutation = order.permutation(len(images))
        for start in range(0, len(images), batch_size):
            batch = permutation[start:start + batch_size]
            model.train_on_batch(images[batch], labels[batch])
    ceiling = on_off_accuracy(classify(model, validation_images), validation_labels)
    return model, ceiling


def _ceiling_by_name(ceiling: dict[str, np.ndarray], names: Sequence[str]
                     ) -> dict[str, dict[str, float]]:
    return {name: {part: float(ceiling[part][index]) for part in ("on", "off", "mean")}
            for index, name in enumerate(names)}


def load_or_train_classifier(workdir: str,
                             real_data: Callable[[], tuple[np.ndarray, np.ndarray]],
                             attribute_names: Sequence[str], image_size: int,
                             train_images: int = 8192, held_out_images: int = 1024,
                             epochs: int = 5, batch_size: int = 64, seed: int = 0,
                             data_key: Optional[dict[str, Any]] = None
                             ) -> tuple[keras.Model, dict[str, Any], bool]:
    """The run's attribute classifier: RUN/attribute_classifier.keras when its JSON says it was
    trained the same way, else trained now and saved there.

    Args:
        workdir: the run directory holding the cache.
        real_data: called only when training: () -> (images [N, S, S, 3] in [-1, 1], labels
            [N, A] of 0/1), at most train_images + held_out_images of them. The last
            held_out_images are held out (a fifth when there are fewer than asked for).
        attribute_names, image_size, train_images, held_out_images, epochs, batch_size, seed,
            data_key (what identifies the real data): the cache key; any change retrains.

    Returns (classifier, info, trained): info is the JSON stored beside the model ("ceiling":
    {name: {"on", "off", "mean"}}, "train_images"/"held_out_images": the counts used, "key").
    The model is written first and the JSON last, both atomically, after removing the old JSON:
    an interrupted save leaves no JSON, so the next call trains again.
    """
    names = [str(name) for name in attribute_names]
    key = json.loads(json.dumps({
        "format": _CACHE_FORMAT, "attribute_names": names, "image_size": int(image_size),
        "train_images": int(train_images), "held_out_images": int(held_out_images),
        "epochs": int(epochs), "batch_size": int(batch_size), "seed": int(seed),
        "data": data_key or {}}, sort_keys=True))
    model_path = rundir.path(workdir, rundir.ATTRIBUTE_CLASSIFIER_FILE)
    info_path = rundir.path(workdir, rundir.ATTRIBUTE_CLASSIFIER_INFO_FILE)
    cached = _load_cached(model_path, info_path, key)
    if cached is not None:
        return cached[0], cached[1], False

    images, labels = real_data()
    images, labels = np.asarray(images, np.float32), np.asarray(labels, np.float32)
    count = len(images)
    held = held_out_images if count >= train_images + held_out_images else \
        min(held_out_images, count // 5)
    if held < 1:
        raise DataError(f"the attribute classifier needs at least 5 real images with labels, "
                        f"got {count}")
    used = min(train_images, count - held)
    if count < train_images + held_out_images:
        print(f"note: the real data has only {count:,} usable images; the attribute classifier "
              f"trains on {used:,} and holds out {held:,}")
    print(f"training the attribute classifier on {used:,} real images ({epochs} epochs)...")
    classifier, ceiling = train_attribute_classifier(
        images[:used], labels[:used], images[count - held:], labels[count - held:], epochs,
        batch_size, seed, attribute_names=names)
    info = {"key": key, "ceiling": _ceiling_by_name(ceiling, names), "train_images": used,
            "held_out_images": held}
    if os.path.exists(info_path):
        os.remove(info_path)
    with atomic_target(model_path) as tmp_path:
        classifier.save(tmp_path)
    write_atomic(info_path, json.dumps(info, indent=2, sort_keys=True) + "\n")
    return classifier, info, True


def _load_cached(model_path: str, info_path: str, key: dict[str, Any]
                 ) -> Optional[tuple[keras.Model, dict[str, Any]]]:
    """(classifier, info) when both files are there, readable and trained as `key` says."""
    if not (os.path.isfile(model_path) and os.path.isfile(info_path)):
        return None
    try:
        with open(info_path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("key") != key:
        return None
    try:
        classifier = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive.
        print(f"note: {model_path} could not be read ({type(error).__name__}); training the "
              "attribute classifier again")
        return None
    return classifier, info


def attribute_accuracy(classifier: keras.Model,
                       generate: Callable[[np.ndarray, np.ndarray], Any], latent_dim: int,
                       attribute_names: Sequence[str], frequencies: Sequence[float],
                       noise_seeds: Sequence[int], chunk: int = 512, combinations=()
                       ) -> dict[str, dict[str, float]]:
    """{name: {"on", "off", "mean"}} for a conditional generator, judged by the classifier.

    Args:
        classifier: [N, S, S, 3] -> [N, A] probabilities, its columns in attribute_names' order.
        generate: (z [n, latent_dim], labels [n, A] float32 0/1) -> images [n, S, S, 3] in [-1, 1].
        frequencies: [A] shares of the real faces with each attribute.
        combinations: the real faces' attribute combinations with their shares
            (labels.label_combinations). The attributes not under test are drawn per noise seed
            from the combinations that have the tested value (labels.draw_labels); one by one
            from the frequencies, the same for both faces of a seed, when there are none.
        noise_seeds: each gives one z (noise.seeded_noise) drawn twice per attribute, asked on and
            asked off, so 2 * len(noise_seeds) images per attribute.
        chunk: images generated and classified at a time (bounds the memory).
    """
    names = tuple(attribute_names)
    shares = np.asarray(frequencies, np.float32).reshape(-1)
    seeds = list(noise_seeds)
    if not names or len(shares) != len(names) or not seeds:
        raise ValueError(f"need attribute names, one frequency per name and noise seeds; got "
                         f"{len(names)} names, {len(shares)} frequencies, {len(seeds)} seeds")
    z = seeded_noise(seeds, latent_dim)
    expected = tuple(classifier.inputs[0].shape[1:])
    results = {}
    for index, name in enumerate(names):
        asked = np.concatenate([draw_labels(shares, seeds, combinations, {index: value})
                                for value in (1.0, 0.0)])
        noise = np.concatenate([z, z])
        said = []
        for start in range(0, len(asked), chunk):
            images = np.asarray(generate(noise[start:start + chunk], asked[start:start + chunk]))
            if tuple(images.shape[1:]) != expected:
                raise RunError(f"the generator draws images of shape {tuple(images.shape[1:])} "
                               f"but the attribute classifier judges {expected}")
            said.append(classify(classifier, images)[:, index])
        accuracy = on_off_accuracy(np.concatenate(said)[:, None], asked[:, index:index + 1])
        results[name] = {part: float(accuracy[part][0]) for part in ("on", "off", "mean")}
    return results
