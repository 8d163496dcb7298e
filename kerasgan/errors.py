"""Errors whose message is meant for the user: the command-line tools print it as one line."""


class KerasganError(Exception):
    """Base class: a problem the user can fix (bad flag, missing data, incompatible run)."""


class ConfigError(KerasganError, ValueError):
    """A config value is out of range; the message names the flag and what is allowed."""


class DataError(KerasganError):
    """The data cannot be read as asked: missing folder, no images, missing partition file."""


class RunError(KerasganError):
    """The run directory cannot be used as asked: mismatched config, no checkpoint, bad file."""


class MetricError(KerasganError):
    """A metric cannot be computed as asked: missing Inception weights, mismatched sets,
    bad range."""
