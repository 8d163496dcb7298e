"""The explorer's web page (Gradio): controls wired to an explore_lib.Explorer.

`build_page(explorer)` returns the gr.Blocks; `launch(page, explorer, host, port)` serves it.
Every handler turns a KerasganError (a bad seed, ψ, frame count, a checkpoint training has
deleted) into a message shown in the page (gr.Error), so the page keeps working; the values the
browser sends are checked by the Explorer and never used as file paths. Images are shown
enlarged by whole-pixel repeats, so 32 px faces stay crisp.
"""

from __future__ import annotations

import functools
import os
import secrets

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from kerasgan import images as images_lib  # noqa: E402
from kerasgan.errors import ConfigError, KerasganError  # noqa: E402
from kerasgan.explore_lib import (ATTRIBUTE_CHOICES, AS_IN_DATA, MAX_FRAMES, MAX_GRID,  # noqa: E402
                                  MAX_SEED, MAX_SWEEP_ROWS, upscale)

FACE_SIDE = 256  # the face is shown at least this large
TILE_SIDE = 96  # strip and sweep tiles (the grid's are sent as they are; the browser enlarges them)
# Images the browser enlarges stay crisp (nearest neighbour), as the server's enlargements are.
CSS = "img { image-rendering: pixelated; }"
# System fonts: the default theme's web fonts would be fetched from the internet.
_THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                    font_mono=["ui-monospace", "monospace"])


