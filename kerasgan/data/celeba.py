"""CelebA: its folder, zip and Kaggle layouts, partition and attribute files; TFDS celeb_a."""

from __future__ import annotations

import csv
import os
import zipfile
from typing import Sequence

import tensorflow as tf

from kerasgan.config import TrainConfig
from kerasgan.data.decode import preprocess_decoded
from kerasgan.data.listing import (GET_CELEBA, Listing, existing_data_dir, file_listing,
                                   flat_images, zip_images)
from kerasgan.errors import DataError

CELEBA_PARTITIONS = {"train": 0, "val": 1, "test": 2}

_CELEBA_FOLDERS = ("img_align_celeba/img_align_celeba", "img_align_celeba", "Img/img_align_celeba",
                   "")
_CELEBA_ZIPS = ("img_align_celeba.zip", "Img/img_align_celeba.zip")


def _find_celeba(path: str) -> tuple[str, str, list[str]]:
    """(images folder or "", zip path or "", image names) for any of the CelebA layouts."""
    if os.path.isfile(path):
        return "", path, zip_images(path)
    for sub in _CELEBA_FOLDERS:
        members = flat_images(os.path.join(path, sub))
        if members:
            return os.path.normpath(os.path.join(path, sub)), "", members
    for sub in _CELEBA_ZIPS:
        if os.path.isfile(os.path.join(path, sub)):
            zip_path = os.path.join(path, sub)
            return "", zip_path, zip_images(zip_path)
    raise DataError(f"no CelebA images in {path}: expected img_align_celeba/*.jpg, "
                    f"img_align_celeba.zip or Kaggle's img_align_celeba/img_align_celeba/*.jpg; "
                    f"{GET_CELEBA}")


def _read_metadata(stem: str, folders: Sequence[str], zip_path: str) -> str | None:
    """Text of `stem`.txt or `stem`.csv from the first folder (or the zip) that holds it."""
    for folder in folders:
        for ext in (".txt", ".csv"):
            candidate = os.path.join(folder, stem + ext)
            if os.path.isfile(candidate):
                with open(candidate, encoding="utf-8", errors="replace") as handle:
                    return handle.read()
    if zip_path:
        with zipfile.ZipFile(zip_path) as archive:
            for name in archive.namelist():
                if os.path.basename(name) in (stem + ".txt", stem + ".csv"):
                    return archive.read(name).decode("utf-8", errors="replace")
    return None


