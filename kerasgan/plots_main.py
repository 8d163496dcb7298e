"""Redraw a run's figures from its files: `python -m kerasgan.plots --workdir=RUN`.

The entry point behind that command (kerasgan.plots itself is a library and hands over to
`run()` here when executed as a module). Prints the path of every file written.
"""

from __future__ import annotations

from typing import Sequence

from absl import flags

from kerasgan import cli, plots


def main(argv: Sequence[str]) -> None:
    del argv
    for path in plots.redraw(flags.FLAGS.workdir):
        print(path)


def run() -> None:
    """Defines --workdir and runs main with the CLI's one-line errors."""
    flags.DEFINE_string("workdir", None, "run directory to redraw (holds history.csv, samples/)")
    flags.mark_flag_as_required("workdir")
    cli.run(main)


if __name__ == "__main__":
    run()
