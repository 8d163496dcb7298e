"""Measure a generator against real images (SWD, FID, KID) and a conditional one against its
labels (attribute_accuracy): the library behind kerasgan.evaluate.

    evaluate_generator(generator, config, metrics, num_samples, ...) -> [result, ...]
        what training calls each evaluation epoch; nothing is written but the stats cache
    attribute_accuracy_results(generate, latent_dim, real_data, names, frequencies, workdir, ...)
        -> [result, ...]: attribute_accuracy, its classifier cached in the run directory
    evaluate_run(workdir, metrics, num_samples, ...) -> [result, ...]
        a run's latest checkpoint (or generator_best.keras): adds step/epoch, prints a table,
        appends RUN/metrics.jsonl; a --holdout run is measured against its held-out images

A result is {"metric": "swd_avg" | "swd_<res>" | "fid" | "kid" | "kid_std", "value": float,
"num_samples": N, "protocol": {...}}; attribute_accuracy gives "attribute_accuracy/NAME" per
attribute and "attribute_accuracy/mean", with "on", "off" and the classifier's "ceiling" beside
"value". Generated images come from fixed noise seeds, so repeated
evaluations of one generator see the same images; real images are the first N usable images of
the source, unshuffled. The metric math and its protocol are in metrics.py and docs/metrics.md.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
from typing import Any, Optional, Sequence

import numpy as np

from kerasgan import (attribute_accuracy as attribute_lib, checkpointing, data, inference,
                      metrics as metrics_lib, rundir, sample_lib)
from kerasgan.config import TrainConfig, check_attribute_accuracy, parse_metrics as _parse_metrics
from kerasgan.errors import ConfigError, DataError
from kerasgan.noise import check_truncation
from kerasgan.sample_args import check_best

# The values worth a history.csv column at every image size (per-level SWD and kid_std go to
# metrics.jsonl and TensorBoard only).
HISTORY_METRICS = ("swd_avg", "fid", "kid")
# evaluate --real: the run's own data (or its held-out part), or built-in faces never trained on.
REAL_SETS = ("run", "synthetic_heldout")
# Evaluation seed s draws noise seeds s * NOISE_SEED_STRIDE + (0 .. N-1).
NOISE_SEED_STRIDE = 1_000_000
_INCEPTION_ID_PREFIX = "keras-inception_v3"
_SWD_PARAMS = dict(nhood_size=7, nhoods_per_image=128, dir_repeats=4, dirs_per_repeat=128,
                   min_resolution=metrics_lib.SWD_MIN_RESOLUTION)
_KID_PARAMS = dict(num_subsets=100, subset_size=1000)
ATTRIBUTE_ACCURACY = "attribute_accuracy"
# The attribute classifier: real images it trains on and holds out (its ceiling), and its epochs.
CLASSIFIER_TRAIN_IMAGES = 8192
CLASSIFIER_HELD_OUT_IMAGES = 1024
CLASSIFIER_EPOCHS = 5


def parse_metrics(text: str) -> tuple[str, ...]:
    """"swd,fid,kid" -> ("swd", "fid", "kid"); ConfigError naming --metrics and the choices."""
    return _parse_metrics(text, "metrics")


def _as_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
    return parse_metrics(metrics if isinstance(metrics, str) else ",".join(metrics))


def make_feature_extractor(metrics: str | Sequence[str], inception_weights: Optional[str] = None,
                           batch_size: int = 50):
    """The Inception feature extractor fid/kid need, or None for swd alone.

    Loaded once per (weights, batch size) and kept, so training's repeated evaluations do not
    reload it; calling this before training starts makes a missing weights file fail early.
    """
    if not {"fid", "kid"} & set(_as_metrics(metrics)):
        return None
    return _inception_features(inception_weights or None, batch_size)


@functools.lru_cache(maxsize=2)
def _inception_features(weights_path: Optional[str], batch_size: int):
    return metrics_lib.InceptionFeatures(weights_path=weights_path, batch_size=batch_size)


def generate_images(generator, num: int, seed: int = 0, batch_size: int = 64,
                    report: bool = False, truncation: float = 1.0) -> np.ndarray:
    """float32 [-1, 1] images for noise seeds seed * 1e6 + (0 .. num-1), in inference mode.

    With seed 0 these are the images `kerasgan.sample --seeds=0-(num-1)` writes (a conditional
    generator's attributes drawn per seed from the data's frequencies, as there; the same
    --truncation); with report, the generation speed is printed.
    """
    seeds = range(seed * NOISE_SEED_STRIDE, seed * NOISE_SEED_STRIDE + num)
    return sample_lib.generate(generator, seeds, batch_size, report,
                               labels=sample_lib.generator_labels(generator, "", seeds),
                               truncation=truncation)


def real_stats_key(config: TrainConfig, num_samples: int, extractor_id: str) -> dict[str, Any]:
    """The StatsCache key of the real-data features: everything the real images depend on.

    `count` is the number of images asked for; the number used (fewer when the source is
    smaller) is stored with the features. The data folder is named by its path, not hashed:
    after changing the images in it, delete the stats folder.
    """
    key: dict[str, Any] = {
        "dataset": config.dataset, "split": config.split, "size": config.image_size,
        "crop": config.crop, "count": int(num_samples), "extractor": extractor_id,
        "data_dir": os.path.abspath(os.path.expanduser(config.data_dir)) if config.data_dir else ""}
    if config.dataset == "synthetic":
        key.update(seed=config.seed, num_synthetic=config.num_synthetic)
    return key


class _RealImages:
    """The first num usable real images, read only when first asked for."""

    def __init__(self, config: TrainConfig, num: int, source: Optional[data.ImageSource]):
        self.config, self.num, self._source, self._images = config, num, source, None

    @property
    def source(self) -> data.ImageSource:
        if self._source is None:
            self._source = data.open_source(self.config)
        return self._source

    def images(self) -> np.ndarray:
        if self._images is None:
            self._images = self.source.images(self.num)
        return self._images


def evaluate_generator(generator, config: TrainConfig, metrics: str | Sequence[str] = ("swd",),
                       num_samples: int = 1024, inception_weights: Optional[str] = None,
                       feature_extractor=None, cache_dir: Optional[str] = None, seed: int = 0,
                       batch_size: int = 64, source: Optional[data.ImageSource] = None,
                       truncation: float = 1.0) -> list[dict[str, Any]]:
    """Measures `generator` against the real data config names; one dict per metric value.

    Args:
        generator: a kerasgan Generator (anything with `latent_dim`, called with training=False).
        config: the run's config; dataset, data_dir, split, crop, image_size pick the real images.
        metrics: "swd,fid" or a sequence of swd, fid, kid.
        num_samples: generated and real images; fewer when the source has fewer usable images
            (a note says so, and `num_samples` in the results is the count used).
        inception_weights: Keras' InceptionV3 notop .h5 for fid/kid; None: Keras' cache/download.
        feature_extractor: replaces Inception for fid/kid: a callable images -> [N, D] features
            with an `id` (metrics.InceptionFeatures(model=...)) or a bare Keras model. Its numbers
            are test values, marked `"test_only": true` in the protocol, never FID.
        cache_dir: the StatsCache folder of real-data features (default: RUN/kerasgan_stats).
        seed: picks the noise (seeds seed * 1e6 + 0..N-1) and the SWD/KID random draws.
        batch_size: images per generator forward pass.
        source: an already opened ImageSource of config's data (training passes its own, or
            its held-out part: a view's `part` then goes into the stats key and the protocol).
        truncation: ψ of noise.truncate for the generated images (1: the noise as drawn); every
            result's protocol records it.
    """
    metrics = _as_metrics(metrics)
    truncation = check_truncation(truncation)
    if ATTRIBUTE_ACCURACY in metrics:
        raise ConfigError("attribute_accuracy needs the real labels and a classifier: measure it "
                          "with python -m kerasgan.evaluate (evaluate_run or "
                          "attribute_accuracy_results), not evaluate_generator")
    if num_samples < 2:
        raise ConfigError(f"--num_samples={num_samples} is not allowed: it must be at least 2")
    extractor = None
    if {"fid", "kid"} & set(metrics):
        extractor = feature_extractor or make_feature_extractor(metrics, inception_weights)
        if not hasattr(extractor, "id"):
            extractor = metrics_lib.InceptionFeatures(model=extractor)
    real = _RealImages(config, num_samples, source)

    stats, stats_origin = None, None
    if extractor is not None:
        cache = metrics_lib.StatsCache(
            cache_dir or rundir.path(config.resolved_workdir(), rundir.STATS_FOLDER))
        key = real_stats_key(config, num_samples, extractor.id)
        if source is not None and source.part:
            key["part"] = source.part
        stats, stats_origin = cache.load(key), "cached"
        if stats is not None and "swd" in metrics and int(stats["count"]) != len(real.images()):
            stats = None  # the source changed size since the cache was written
        if stats is None:
            features = extractor(real.images())
            mu, sigma = metrics_lib.gaussian_statistics(features)
            stats = {"features": features, "mu": mu, "sigma": sigma,
                     "count": np.array(len(features))}
            cache.save(key, stats)
            stats_origin = "computed"
        count = int(stats["count"])
    else:
        count = len(real.images())
    if count < 2:
        raise DataError(f"{real.source.name} has {count} usable image(s); evaluation needs "
                        "at least 2")
    # A few held-out images against as few generated ones make SWD mostly noise: there it
    # compares num_samples generated images with the held-out ones repeated to that count (each
    # repeat draws its neighbourhoods at other places), so G's side is measured in full.
    swd_count = (num_samples if "swd" in metrics and source is not None and source.part
                 and count < num_samples else count)
    if swd_count > count:
        print(f"note: {count:,} held-out images; SWD compares {swd_count:,} generated images with "
              f"them repeated to {swd_count:,}")
    elif count < num_samples:
        print(f"note: the real data has only {count:,} usable images; evaluating {count:,} "
              f"generated against {count:,} real instead of --num_samples={num_samples:,}")

    fake = generate_images(generator, swd_count, seed, batch_size, report=True,
                           truncation=truncation)
    first = seed * NOISE_SEED_STRIDE
    common = {"real": {"dataset": config.dataset, "data_dir": config.data_dir,
                       "split": config.split, "image_size": config.image_size,
                       "crop": config.crop,
                       **({"part": source.part} if source is not None and source.part else {})},
              "noise_seeds": f"{first}-{first + swd_count - 1}", "truncation": truncation}
    results: list[dict[str, Any]] = []

    def add(metric: str, value: float, protocol: dict[str, Any], num: int = count) -> None:
        results.append({"metric": metric, "value": float(value), "num_samples": num,
                        "protocol": {**common, **protocol}})

    fake_features = extractor(fake[:count]) if extractor is not None else None
    for name in metrics:
        if name == "swd":
            real_images = real.images()
            if swd_count > count:
                real_images = real_images[np.arange(swd_count) % count]
            values = metrics_lib.sliced_wasserstein_distance(real_images, fake, seed=seed,
                                                             **_SWD_PARAMS)
            protocol = {**_SWD_PARAMS, "seed": seed, "scale": 1e3,
                        "pyramid": "laplacian, 5x5 binomial, mirrored edges",
                        **({"real_repeated": f"{count} images to {swd_count}"}
                           if swd_count > count else {})}
            add("swd_avg", values.pop("swd_avg"), protocol, swd_count)
            for metric, value in values.items():
                add(metric, value, protocol, swd_count)
            continue
        protocol = {"extractor": extractor.id, "resize": "legacy bilinear to 299x299 "
                    "(align_corners=False, half_pixel_centers=False)", "scaling": "x / 127.5 - 1",
                    "real_stats": stats_origin}
        if not extractor.id.startswith(_INCEPTION_ID_PREFIX):
            protocol["test_only"] = True
        if name == "fid":
            value = metrics_lib.frechet_distance(
                stats["mu"], stats["sigma"], *metrics_lib.gaussian_statistics(fake_features))
            add("fid", value, {**protocol, "statistics": "float64, covariance ddof=1"})
        else:
            mean, std = metrics_lib.kernel_inception_distance(stats["features"], fake_features,
                                                              seed=seed, **_KID_PARAMS)
            kid_protocol = {**protocol, **_KID_PARAMS, "seed": seed, "kernel": "(x.y / d + 1)^3",
                            "subset_size": min(_KID_PARAMS["subset_size"], count)}
            add("kid", mean, kid_protocol)
            add("kid_std", std, kid_protocol)
    return results


def attribute_accuracy_results(generate, latent_dim: int, real_data, attribute_names: Sequence[str],
                               frequencies: Sequence[float], workdir: str, image_size: int,
                               num_samples: int = 2048, seed: int = 0,
                               data_key: Optional[dict[str, Any]] = None,
                               train_images: int = CLASSIFIER_TRAIN_IMAGES,
                               held_out_images: int = CLASSIFIER_HELD_OUT_IMAGES,
                               epochs: int = CLASSIFIER_EPOCHS, combinations=()
                               ) -> list[dict[str, Any]]:
    """attribute_accuracy of a conditional generator: one result per attribute and their mean.

    Args:
        generate: (z [n, latent_dim], labels [n, A] float32 0/1) -> images [n, S, S, 3] in [-1, 1].
        latent_dim: the generator's noise size.
        real_data: () -> (real images [N, S, S, 3] in [-1, 1], their labels [N, A] 0/1), called
            only when the classifier has to be trained (up to train_images + held_out_images).
        attribute_names, frequencies: the generator's attributes and their shares in the data.
        workdir: the run directory, where the classifier is cached
            (attribute_accuracy.load_or_train_classifier).
        image_size: the side of the run's images.
        num_samples: images per attribute, half asked with it and half without (noise seeds
            seed * 1e6 + 0 .. num_samples/2 - 1, each drawn both ways).
        data_key: what identifies the real data, part of the classifier's cache key.
        combinations: the attribute combinations the generator keeps (labels.label_combinations):
            the attributes not under test are drawn from them; () for one without them.

    Each result is {"metric": "attribute_accuracy/NAME", "value": mean of on and off, "on",
    "off", "ceiling" (the classifier's mean on held-out real faces), "ceiling_on",
    "ceiling_off", "num_samples", "protocol"}; the last, "attribute_accuracy/mean", averages
    each field over the attributes.
    """
    names = tuple(attribute_names)
    if not names:
        raise ConfigError("attribute_accuracy needs a conditional generator: this one was "
                          "trained without --conditional_attributes")
    if num_samples < 2:
        raise ConfigError(f"--num_samples={num_samples} is not allowed: it must be at least 2")
    classifier, info, trained = attribute_lib.load_or_train_classifier(
        workdir, real_data, names, image_size, train_images, held_out_images, epochs,
        data_key=data_key)  # the classifier's own seed stays 0: --seed changes only the noise
    first, pairs = seed * NOISE_SEED_STRIDE, num_samples // 2
    accuracy = attribute_lib.attribute_accuracy(classifier, generate, latent_dim, names,
                                                frequencies, range(first, first + pairs),
                                                combinations=combinations)
    protocol = {"classifier": "trained" if trained else "cached",
                "classifier_file": rundir.ATTRIBUTE_CLASSIFIER_FILE,
                "classifier_train_images": info["train_images"],
                "classifier_held_out_images": info["held_out_images"],
                "classifier_epochs": epochs, "threshold": attribute_lib.THRESHOLD,
                "noise_seeds": f"{first}-{first + pairs - 1}, each asked with and without",
                "other_attributes": ("drawn from the data's combinations with the asked value"
                                     if combinations else "drawn from the data's frequencies"),
                "seed": seed}
    results = []
    for name in names + ("mean",):
        if name == "mean":
            rows = results[:]
            fields = {key: float(np.mean([row[key] for row in rows])) for key in
                      ("value", "on", "off", "ceiling", "ceiling_on", "ceiling_off")}
        else:
            ceiling = info["ceiling"][name]
            fields = {"value": accuracy[name]["mean"], "on": accuracy[name]["on"],
                      "off": accuracy[name]["off"], "ceiling": ceiling["mean"],
                      "ceiling_on": ceiling["on"], "ceiling_off": ceiling["off"]}
        results.append({"metric": f"{ATTRIBUTE_ACCURACY}/{name}", **fields,
                        "num_samples": 2 * pairs, "protocol": dict(protocol)})
    return results


def _run_attribute_accuracy(generator, config: TrainConfig, workdir: str, num_samples: int,
                            seed: int, batch_size: int) -> list[dict[str, Any]]:
    """attribute_accuracy_results for a run's conditional generator: the attributes and their
    frequencies the generator keeps, the real images and labels of the run's data."""
    names = sample_lib.attribute_names_of(generator)
    count = CLASSIFIER_TRAIN_IMAGES + CLASSIFIER_HELD_OUT_IMAGES

    def real_data() -> tuple[np.ndarray, np.ndarray]:
        source = data.open_source(config)
        source.check_attributes(names)
        images = source.images(count)
        return images, source.labels(names, len(images))

    def generate(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return inference.generate(generator, z, batch_size, labels=labels)

    return attribute_accuracy_results(
        generate, int(generator.latent_dim), real_data, names,
        sample_lib.attribute_frequencies_of(generator), workdir, config.image_size, num_samples,
        seed, data_key=real_stats_key(config, count, "attribute-classifier"),
        combinations=sample_lib.attribute_combinations_of(generator))


def format_attribute_table(results: Sequence[dict[str, Any]]) -> str:
    """attribute_accuracy results as a table: attribute, asked on, asked off, mean, ceiling."""
    rows = [(r["metric"].split("/", 1)[1], r["on"], r["off"], r["value"], r["ceiling"])
            for r in results]
    width = max([len("attribute")] + [len(row[0]) for row in rows])
    lines = [f"{'attribute':<{width}}  asked on  asked off   mean  ceiling"]
    lines += [f"{name:<{width}}  {on:8.3f}  {off:9.3f}  {mean:5.3f}  {ceiling:7.3f}"
              for name, on, off, mean, ceiling in rows]
    return "\n".join(lines)


def checkpoint_counters(checkpoint_path: str) -> tuple[int, int]:
    """(step, epoch) of a checkpoint, read from its saved counters.

    epoch follows history.csv: the 1-based epoch the checkpoint belongs to (an end-of-epoch
    checkpoint of epoch e, or one saved during it), and 0 before any training.
    """
    step, epochs_done, batch = checkpointing.read_counters(checkpoint_path)
    return step, epochs_done + (1 if batch > 0 else 0)


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """The results as an aligned two-column table; test-only feature models are starred."""
    rows = []
    starred = False
    for result in results:
        test_only = result["protocol"].get("test_only", False)
        starred |= test_only
        rows.append((result["metric"] + ("*" if test_only else ""), f"{result['value']:.6g}"))
    width = max([len("metric")] + [len(name) for name, _ in rows])
    lines = [f"{'metric':<{width}}  value"] + [f"{name:<{width}}  {value}" for name, value in rows]
    if starred:
        lines.append("* computed with a custom feature model: a test value, not FID/KID")
    return "\n".join(lines)


def append_results(workdir: str, results: Sequence[dict[str, Any]], step: int, epoch: int,
                   checkpoint: str = "") -> list[dict[str, Any]]:
    """Appends RUN/metrics.jsonl: one line per result plus step, epoch, checkpoint, time (UTC).

    Appended, flushed and synced, so the file is a log of every evaluation of the run (by the
    CLI and during training alike). Returns the lines written.
    """
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    records = [{**result, "step": int(step), "epoch": int(epoch),
                "checkpoint": os.path.basename(checkpoint), "time": when} for result in results]
    with open(rundir.path(workdir, rundir.METRICS_FILE), "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return records


def evaluate_run(workdir: str, metrics: str | Sequence[str] = ("swd",), num_samples: int = 2048,
                 dataset: Optional[str] = None, data_dir: Optional[str] = None,
                 split: Optional[str] = None, inception_weights: Optional[str] = None,
                 feature_extractor=None, cache_dir: Optional[str] = None, seed: int = 0,
                 batch_size: int = 64, raw: bool = False,
                 truncation: float = 1.0, best: bool = False,
                 real: str = "run") -> list[dict[str, Any]]:
    """Evaluates a run's latest checkpoint; prints a table and appends RUN/metrics.jsonl.

    The generator measured is the run's inference generator (G's moving average when the run
    keeps one), or G itself with raw, or with best its generator_best.keras (the evaluation with
    the lowest swd_avg on the held-out images during training); each result's protocol names
    which ("generator"). A --holdout run is measured against its held-out images, as training
    measures it, unless dataset, data_dir or split name other data. real="synthetic_heldout"
    measures a synthetic run against built-in faces it never trained on
    (data.open_synthetic_heldout), as the README's figures are measured.
    attribute_accuracy needs a conditional run (ConfigError otherwise); its classifier is
    trained on the run's real images and labels once and cached in the run directory.

    dataset, data_dir and split default to the run's config.json; the other data settings
    (image size, crop) are always the run's. Each appended line is a result of
    evaluate_generator plus step, epoch, checkpoint and time (UTC). Returns those lines.
    """
    metrics = _as_metrics(metrics)
    if ATTRIBUTE_ACCURACY in metrics and check_truncation(truncation) != 1.0:
        raise ConfigError(f"--truncation={truncation} is not allowed with --metrics="
                          f"{ATTRIBUTE_ACCURACY}: it measures the generator's own noise; "
                          "truncation applies to swd, fid and kid")
    overrides = {name: value for name, value in
                 (("dataset", dataset), ("data_dir", data_dir), ("split", split)) if value}
    check_best(best, raw=raw)
    if real not in REAL_SETS:
        raise ConfigError(f"--real={real} is not allowed: use one of {', '.join(REAL_SETS)}")
    if real != "run" and overrides:
        raise ConfigError(f"--real={real} names the real images itself: leave out --dataset, "
                          f"--data_dir and --split")
    run_config = rundir.read_config(workdir).replace(**overrides)  # bad run or value: fail now
    check_attribute_accuracy(metrics, run_config, workdir)
    if real == "synthetic_heldout":
        data.open_synthetic_heldout(run_config, 1)
    if best:
        config, generator, info = checkpointing.load_best_generator(workdir)
        checkpoint, (step, epoch) = rundir.GENERATOR_BEST_FILE, (info["step"], info["epoch"])
    else:
        config, generator, checkpoint = checkpointing.load_run_generator(workdir, raw=raw)
        step, epoch = checkpoint_counters(checkpoint)
    heldout = bool(config.holdout) and not overrides
    config = config.replace(**overrides)
    image_metrics = tuple(name for name in metrics if name != ATTRIBUTE_ACCURACY)
    if real == "synthetic_heldout":
        source, heldout = data.open_synthetic_heldout(config, num_samples), False
    elif heldout:
        source = data.open_source(config).split_holdout(config.holdout)[1]
    else:
        source = None
    results = evaluate_generator(
        generator, config, image_metrics, num_samples, inception_weights=inception_weights,
        feature_extractor=feature_extractor,
        cache_dir=cache_dir or rundir.path(workdir, rundir.STATS_FOLDER), seed=seed,
        batch_size=batch_size, source=source, truncation=truncation) if image_metrics else []
    attribute_results = _run_attribute_accuracy(
        generator, config, workdir, num_samples, seed, batch_size) \
        if ATTRIBUTE_ACCURACY in metrics else []
    which = "G" if raw or not config.g_ema else "G average"
    for result in results + attribute_results:
        result["protocol"]["generator"] = f"best ({which})" if best else which
    records = append_results(workdir, results + attribute_results, step, epoch, checkpoint)
    described = config.dataset + (f":{config.split}" if config.dataset in ("celeba", "tfds")
                                   else "")
    if heldout:
        described += (f", the {source.num_examples:,} held-out images "
                      f"(--holdout={config.holdout:g})")
    elif source is not None:
        described += (f", {source.num_examples:,} built-in faces never trained on (from "
                      f"{data.SYNTHETIC_HELDOUT_START:,} on)")
    where = f"{workdir}: {os.path.basename(checkpoint)} (step {step}, epoch {epoch})"
    if results:
        count = results[0]["num_samples"]
        repeated = results[0]["protocol"].get("real_repeated")
        print(f"{where}, {count:,} generated vs {count:,} real images ({described}"
              f"{f'; repeated: {repeated}' if repeated else ''})")
        print(format_table(results))
    if attribute_results:
        protocol = attribute_results[0]["protocol"]
        print(f"{where}, {attribute_results[0]['num_samples']:,} generated images per attribute, "
              f"judged by a classifier ({protocol['classifier']}) trained on "
              f"{protocol['classifier_train_images']:,} real images ({described}); ceiling: its "
              f"accuracy on {protocol['classifier_held_out_images']:,} held-out ones")
        print(format_attribute_table(attribute_results))
    print(f"appended {len(records)} line(s) to {rundir.path(workdir, rundir.METRICS_FILE)}")
    return records