def _shown(handler):
    """Runs a page handler; a user error (KerasganError) or any other failure becomes a
    one-line message in the page instead of a traceback."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except KerasganError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception as error:  # the page must survive anything; the server log keeps it
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise gr.Error(f"could not draw that: {message}") from error

    return run


def _checkpoint_choices(explorer) -> list[tuple[str, str]]:
    return [(f"epoch {epoch} · step {step:,}", str(step))
            for step, epoch in reversed(explorer.checkpoints())]


def grid_picture(tiles: np.ndarray, ncols: int) -> np.ndarray:
    """Tiles as one image (sample's grid layout), each tile enlarged to TILE_SIDE."""
    return images_lib.image_grid(upscale(tiles, TILE_SIDE), ncols=ncols)


def build_page(explorer) -> gr.Blocks:
    """The page: a face by seed with ψ and attributes, a grid, an interpolation, an attribute
    sweep (conditional runs) and the run's history."""
    names = explorer.names

    def attribute_choices(values) -> dict[str, str]:
        return dict(zip(names, values))

    @_shown
    def draw_face(seed, psi, *choices):
        attributes = attribute_choices(choices)
        return (upscale(explorer.face(seed, psi, attributes), FACE_SIDE),
                explorer.sample_command(seed, psi, attributes))

    @_shown
    def random_seed():
        return secrets.randbelow(MAX_SEED + 1)

    @_shown
    def draw_grid(start, count, psi, *choices):
        tiles, seeds = explorer.grid(start, count, psi, attribute_choices(choices))
        return [(image, f"seed {seed}") for image, seed in zip(tiles, seeds)], seeds

    @_shown
    def pick_from_grid(seeds, event: gr.SelectData):
        if not seeds or event.index is None or not 0 <= int(event.index) < len(seeds):
            raise ConfigError("draw the grid again, then pick a face")
        return seeds[int(event.index)]

    @_shown
    def draw_interpolation(seed_a, seed_b, frames, psi, *choices):
        tiles, gif = explorer.interpolation(seed_a, seed_b, frames, psi,
                                            attribute_choices(choices))
        return grid_picture(tiles, len(tiles)), gif

    @_shown
    def draw_sweep(attribute, start, rows, psi, *choices):
        tiles = explorer.sweep(attribute, start, rows, psi, attribute_choices(choices))
        return grid_picture(tiles, 2)

    @_shown
    def refresh_history():
        choices = _checkpoint_choices(explorer)
        files = explorer.history_files()
        return (gr.update(choices=choices, value=choices[0][1] if choices else None),
                files["losses"], files["progression"])

    @_shown
    def draw_history(step, seed, psi, *choices):
        if step in (None, ""):
            raise ConfigError("no checkpoint chosen: refresh the list and pick one")
        attributes = attribute_choices(choices)
        return (upscale(explorer.history_face(seed, step, psi, attributes), FACE_SIDE),
                explorer.sample_command(seed, psi, attributes, step=int(step)))

    natural = [AS_IN_DATA] * len(names)
    history = bool(explorer.workdir)

    @_shown
    def draw_current(seed, *rest):
        """The face and, with a run's history, the same seed at the chosen checkpoint: one
        listener per control, since Gradio re-fired a Number's change event for seconds (some
        30 requests a keystroke) when two listened to it. A history face that cannot be drawn
        leaves a warning, not the face."""
        if seed is None:  # an empty box while a seed is being typed: nothing to draw yet
            return tuple(gr.update() for _ in range(4 if history else 2))
        if not history:
            return draw_face(seed, *rest)
        step, *rest = rest
        shown = draw_face(seed, *rest)
        if step in (None, ""):
            return (*shown, gr.update(), gr.update())
        try:
            return (*shown, *draw_history(step, seed, *rest))
        except gr.Error as error:
            gr.Warning(error.message)
            return (*shown, gr.update(), gr.update())

    first_face, first_command = draw_face(0, 1.0, *natural)
    first_grid, first_seeds = draw_grid(0, 16, 1.0, *natural)
    with gr.Blocks(title="kerasgan explorer", analytics_enabled=False) as page:
        gr.Markdown(f"## kerasgan explorer\n{explorer.describe()}")
        with gr.Row():
            with gr.Column(scale=1):
                # No bounds here: the Explorer's own check gives the clearer message.
                seed = gr.Number(value=0, label=f"seed (0 to {MAX_SEED:,})", precision=0,
                                 elem_id="seed")
                random_button = gr.Button("random seed", elem_id="random-seed")
                psi = gr.Slider(0.05, 1.0, value=1.0, step=0.05, elem_id="truncation",
                                label="truncation ψ (1 = off; lower: more typical, less varied)")
                attribute_radios = [gr.Radio(list(ATTRIBUTE_CHOICES), value=AS_IN_DATA, label=name)
                                    for name in names]
            with gr.Column(scale=2):
                face = gr.Image(first_face, label="face", format="png", interactive=False,
                                height=FACE_SIDE + 40, elem_id="face", buttons=["download"])
                command = gr.Textbox(first_command, label="the same face from the command line",
                                     interactive=False, elem_id="command")
        shared = [psi, *attribute_radios]
        with gr.Tabs():
            with gr.Tab("grid"):
                with gr.Row():
                    grid_start = gr.Number(value=0, label="first seed", precision=0,
                                           elem_id="grid-start")
                    grid_count = gr.Slider(1, MAX_GRID, value=16, step=1, label="faces",
                                           elem_id="grid-count")
                    grid_button = gr.Button("draw grid", elem_id="draw-grid")
                grid_seeds = gr.State(first_seeds)
                gallery = gr.Gallery(first_grid, label="click a face to make it the current one",
                                     columns=8, format="png", allow_preview=False, elem_id="grid",
                                     buttons=[])
            with gr.Tab("interpolation"):
                with gr.Row():
                    seed_a = gr.Number(value=0, label="seed A", precision=0)
                    seed_b = gr.Number(value=1, label="seed B", precision=0)
                    frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label="frames")
                    walk_button = gr.Button("interpolate", elem_id="interpolate")
                strip = gr.Image(label="from A to B", format="png", interactive=False,
                                 buttons=["download"], elem_id="strip")
                gif = gr.File(label="GIF", interactive=False)
            if names:
                with gr.Tab("attribute sweep"):
                    with gr.Row():
                        sweep_attribute = gr.Dropdown(list(names), value=names[0],
                                                      label="attribute")
                        sweep_start = gr.Number(value=0, label="first seed", precision=0)
                        sweep_rows = gr.Slider(1, MAX_SWEEP_ROWS, value=4, step=1, label="rows")
                        sweep_button = gr.Button("sweep")
                    sweep = gr.Image(label="a row per seed: off (left), on (right)",
                                     format="png", interactive=False, buttons=["download"])
            with gr.Tab("history"):
                if history:
                    with gr.Row():
                        kept = _checkpoint_choices(explorer)
                        checkpoint = gr.Dropdown(kept, value=kept[0][1] if kept else None,
                                                 label="kept checkpoint", elem_id="checkpoint")
                        refresh_button = gr.Button("refresh (a run still training adds more)")
                    with gr.Row():
                        with gr.Column():
                            then_face = gr.Image(label="the current seed at that checkpoint",
                                                 format="png", interactive=False,
                                                 height=FACE_SIDE + 40, buttons=["download"])
                            then_command = gr.Textbox(label="the same face from the command line",
                                                      interactive=False)
                        with gr.Column(scale=2):
                            losses = gr.Image(label="losses", type="filepath", interactive=False,
                                              buttons=["fullscreen"], height=FACE_SIDE + 40)
                        progression = gr.Image(label="the grid's seeds, epoch by epoch",
                                               type="filepath", interactive=False,
                                               buttons=["fullscreen"], height=FACE_SIDE + 40)
                else:
                    gr.Markdown("An exported .keras file has no history: explore a run directory "
                                "(`--workdir`) to see its checkpoints.")

        # Every event goes through Gradio's queue: a message raised by a direct (queue=False)
        # call never reaches the page.
        quiet = dict(show_progress="hidden", trigger_mode="always_last")
        current_inputs = [seed, *([checkpoint] if history else []), *shared]
        current_outputs = [face, command, *([then_face, then_command] if history else [])]
        seed.change(draw_current, current_inputs, current_outputs, api_name="face", **quiet)
        for trigger in (psi.release, *(radio.change for radio in attribute_radios)):
            trigger(draw_current, current_inputs, current_outputs, api_visibility="undocumented",
                    **quiet)
        random_button.click(random_seed, None, seed, api_name="random_seed")
        grid_button.click(draw_grid, [grid_start, grid_count, *shared], [gallery, grid_seeds],
                          api_name="grid")
        gallery.select(pick_from_grid, grid_seeds, seed, api_visibility="undocumented")
        walk_button.click(draw_interpolation, [seed_a, seed_b, frames, *shared], [strip, gif],
                          api_name="interpolation")
        if names:
            sweep_button.click(draw_sweep, [sweep_attribute, sweep_start, sweep_rows, *shared],
                               sweep, api_name="sweep")
        if history:
            refresh_button.click(refresh_history, None, [checkpoint, losses, progression],
                                 api_name="checkpoints")
            page.load(refresh_history, None, [checkpoint, losses, progression],
                      api_visibility="undocumented")
            checkpoint.change(draw_history, [checkpoint, seed, *shared],
                              [then_face, then_command], api_name="history", **quiet)
    return page


def launch(page: gr.Blocks, explorer, host: str = "127.0.0.1", port: int = 7860,
           block: bool = True) -> str:
    """Serves the page on host:port (never a public share link) and returns its address; with
    block, waits until Ctrl+C. ConfigError when the port is taken."""
    try:
        _, url, _ = page.launch(
            server_name=host, server_port=port, share=False, quiet=True, show_error=True,
            prevent_thread_lock=True, allowed_paths=[explorer.tempdir], ssr_mode=False,
            mcp_server=False, pwa=False, footer_links=[],
            theme=gr.themes.Default(**_THEME_FONTS), css=CSS)
    except OSError as error:
        raise ConfigError(f"--port={port} cannot be used on {host}: "
                          f"{str(error).splitlines()[0]} (choose another --port)") from None
    address = url or f"http://{host}:{port}/"
    if block:
        print(f"kerasgan explorer: {address}  (Ctrl+C stops it)", flush=True)
        try:
            page.block_thread()
        finally:
            page.close()
            explorer.close()
    return address
