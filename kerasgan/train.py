"""Train a face GAN: flags -> TrainConfig -> train_and_evaluate.

    python -m kerasgan.train --preset=quick32       # built-in faces, minutes on a CPU
    python -m kerasgan.train --image_size=128 --epochs=105 --data_dir=PATH_TO_CELEBA
    python -m kerasgan.train --preset=dcgan64 --data_dir=PATH_TO_CELEBA

Re-running a command resumes its run directory; flags not given are taken from its config.json.
"""

import os
import sys

from absl import flags

from kerasgan import cli, rundir
from kerasgan.config import make_config

cli.define_config_flags()
flags.adopt_module_key_flags(cli)  # --help lists the TrainConfig flags, not only --overwrite
flags.DEFINE_bool("overwrite", False, "move an existing run directory aside and start afresh")
FLAGS = flags.FLAGS


def _multi_worker(strategy: str) -> bool:
    """Whether the run may be one of several workers (distribute.make_strategy decides)."""
    return strategy == "multi_worker" or (strategy == "auto" and "TF_CONFIG" in os.environ)


def main(argv):
    overrides = cli.explicit_flag_values()
    preset = overrides.pop("preset", "")
    # Bad values, and a run another trainer holds, fail here, before TensorFlow loads (seconds).
    # Workers of one multi-worker run share the directory, and only the chief takes the lock.
    config = make_config(preset, **overrides)
    if not _multi_worker(config.strategy):
        rundir.RunLock(config.resolved_workdir()).check_free()
    from kerasgan import train_lib

    config = train_lib.resolve_config(preset, overrides, fresh=FLAGS.overwrite)
    result = train_lib.train_and_evaluate(config, overwrite=FLAGS.overwrite)
    sys.exit(result.exit_code)


if __name__ == "__main__":
    cli.run(main)