def _table(text: str) -> list[list[str]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and "," in lines[0] or len(lines) > 1 and "," in lines[1]:
        return [row for row in csv.reader(lines)]
    return [line.split() for line in lines]


def parse_partition(text: str) -> dict[str, int]:
    """list_eval_partition.txt ("000001.jpg 0") or .csv ("image_id,partition") -> {name: 0|1|2}."""
    return {row[0]: int(row[1]) for row in _table(text)
            if len(row) >= 2 and row[1].strip().lstrip("-").isdigit()}


def parse_attributes(text: str) -> tuple[list[str], dict[str, list[int]]]:
    """list_attr_celeba.txt (count line, names line, rows) or .csv -> (names, {file: +1/-1 row})."""
    rows = _table(text)
    if rows and len(rows[0]) == 1:
        rows = rows[1:]
    if not rows:
        return [], {}
    names = rows[0][1:] if rows[0][0].lower() in ("image_id", "filename", "file") else rows[0]
    table = {row[0]: [int(v) for v in row[1:]] for row in rows[1:] if len(row) == len(names) + 1}
    return names, table


def celeba_listing(config: TrainConfig) -> Listing:
    path = existing_data_dir(config.data_dir, "CelebA (img_align_celeba/ or img_align_celeba.zip)")
    images_dir, zip_path, members = _find_celeba(path)
    if not members:
        raise DataError(f"no images found in {zip_path or images_dir}; {GET_CELEBA}")
    base = os.path.dirname(zip_path) if zip_path else images_dir
    folders = list(dict.fromkeys(
        [path, os.path.join(path, "Anno"), os.path.join(path, "Eval"), base,
         os.path.dirname(base), os.path.dirname(os.path.dirname(base))]))
    partition_text = _read_metadata("list_eval_partition", folders, zip_path)
    where = zip_path or images_dir
    warnings = []
    if config.split != "all":
        if partition_text is None:
            raise DataError(f"--split={config.split} needs list_eval_partition.txt (or .csv) next "
                            f"to the CelebA images in {path}: add it, or pass --split=all to use "
                            f"every image; {GET_CELEBA}")
        wanted = CELEBA_PARTITIONS[config.split]
        partition = parse_partition(partition_text)
        members = [m for m in members if partition.get(os.path.basename(m)) == wanted]
        if not members:
            raise DataError(f"no images of --split={config.split} in {where}: "
                            f"list_eval_partition names none of them; {GET_CELEBA}")
    elif partition_text is None:
        warnings.append(f"no list_eval_partition.txt near {path}: --split=all uses every image; "
                        f"train/val/test need that file")
    listing = file_listing(f"celeba:{config.split}", where, members, zip_path, crop=config.crop,
                           min_side=config.crop, key={"kind": "celeba", "split": config.split},
                           cache_home=os.path.dirname(zip_path) if os.path.isfile(path) else path)
    attributes_text = _read_metadata("list_attr_celeba", folders, zip_path)
    if attributes_text is not None:
        listing.attribute_names, listing.attribute_rows = parse_attributes(attributes_text)
    listing.warnings = warnings
    return listing


_TFDS_SPLITS = {"train": "train", "val": "validation", "test": "test",
                "all": "train+validation+test"}
TFDS_FILES = ("img_align_celeba.zip", "list_eval_partition.txt", "list_attr_celeba.txt",
              "identity_CelebA.txt", "list_landmarks_align_celeba.txt")


def tfds_listing(config: TrainConfig) -> Listing:
    """TFDS celeb_a, prepared once into --data_dir (or TFDS's default) from the original CelebA
    files in its downloads/manual folder, then cached like the rest.

    Nothing is ever downloaded: missing files are reported before TFDS starts (offline, its
    Google Drive retries take minutes), and try_download_gcs=False keeps it off GCS. Only
    `download_and_prepare` is guarded broadly: TFDS raises many kinds there (checksum, archive,
    disk), and all of them mean "these are not the original files".

    The 40 attributes live in the records (as booleans), not beside file names: the stream
    yields them as +1/-1 rows and the cache keeps them with the images."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError("--dataset=tfds needs tensorflow-datasets: pip install 'kerasgan[tfds]', "
                        "or use --dataset=celeba with the CelebA files; " + GET_CELEBA) from None
    data_dir = os.path.abspath(os.path.expanduser(
        config.data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")))
    builder = tfds.builder("celeb_a", data_dir=data_dir)
    manual_dir = os.path.join(data_dir, "downloads", "manual")
    if not builder.is_prepared():
        missing = [f for f in TFDS_FILES if not os.path.isfile(os.path.join(manual_dir, f))]
        if missing:
            found = ("none is there" if len(missing) == len(TFDS_FILES)
                     else "missing: " + ", ".join(missing))
            raise DataError(f"TFDS celeb_a is not prepared in {data_dir} and is never downloaded: "
                            f"put the original CelebA files {', '.join(TFDS_FILES)} in "
                            f"{manual_dir} ({found}); or use --dataset=celeba "
                            f"--data_dir=FOLDER_WITH_THEM; {GET_CELEBA}")
        try:
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
                manual_dir=manual_dir, try_download_gcs=False))
        except Exception as error:
            raise DataError(f"TFDS celeb_a could not be prepared in {data_dir} from {manual_dir} "
                            f"({type(error).__name__}): it needs the original, byte-identical "
                            f"{', '.join(TFDS_FILES)}; or use --dataset=celeba "
                            f"--data_dir=FOLDER_WITH_THEM; {GET_CELEBA}") from None
    split = _TFDS_SPLITS[config.split]
    crop = config.crop

    features = builder.info.features
    names = list(features["attributes"].keys()) if "attributes" in features else []

    def stream(size: int) -> tf.data.Dataset:
        records = builder.as_dataset(split=split, shuffle_files=False)
        with_labels = bool(names) and "attributes" in records.element_spec

        def decode(index, example):
            image, too_small = preprocess_decoded(example["image"], size, crop, crop)
            if not with_labels:
                return index, image, too_small
            has = tf.stack([example["attributes"][name] for name in names])
            return index, image, too_small, tf.where(has, tf.constant(1, tf.int8),
                                                     tf.constant(-1, tf.int8))

        return records.enumerate().map(decode, num_parallel_calls=tf.data.AUTOTUNE,
                                       deterministic=True)

    # "attributes": caches written before the labels were kept are not reused.
    key = {"kind": "tfds", "source": data_dir, "split": config.split, "crop": crop,
           "version": str(builder.info.version), "attributes": True}
    return Listing(name=f"tfds:celeb_a:{config.split}", root=data_dir, key=key,
                   cache_home=data_dir, members=None, stream=stream,
                   stream_attribute_names=names)
