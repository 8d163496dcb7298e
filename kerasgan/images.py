"""Image grids and animated GIFs: NHWC batches as uint8 tiles, tiled into one picture that can be
cut apart again, or played as frames.

The fixed-noise grids in samples/ are saved by save_image_grid, which stores the layout inside the
PNG so that load_grid_tiles (the progression figures, the collapse check on resume) can cut any
saved grid back into its tiles. Everything is written atomically.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zlib
from typing import Any, Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from kerasgan.fileio import write_atomic

GRID_PADDING = 2
GRID_PAD_VALUE = 0
# The grid layout travels inside the PNG (a standard tEXt chunk) so progression.png can cut the
# tiles back out of any saved grid, whatever its tile size or column count.
_GRID_KEY = b"kerasgan:grid"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def to_uint8(images: Any) -> np.ndarray:
    """NHWC images as uint8 with 3 channels; floats are taken to be in [-1, 1]."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"expected a non-empty NHWC batch of images, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.nan_to_num(array.astype(np.float32), nan=0.0)
        array = np.clip(np.round((array + 1.0) * 127.5), 0, 255).astype(np.uint8)
    channels = array.shape[-1]
    if channels == 1:
        array = np.repeat(array, 3, axis=-1)
    elif channels == 4:
        array = array[..., :3]
    elif channels != 3:
        raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")
    return array


def grid_columns(count: int) -> int:
    """The default column count: the smallest square that holds `count` tiles."""
    return max(1, math.ceil(math.sqrt(count)))


def image_grid(images: Any, ncols: int | None = None) -> np.ndarray:
    """Tiles a batch into one uint8 HxWx3 image, GRID_PADDING pixels around and between tiles."""
    tiles = to_uint8(images)
    count, height, width, _ = tiles.shape
    ncols = min(ncols or grid_columns(count), count)
    nrows = math.ceil(count / ncols)
    pad = GRID_PADDING
    grid = np.full((pad + nrows * (height + pad), pad + ncols * (width + pad), 3),
                   GRID_PAD_VALUE, dtype=np.uint8)
    for index, tile in enumerate(tiles):
        top = pad + (index // ncols) * (height + pad)
        left = pad + (index % ncols) * (width + pad)
        grid[top:top + height, left:left + width] = tile
    return grid


def save_image_grid(images: Any, path: str, ncols: int | None = None) -> None:
    """Saves image_grid(images) as a PNG that remembers its layout (see load_grid_tiles)."""
    tiles = to_uint8(images)
    count, height, width, _ = tiles.shape
    ncols = min(ncols or grid_columns(count), count)
    png = tf.io.encode_png(image_grid(tiles, ncols)).numpy()
    layout = {"count": count, "ncols": ncols, "tile_height": height, "tile_width": width,
              "padding": GRID_PADDING}
    write_atomic(path, _with_text_chunk(png, _GRID_KEY, json.dumps(layout).encode("latin-1")))


def load_grid_tiles(path: str) -> np.ndarray:
    """Cuts a grid PNG written by save_image_grid back into its NHWC uint8 tiles."""
    with open(path, "rb") as file:
        png = file.read()
    grid = tf.io.decode_png(png, channels=3).numpy()
    text = _read_text_chunk(png, _GRID_KEY)
    layout = json.loads(text) if text is not None else _guess_layout(grid)
    pad, height, width = layout["padding"], layout["tile_height"], layout["tile_width"]
    ncols = layout["ncols"]
    tiles = []
    for index in range(layout["count"]):
        top = pad + (index // ncols) * (height + pad)
        left = pad + (index % ncols) * (width + pad)
        tiles.append(grid[top:top + height, left:left + width])
    return np.stack(tiles)


def _with_text_chunk(png: bytes, key: bytes, text: bytes) -> bytes:
    body = key + b"\0" + text
    chunk = (struct.pack(">I", len(body)) + b"tEXt" + body
             + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF))
    end_of_header = len(_PNG_SIGNATURE) + 8 + 13 + 4
    return png[:end_of_header] + chunk + png[end_of_header:]


def _read_text_chunk(png: bytes, key: bytes) -> str | None:
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        if kind == b"IDAT":
            return None
        body = png[offset + 8:offset + 8 + length]
        if kind == b"tEXt" and body.startswith(key + b"\0"):
            return body[len(key) + 1:].decode("latin-1")
        offset += 12 + length
    return None


def _guess_layout(grid: np.ndarray) -> dict[str, int]:
    """For grids saved elsewhere: the smallest square tile whose padding lines are all padding.

    Smaller candidates would put padding lines through real tiles, which are rarely all padding.
    """
    pad = GRID_PADDING
    rows_h, cols_w = grid.shape[0] - pad, grid.shape[1] - pad
    for side in range(2, min(rows_h, cols_w) - pad + 1):
        step = side + pad
        if rows_h % step or cols_w % step:
            continue
        lines_r = np.concatenate([np.arange(r, r + pad) for r in range(0, grid.shape[0], step)])
        lines_c = np.concatenate([np.arange(c, c + pad) for c in range(0, grid.shape[1], step)])
        if (grid[lines_r] == GRID_PAD_VALUE).all() and (grid[:, lines_c] == GRID_PAD_VALUE).all():
            ncols, nrows = cols_w // step, rows_h // step
            return {"count": ncols * nrows, "ncols": ncols, "tile_height": side,
                    "tile_width": side, "padding": pad}
    return {"count": 1, "ncols": 1, "tile_height": grid.shape[0], "tile_width": grid.shape[1],
            "padding": 0}


# ---------------------------------------------------------------------------------------------
# Animated GIFs (Pillow's writer: each frame gets its own adaptive 256-colour palette).

def resize_tiles(tiles: np.ndarray, max_side: int = 0, min_side: int = 0) -> np.ndarray:
    """uint8 NHWC tiles shrunk by an integer factor (box average) until the longer side is at most
    max_side, or enlarged by an integer factor (nearest) until it is at least min_side."""
    side = max(tiles.shape[1], tiles.shape[2])
    if max_side and side > max_side:
        factor = math.ceil(side / max_side)
        count, height, width, channels = tiles.shape
        height, width = height // factor * factor, width // factor * factor
        blocks = tiles[:, :height, :width].reshape(count, height // factor, factor,
                                                   width // factor, factor, channels)
        return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)
    if min_side and side < min_side:
        factor = math.ceil(min_side / side)
        return tiles.repeat(factor, axis=1).repeat(factor, axis=2)
    return tiles


def encode_gif(frames: Sequence[np.ndarray], frame_ms: int = 150, last_frame_ms: int = 0,
               loop: int = 0) -> bytes:
    """An animated GIF of equally sized uint8 HxWx3 frames: frame_ms each (the last one
    last_frame_ms when given), repeated forever (loop=0)."""
    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    pictures = [Image.fromarray(np.asarray(frame, np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=256) for frame in frames]
    durations = [frame_ms] * len(pictures)
    durations[-1] = last_frame_ms or frame_ms
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=durations, loop=loop, disposal=1)
    return buffer.getvalue()


def save_gif(frames: Sequence[np.ndarray], path: str, frame_ms: int = 150,
             last_frame_ms: int = 0) -> None:
    """encode_gif(frames, ...) written atomically to path."""
    write_atomic(path, encode_gif(frames, frame_ms, last_frame_ms))
