"""The preprocessed cache: images.u8 (raw uint8 rows) + manifest.json, written last.

A listing whose stream also yields per-record attribute labels (TFDS celeb_a: its records, not
file names, hold them) gets attributes.i8 too (int8 +1/-1 rows of the kept images), named in the
manifest's "attribute_names".

The first `load_or_build` of a listing decodes every file once and writes the survivors; later
ones memory-map them. Processes that ask at once build it once (an flock beside the folder).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
from typing import TYPE_CHECKING

import numpy as np

from kerasgan.errors import DataError

if TYPE_CHECKING:
    from kerasgan.data.listing import Listing

# What a listing's stream says about each record (its third element; True/False from a stream
# that can only say "too small"): kept, skipped and why, or kept as one of several faces found
# in one picture (--align). A picture may give several records (--align_faces=all).
KEPT, TOO_SMALL, NO_FACE, ONE_OF_SEVERAL = 0, 1, 2, 3
SKIP_REASONS = {TOO_SMALL: "too small", NO_FACE: "no face found"}

CACHE_FOLDER = "kerasgan_cache"
CACHE_VERSION = 3  # 3: the key holds each file's size and mtime
_DECODE_BATCH = 256

log = logging.getLogger(__name__)


def load_or_build(listing: Listing, image_size: int,
                  cache_dir: str = "") -> tuple[dict, np.ndarray, np.ndarray | None]:
    """(manifest, uint8 [count, S, S, 3] images memory-mapped from the cache, int8 [count, A]
    attribute rows or None) of `listing` at `image_size`; the cache is built first (by one
    process) where it is missing or incomplete. It lives in `cache_dir`, else in CACHE_FOLDER
    under the listing's cache home. Attribute rows come only from a stream that yields them
    (Listing.stream_attribute_names); CelebA's file-name rows are the listing's own."""
    parent = (os.path.abspath(os.path.expanduser(cache_dir)) if cache_dir
              else os.path.join(listing.cache_home, CACHE_FOLDER))
    key = dict(listing.key, image_size=image_size, version=CACHE_VERSION)
    folder = cache_folder(listing.key, image_size, parent, listing.name)
    manifest = (_read_manifest(folder, key, image_size)
                or _build_cache_once(listing, image_size, folder, key))
    shape = (manifest["count"], image_size, image_size, 3)
    names = manifest.get("attribute_names", [])
    attributes = (np.fromfile(os.path.join(folder, "attributes.i8"), np.int8).reshape(
        manifest["count"], len(names)) if names else None)
    if not manifest["count"]:
        return manifest, np.zeros(shape, np.uint8), attributes
    images = np.memmap(os.path.join(folder, "images.u8"), np.uint8, "r", shape=shape)
    return manifest, images, attributes


def cache_folder(listing_key: dict, image_size: int, parent: str, name: str) -> str:
    """The cache folder for one (source, split, crop, size, file list): a changed setting never
    finds a stale cache, because every one of them is in the folder's hash."""
    key = dict(listing_key, image_size=image_size, version=CACHE_VERSION)
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() else "_" for c in name.split(":/")[0].split(":")[0] + "_"
                   + str(listing_key.get("split", "all")))
    return os.path.join(parent, f"{slug}_{image_size}px_{digest}")


def _read_manifest(folder: str, key: dict, image_size: int) -> dict | None:
    """The manifest of a complete cache for `key`, or None (absent, half-written or foreign)."""
    try:
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
        size = os.path.getsize(os.path.join(folder, "images.u8"))
        names = manifest.get("attribute_names", [])
        labels_size = os.path.getsize(os.path.join(folder, "attributes.i8")) if names else 0
    except (OSError, ValueError, AttributeError):
        return None
    count = manifest.get("count", -1)
    if (manifest.get("key") != key or size != count * image_size ** 2 * 3
            or labels_size != count * len(names)):
        return None
    return manifest


