"""Command-line plumbing shared by the entry points: flags generated from TrainConfig,
one-line errors."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable, Iterable

from absl import app, flags, logging

from kerasgan import config as config_lib
from kerasgan.errors import KerasganError

flags.DEFINE_bool("verbose", False, "show TensorFlow's C++ start-up and log lines (hidden unless "
                  "this flag or TF_CPP_MIN_LOG_LEVEL is set)")

_DEFINE = {int: flags.DEFINE_integer, float: flags.DEFINE_float, str: flags.DEFINE_string,
           bool: flags.DEFINE_bool}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def define_config_flags(exclude: Iterable[str] = (), flag_values=flags.FLAGS) -> None:
    """Defines one absl flag per TrainConfig field, with the field's default and help."""
    skip = set(exclude)
    for field in dataclasses.fields(config_lib.TrainConfig):
        if field.name in skip:
            continue
        kind = _TYPES[field.type] if isinstance(field.type, str) else field.type
        _DEFINE[kind](field.name, field.default, field.metadata.get("help", ""),
                      flag_values=flag_values)


def explicit_flag_values(flag_values=flags.FLAGS) -> dict[str, Any]:
    """The TrainConfig fields the user set on the command line (not absl's defaults)."""
    names = {f.name for f in dataclasses.fields(config_lib.TrainConfig)}
    return {name: flag_values[name].value for name in names
            if name in flag_values and flag_values[name].present}


def config_from_flags(flag_values=flags.FLAGS) -> config_lib.TrainConfig:
    """Preset values first, then every explicitly given flag on top."""
    explicit = explicit_flag_values(flag_values)
    preset = explicit.pop("preset", "")
    return config_lib.make_config(preset, **explicit)


def run(main: Callable[[list[str]], Any]) -> None:
    """absl.app.run, with user errors printed as one line on stderr and exit status 2."""

    def guarded(argv: list[str]) -> Any:
        logging.set_verbosity(logging.WARNING)
        if len(argv) > 1:
            raise app.UsageError(f"unexpected argument(s): {' '.join(argv[1:])}")
        try:
            return main(argv)
        except KerasganError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)
