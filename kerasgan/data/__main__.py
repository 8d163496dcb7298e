"""python -m kerasgan.data --dataset=D --data_dir=P [--preview=FILE.png]: open a dataset as
training would, print its report and warnings, optionally write a grid of preprocessed samples.

`cli` and `plots` are higher modules than `data`, so they are imported only when this runs.
"""

from __future__ import annotations

from typing import Sequence

from kerasgan.data.source import open_source, preview_images


def main(argv: Sequence[str]) -> None:
    """Opens the dataset as training would, prints its report, optionally writes a preview."""
    from absl import flags

    from kerasgan import cli, plots

    config = cli.config_from_flags()
    source = open_source(config)
    print(f"{source.name}: {source.report()}")
    for warning in source.warnings:
        print(f"warning: {warning}")
    if flags.FLAGS.preview:
        plots.save_image_grid(preview_images(source), flags.FLAGS.preview)
        print(f"preview: {flags.FLAGS.preview}")


if __name__ == "__main__":
    from absl import flags as _flags

    from kerasgan import cli as _cli

    _cli.define_config_flags()
    _flags.DEFINE_string("preview", "", "write a PNG grid of preprocessed samples to this file")
    _cli.run(main)