def _build_cache(listing: Listing, image_size: int, folder: str, key: dict) -> dict:
    """Decodes every file once; writes the usable ones and the manifest (last, atomically)."""
    if os.path.isdir(folder):
        log.warning("rebuilding the incomplete image cache %s", folder)
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.makedirs(folder, exist_ok=True)
        kept, skipped_codes, several, seen = [], [], set(), 0
        partial = os.path.join(folder, "images.u8.partial")
        labels_partial = os.path.join(folder, "attributes.i8.partial")
        log.info("caching %s at %d px into %s", listing.name, image_size, folder)
        batches = listing.stream(image_size).batch(_DECODE_BATCH)
        with_labels = len(batches.element_spec) == 4  # (index, image, too_small, attributes)
        with open(partial, "wb") as out, open(labels_partial, "wb") as labels_out:
            for index, images, status, *labels in batches.as_numpy_iterator():
                status = status.astype(np.int8)
                keep = (status == KEPT) | (status == ONE_OF_SEVERAL)
                out.write(np.ascontiguousarray(images[keep]).tobytes())
                if with_labels:
                    labels_out.write(np.ascontiguousarray(labels[0][keep], np.int8).tobytes())
                kept.extend(index[keep].tolist())
                skipped_codes.extend(zip(index[~keep].tolist(), status[~keep].tolist()))
                several.update(index[status == ONE_OF_SEVERAL].tolist())
                seen += len(index)
                if seen // 10000 != (seen - len(index)) // 10000:
                    log.info("cached %d images", seen)
        os.replace(partial, os.path.join(folder, "images.u8"))
        if with_labels:
            os.replace(labels_partial, os.path.join(folder, "attributes.i8"))
        else:
            os.remove(labels_partial)
        found = set(kept) | {i for i, _ in skipped_codes}
        total = len(listing.members) if listing.members is not None else len(found)
        skipped = sorted([(i, "unreadable") for i in range(total) if i not in found]
                         + [(i, SKIP_REASONS[code]) for i, code in skipped_codes])
        manifest = {"key": key, "name": listing.name, "count": len(kept), "total": total,
                    "kept": kept, "skipped": skipped, "several_faces": sorted(several),
                    "attribute_names": list(listing.stream_attribute_names) if with_labels else []}
        with open(os.path.join(folder, "manifest.json.partial"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle)
        os.replace(os.path.join(folder, "manifest.json.partial"),
                   os.path.join(folder, "manifest.json"))
    except OSError as error:
        raise _cache_write_error(folder, error) from None
    return manifest


def _build_cache_once(listing: Listing, image_size: int, folder: str, key: dict) -> dict:
    """The manifest of the cache, built by exactly one of the processes that ask at once.

    An exclusive flock on FOLDER.lock (beside the cache folder) elects the builder; the others
    wait for it with a printed message, then read what it published. The builder removes the
    lock file when done, so a waiter that wakes on a removed file and still finds no cache (its
    builder failed) locks the current file and tries again. Where the filesystem has no flock
    (some network filesystems) each process builds on its own, as before.
    """
    lock_path = folder + ".lock"
    waited = False
    while True:
        try:
            os.makedirs(os.path.dirname(folder), exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise _cache_write_error(folder, error) from None
        try:
            locked = _lock(fd)
            if not locked and locked is not None:
                if not waited:
                    print(f"waiting for another process to build the image cache {folder}",
                          flush=True)
                    waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            manifest = _read_manifest(folder, key, image_size)
            if manifest is not None:
                return manifest
            if locked is not None and not _same_file(fd, lock_path):
                continue
            manifest = _build_cache(listing, image_size, folder, key)
            with contextlib.suppress(OSError):
                os.remove(lock_path)
            return manifest
        finally:
            os.close(fd)


def _lock(fd: int) -> bool | None:
    """Tries an exclusive flock: True if taken, False if another process holds it, None where
    the filesystem does not support flock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            return None
        raise


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _cache_write_error(folder: str, error: OSError) -> DataError:
    return DataError(f"cannot write the image cache in {folder} ({error.strerror or error}): "
                     f"pass --cache_dir=A_WRITABLE_FOLDER")

