"""The source the trainer uses: `open_source(config) -> ImageSource` and its tf.data pipeline."""

from __future__ import annotations

import logging
import os
from typing import Sequence

import numpy as np
import tensorflow as tf

from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError
from kerasgan.data.cache import SKIP_REASONS, load_or_build
from kerasgan.data.celeba import celeba_listing, tfds_listing
from kerasgan.data.listing import GET_CELEBA, Listing, folder_listing
from kerasgan.data.synthetic import (SYNTHETIC_HELDOUT_START, synthetic_attributes,
                                     synthetic_faces)
from kerasgan.errors import DataError
from kerasgan.labels import label_combinations

_SHOWN_SKIPPED = 5
# --holdout holds out at least this many images (a smaller share of a small folder says nothing).
MIN_HELDOUT = 16

log = logging.getLogger(__name__)


class ImageSource:
    """A fixed set of preprocessed uint8 images and the tf.data pipeline over them.

    Args:
      name: what the data is, e.g. "celeba:train", "folder:/faces", "synthetic".
      images: uint8 [N, S, S, 3], in memory or memory-mapped from the cache.
      seed: config.seed; with the epoch it fixes the order and the flips.
      flip: random horizontal flips (deterministic per seed, epoch and batch).
      total_files: candidate files before skipping (N for in-memory sources).
      skipped: (path, reason) per excluded file; reason is "unreadable" or "too small".
      attributes: int8 [N, A], +1 (has it) / -1 (has not) per attribute as in CelebA's
        list_attr_celeba, 0 where unknown (an image without a row there); None without labels.
      attribute_names: the A column names ([] without labels).
      filenames: the N source files (relative), for reports and attribute lookups.
      index: positions in `images` that make up this source, in order: a view (nothing is
        copied; a memory-mapped cache stays on disk). None: all of `images`. The other
        per-image arguments (attributes, filenames) describe the view's images.
      part: what the view is, e.g. {"holdout": 0.05, "seed": 0, "part": "heldout"}; {} for a
        whole source. Evaluation keys cached real-data statistics and its protocol by it.

    `split_holdout(share)` splits a source into a training view and a held-out view.

    Conditional training asks for some attributes by name: `check_attributes(names)` says in
    one line why it cannot have them, `labels` and `dataset(..., attributes=names)` give them
    as float32 1.0 / 0.0, `attribute_frequencies` their shares and `attribute_combinations` how
    they occur together.
    """

    def __init__(self, name: str, images: np.ndarray, seed: int = 0, flip: bool = False,
                 total_files: int | None = None, skipped: Sequence[tuple[str, str]] = (),
                 attributes: np.ndarray | None = None, attribute_names: Sequence[str] = (),
                 filenames: Sequence[str] = (), warnings: Sequence[str] = (),
                 index: np.ndarray | None = None, part: dict | None = None):
        self.name = name
        self._images = images
        self._index = None if index is None else np.asarray(index, np.int64)
        self.part = dict(part or {})
        self.seed = seed
        self.flip = flip
        self.num_examples = int(len(images) if index is None else len(self._index))
        self.image_size = int(images.shape[1])
        self.total_files = self.num_examples if total_files is None else int(total_files)
        self.skipped = list(skipped)
        self.attributes = attributes
        self.attribute_names = list(attribute_names) if attributes is not None else []
        if attributes is not None and attributes.shape != (self.num_examples,
                                                           len(self.attribute_names)):
            raise ValueError(f"attributes {attributes.shape} do not match {self.num_examples} "
                             f"images and {len(self.attribute_names)} attribute names")
        self.filenames = list(filenames)
        self.warnings = list(warnings)
        self._loaders: dict = {}  # (batch size, attribute names) -> traced batch loader

    def report(self) -> str:
        """One line: usable and skipped counts, reasons, the first few skipped paths."""
        line = f"images: {self.num_examples:,} usable, {len(self.skipped):,} skipped"
        if not self.skipped:
            return line
        reasons: dict[str, int] = {}
        for _, reason in self.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        shown = ", ".join(path for path, _ in self.skipped[:_SHOWN_SKIPPED])
        more = ", ..." if len(self.skipped) > _SHOWN_SKIPPED else ""
        detail = ", ".join(f"{reasons[r]:,} {r}" for r in ("unreadable", *SKIP_REASONS.values())
                           if r in reasons)
        return f"{line} of {self.total_files:,} files ({detail}): {shown}{more}"

    def order(self, epoch: int) -> np.ndarray:
        """The example order of an epoch: a pure function of (seed, epoch)."""
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)

    def num_batches(self, batch_size: int) -> int:
        return self.num_examples // batch_size

    def check_attributes(self, names: Sequence[str]) -> None:
        """Raises DataError, one line, unless every name is one of this source's attributes,
        named once, and known for every image. An empty list always passes (unconditional).

        A CelebA image missing from list_attr_celeba has 0 (unknown) in its row; rather than
        guess a label or silently drop images (which would change the unconditional set and
        every epoch's order), asking for attributes on such a source is refused, naming how many
        images lack labels and the first one.
        """
        names = list(names)
        if not names:
            return
        if not self.attribute_names:
            raise DataError(f"{self.name} has no attributes: --conditional_attributes needs "
                            f"CelebA (list_attr_celeba) or --dataset=synthetic")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise DataError(f"attribute named more than once: {', '.join(repeated)}")
        unknown = [name for name in names if name not in self.attribute_names]
        if unknown:
            raise DataError(f"unknown attribute{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(unknown)} for {self.name}; its attributes are "
                            f"{', '.join(self.attribute_names)}")
        unlabelled = np.flatnonzero((self.attributes[:, self._columns(names)] == 0).any(axis=1))
        if len(unlabelled):
            first = (self.filenames[unlabelled[0]] if self.filenames
                     else f"image {unlabelled[0]}")
            raise DataError(f"{len(unlabelled):,} of {self.num_examples:,} images of {self.name} "
                            f"have no label for {', '.join(names)} (first: {first}); CelebA's "
                            f"list_attr_celeba has no row for them: add their rows or remove "
                            f"those images")

    def attribute_frequencies(self, names: Sequence[str]) -> np.ndarray:
        """float32 [A]: the share of the source's images that have each named attribute."""
        self.check_attributes(names)
        return self._label_table(names).mean(axis=0, dtype=np.float64).astype(np.float32)

    def attribute_combinations(self, names: Sequence[str]) -> tuple[tuple[str, float], ...]:
        """The named attributes' distinct label rows over the source's images, with their shares
        (labels.label_combinations): how the attributes occur together."""
        self.check_attributes(names)
        return label_combinations(self._label_table(names))

    def labels(self, names: Sequence[str], num: int) -> np.ndarray:
        """float32 [min(num, N), A], 1.0 = has the attribute, 0.0 = has not: the labels of
        `images(num)`, row for row."""
        self.check_attributes(names)
        return self._label_table(names)[:num]

    def _columns(self, names: Sequence[str]) -> list[int]:
        return [self.attribute_names.index(name) for name in names]

    def _label_table(self, names: Sequence[str]) -> np.ndarray:
        """float32 [N, A] of 1.0 / 0.0 for already checked names (CelebA's +1 -> 1.0, -1 -> 0.0)."""
        if not names:
            return np.zeros((self.num_examples, 0), np.float32)
        return (self.attributes[:, self._columns(names)] > 0).astype(np.float32)

    def dataset(self, batch_size: int, epoch: int = 0, start_batch: int = 0,
                shuffle: bool = True, attributes: Sequence[str] = ()) -> tf.data.Dataset:
        """One epoch of float32 [batch, S, S, 3] batches in [-1, 1], the remainder dropped.

        Batches are cut from the epoch's index order before any pixel is read, so skipping the
        first `start_batch` batches (a resumed run) costs nothing and yields the same batches.
        With `attributes` (names), each element is (images, labels float32 [batch, A]), the
        labels of the same images in the same order; the flip changes images, never labels.
        """
        steps = self.num_batches(batch_size)
        if steps == 0:
            raise DataError(f"{self.name} has {self.num_examples:,} usable images, fewer than one "
                            f"batch of {batch_size}: lower --batch_size or add images")
        names = list(attributes)
        self.check_attributes(names)
        batches, keys = self._epoch_plan(epoch, steps, batch_size, shuffle)
        steps_ds = tf.data.Dataset.from_tensor_slices(
            (np.arange(start_batch, steps, dtype=np.int64), batches[start_batch:],
             keys[start_batch:]))
        return steps_ds.map(self._loader(batch_size, tuple(names)),
                            num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=True).prefetch(tf.data.AUTOTUNE)

    def epochs_dataset(self, batch_size: int, first_epoch: int, last_epoch: int,
                       start_batch: int = 0, steps: int = 0,
                       attributes: Sequence[str] = ()) -> tf.data.Dataset:
        """Epochs first_epoch..last_epoch - 1 in one pipeline: the first `steps` batches (0: all)
        of each epoch, exactly those `dataset(epoch=e)` gives, from `start_batch` of the first.

        A small folder's epoch is a few steps, and building and starting a pipeline per epoch
        cost about half as much again as its steps; one pipeline for the run costs that once.
        """
        available = self.num_batches(batch_size)
        steps = min(steps or available, available)
        if steps == 0:
            return self.dataset(batch_size)  # raises the one-line DataError
        names = list(attributes)
        self.check_attributes(names)

        def epoch_batches(epoch):
            batches, keys = tf.numpy_function(
                lambda e: self._epoch_plan(int(e), steps, batch_size), [epoch],
                (tf.int64, tf.int64), stateful=False)
            return tf.data.Dataset.from_tensor_slices((
                tf.range(steps, dtype=tf.int64), tf.ensure_shape(batches, [steps, batch_size]),
                tf.ensure_shape(keys, [steps])))

        epochs = tf.data.Dataset.range(first_epoch, last_epoch)
        return epochs.flat_map(epoch_batches).skip(start_batch).map(
            self._loader(batch_size, tuple(names)), num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True).prefetch(tf.data.AUTOTUNE)

    def _epoch_plan(self, epoch: int, steps: int, batch_size: int,
                    shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """int64 [steps, batch] image positions of an epoch's first `steps` batches, and int64
        [steps] the seed of its flips (with the batch's index in the epoch, per batch)."""
        order = self.order(epoch) if shuffle else np.arange(self.num_examples)
        flip_key = int(np.random.SeedSequence([self.seed, epoch, 1]).generate_state(1)[0] >> 1)
        return (order[:steps * batch_size].reshape(steps, batch_size).astype(np.int64),
                np.full(steps, flip_key, np.int64))

    def _loader(self, batch_size: int, names: tuple[str, ...]):
        """The batch loader (step, indices, flip key) -> images [, labels], traced once per batch
        size and attributes: a small folder's few-step epochs each build a pipeline, and tracing
        the loader anew cost about as much as two training steps per epoch."""
        key = (batch_size, names)
        if key in self._loaders:
            return self._loaders[key]
        table = self._label_table(names) if names else None
        shape = [batch_size, self.image_size, self.image_size, 3]

        @tf.function(input_signature=[tf.TensorSpec([], tf.int64),
                                      tf.TensorSpec([batch_size], tf.int64),
                                      tf.TensorSpec([], tf.int64)])
        def load(step, indices, flip_key):
            images = tf.numpy_function(self._gather, [indices], tf.uint8, stateful=False)
            images = tf.ensure_shape(images, shape)
            if self.flip:
                images = tf.image.stateless_random_flip_left_right(
                    images, seed=tf.stack([flip_key, step]))
            images = tf.cast(images, tf.float32) / 127.5 - 1.0
            if table is None:
                return images
            labels = tf.numpy_function(lambda rows: table[rows], [indices], tf.float32,
                                       stateful=False)
            return images, tf.ensure_shape(labels, [batch_size, len(names)])

        self._loaders[key] = load
        return load

    def _gather(self, indices: np.ndarray) -> np.ndarray:
        """uint8 images at the source's positions `indices` (through the view's index)."""
        if self._index is not None:
            indices = self._index[indices]
        return np.ascontiguousarray(self._images[indices])

    def pixels(self, num: int) -> np.ndarray:
        """The first min(num, num_examples) usable images, unshuffled, uint8 as stored."""
        return self._gather(np.arange(min(num, self.num_examples)))

    def images(self, num: int) -> np.ndarray:
        """The first min(num, num_examples) usable images, unshuffled, float32 in [-1, 1]."""
        return self.pixels(num).astype(np.float32) / 127.5 - 1.0

    def holdout_split(self, share: float, minimum: int = MIN_HELDOUT
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(training positions, held-out positions), each sorted: the last max(minimum,
        round(share * N)) of a permutation that is a pure function of (seed, N), so a resumed
        run holds out the same images. No held-out positions for share 0."""
        if share <= 0:
            return np.arange(self.num_examples), np.zeros(0, np.int64)
        count = min(self.num_examples, max(minimum, int(round(share * self.num_examples))))
        order = np.random.default_rng([self.seed, 7]).permutation(self.num_examples)
        return np.sort(order[:len(order) - count]), np.sort(order[len(order) - count:])

    def split_holdout(self, share: float, batch_size: int = 1, minimum: int = MIN_HELDOUT
                      ) -> tuple["ImageSource", "ImageSource"]:
        """(training view, held-out view) of this source for --holdout=share (holdout_split);
        neither copies an image. DataError, one line, when fewer than one batch of batch_size
        would be left to train on."""
        train, heldout = self.holdout_split(share, minimum)
        if len(train) < batch_size:
            raise DataError(f"--holdout={share:g} holds out {len(heldout):,} of the "
                            f"{self.num_examples:,} usable images of {self.name}, leaving "
                            f"{len(train):,}, fewer than one batch of --batch_size={batch_size}: "
                            "add images, or lower --holdout or --batch_size")
        part = {"holdout": share, "seed": self.seed, "of": self.num_examples}
        return (self.view(train, f"{self.name}, training part", {**part, "part": "train"}),
                self.view(heldout, f"{self.name}, held-out part", {**part, "part": "heldout"}))

    def view(self, positions: np.ndarray, name: str = "", part: dict | None = None
             ) -> "ImageSource":
        """The images at `positions` (of this source) as a source of their own, sharing this
        one's image array: nothing is copied."""
        positions = np.asarray(positions, np.int64)
        return ImageSource(
            name or self.name, self._images, seed=self.seed, flip=self.flip,
            total_files=self.total_files, skipped=self.skipped,
            attributes=None if self.attributes is None else self.attributes[positions],
            attribute_names=self.attribute_names,
            filenames=[self.filenames[i] for i in positions] if self.filenames else (),
            warnings=self.warnings,
            index=positions if self._index is None else self._index[positions],
            part=self.part if part is None else part)


def open_synthetic_heldout(config: TrainConfig, num: int) -> ImageSource:
    """`num` built-in faces that a synthetic run never trains on (SYNTHETIC_HELDOUT_START on, at
    the run's image size and seed): the real images of the README's figures."""
    if config.dataset != "synthetic":
        raise ConfigError(f"held-out synthetic faces measure runs trained on them: this run "
                          f"trained on --dataset={config.dataset}")
    if config.num_synthetic > SYNTHETIC_HELDOUT_START:
        raise ConfigError(f"--num_synthetic={config.num_synthetic} reaches the held-out faces "
                          f"(from {SYNTHETIC_HELDOUT_START:,} on): this run has none")
    indices = np.arange(SYNTHETIC_HELDOUT_START, SYNTHETIC_HELDOUT_START + num)
    names, attributes = synthetic_attributes(indices, config.seed)
    return ImageSource("synthetic", synthetic_faces(indices, config.image_size, config.seed),
                       seed=config.seed, attributes=attributes, attribute_names=names,
                       part={"part": "synthetic_heldout", "first": SYNTHETIC_HELDOUT_START})


def open_source(config: TrainConfig) -> ImageSource:
    """The source config.dataset names, preprocessed at config.image_size; raises DataError."""
    if config.dataset == "synthetic":
        indices = np.arange(config.num_synthetic)
        images = synthetic_faces(indices, config.image_size, config.seed)
        names, attributes = synthetic_attributes(indices, config.seed)
        return ImageSource("synthetic", images, seed=config.seed, flip=config.flip,
                           attributes=attributes, attribute_names=names)
    if config.dataset == "tfds":
        listing = tfds_listing(config)
    elif config.dataset == "celeba":
        listing = celeba_listing(config)
    else:
        listing = folder_listing(config)
    source = _cached_source(listing, config)
    for warning in source.warnings:
        log.warning(warning)
    return source


def _cached_source(listing: Listing, config: TrainConfig) -> ImageSource:
    """The ImageSource of a file-backed listing, read from (or first written to) the cache."""
    manifest, images, attributes = load_or_build(listing, config.image_size, config.cache_dir)
    filenames = [listing.member(i) for i in manifest["kept"]]
    skipped = [(listing.member(i), reason) for i, reason in manifest["skipped"]]
    if not manifest["count"]:
        partial = ImageSource(listing.name, images, total_files=manifest["total"], skipped=skipped)
        raise DataError(f"no usable images in {listing.root}: {partial.report()}; {GET_CELEBA}")
    names = manifest.get("attribute_names", [])  # per record, kept by the cache (TFDS)
    if attributes is None and listing.attribute_names:  # per file name (CelebA)
        names = listing.attribute_names
        width = len(names)
        attributes = np.array([listing.attribute_rows.get(os.path.basename(f), [0] * width)
                               for f in filenames], np.int8).reshape(-1, width)
    return ImageSource(listing.name, images, seed=config.seed, flip=config.flip,
                       total_files=manifest["total"], skipped=skipped, attributes=attributes,
                       attribute_names=names, filenames=filenames,
                       warnings=listing.warnings + _several_faces_note(manifest, config))


def _several_faces_note(manifest: dict, config: TrainConfig) -> list[str]:
    """--align: how many pictures held more than one face, and what was done with them."""
    several = len(manifest.get("several_faces", []))
    if not several:
        return []
    done = ("each face is an example" if config.align_faces == "all"
            else "the largest face of each is kept (--align_faces=all keeps every one)")
    return [f"{several:,} picture{'s' if several > 1 else ''} held several faces: {done}"]


def preview_images(source: ImageSource, num: int = 64) -> np.ndarray:
    """`num` shuffled, preprocessed samples in [-1, 1]: exactly what the networks will see."""
    return next(iter(source.dataset(min(num, source.num_examples), epoch=0))).numpy()
