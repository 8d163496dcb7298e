"""Listings: which files a source holds and how to decode them, before anything is decoded.

A `Listing` is what the cache needs to build a source: its files, a key naming everything the
pixels depend on, and a stream that decodes them. Here: the generic file listing and
`--dataset=folder` (any folder or zip of images, searched recursively).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile

from kerasgan.config import TrainConfig
from kerasgan.data.align import ALIGN_VERSION, aligned_dataset
from kerasgan.data.cache import CACHE_FOLDER
from kerasgan.data.decode import raw_dataset
from kerasgan.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
GET_CELEBA = ('get CelebA from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html '
              'or Kaggle "jessicali9530/celeba-dataset"')


@dataclasses.dataclass
class Listing:
    """The files of a source and how to decode them; `key` names everything the pixels depend on."""

    name: str
    root: str
    key: dict
    cache_home: str
    members: list[str] | None
    # image_size -> tf.data.Dataset of (index, uint8 image, too_small), or of (index, uint8
    # image, too_small, int8 attributes [A]) when the records themselves hold labels.
    stream: object
    # Labels by file name (CelebA's list_attr_celeba): names, and {base name: +1/-1 row}.
    attribute_names: list[str] = dataclasses.field(default_factory=list)
    attribute_rows: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    # Labels by record (TFDS): the names of the stream's 4th element, if it has one.
    stream_attribute_names: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def member(self, index: int) -> str:
        return self.members[index] if self.members is not None else f"record {index}"


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not os.path.basename(name).startswith(".")


def existing_data_dir(path: str, what: str) -> str:
    if not path:
        raise DataError(f"--data_dir is not set: pass the folder (or zip) that holds {what}; "
                        f"{GET_CELEBA}")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise DataError(f"--data_dir={path} does not exist; {GET_CELEBA}")
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise DataError(f"--data_dir={path} is a file but not a zip archive: pass a folder of "
                        f"images or a zip; {GET_CELEBA}")
    return path


def zip_images(zip_path: str) -> list[str]:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return sorted(n for n in archive.namelist() if not n.endswith("/") and _is_image(n))
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read the zip {zip_path}: {error}; {GET_CELEBA}") from None


def _walk_images(root: str) -> list[str]:
    """Image files under root, recursively, as sorted '/'-separated relative paths."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != CACHE_FOLDER and not d.startswith("."))
        rel = os.path.relpath(folder, root)
        found.extend(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
                     for name in files if _is_image(name))
    return sorted(found)


def flat_images(folder: str) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file() and _is_image(e.name))
    except OSError:
        return []


def file_listing(name: str, root: str, members: list[str], zip_path: str, crop: int,
                 min_side: int, key: dict, cache_home: str, align_faces: str = "") -> Listing:
    """A listing of image files (in a folder, or members of a zip), decoded by `raw_dataset`,
    or with `align_faces` ("largest" or "all") cut into aligned faces by `aligned_dataset`."""
    paths = members if zip_path else [os.path.join(root, m) for m in members]
    # Name, size and mtime of every file (of the zip for a zip): a file replaced in place under
    # the same name changes the key, so it never reads the old file's pixels from the cache.
    stamps = [_stamp(zip_path)] if zip_path else [_stamp(p) for p in paths]
    key = dict(key, source=zip_path or root, crop=crop, min_side=min_side,
               members=hashlib.sha1("\n".join(members).encode()).hexdigest(),
               stamps=hashlib.sha1("\n".join(stamps).encode()).hexdigest())
    if align_faces:
        key = dict(key, align=align_faces, align_version=ALIGN_VERSION)
        stream = lambda size: aligned_dataset(paths, size, align_faces, min_side,  # noqa: E731
                                              zip_path)
    else:
        stream = lambda size: raw_dataset(paths, size, crop, min_side, zip_path)  # noqa: E731
    return Listing(name=name, root=zip_path or root, key=key, cache_home=cache_home,
                   members=members, stream=stream)


def _stamp(path: str) -> str:
    try:
        stat = os.stat(path)
    except OSError:
        return "missing"  # gone since it was listed: decoding will report it unreadable
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def folder_listing(config: TrainConfig) -> Listing:
    path = existing_data_dir(config.data_dir, "the images")
    zip_path = path if os.path.isfile(path) else ""
    members = zip_images(path) if zip_path else _walk_images(path)
    if not members:
        raise DataError(f"no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found in "
                        f"{path}; {GET_CELEBA}")
    home = os.path.dirname(path) if zip_path else path
    return file_listing(f"folder:{path}", path, members, zip_path, crop=0,
                        min_side=max(1, config.image_size // 2), key={"kind": "folder"},
                        cache_home=home, align_faces=config.align_faces if config.align else "")
