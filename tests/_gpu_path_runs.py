"""Run as a script (tests/test_gpu_path.py does): `_gpu_path_runs.py OUTDIR PRESET...` trains the
tiny run of each preset in test_gpu_path.RUNS into OUTDIR/PRESET, one after the other, and writes
OUTDIR/PRESET.json: how the run ended, how its GAN was compiled and what it draws. A run that
raises writes its traceback there instead, and the next run goes on.

Its own process so that the test can train two halves of the matrix at once: a run is mostly
tracing and XLA compiling, which use one core each.
"""

import json
import os
import sys
import traceback

import numpy as np

from kerasgan import gan as gan_lib, train_lib
from test_gpu_path import run_config


def summary(config):
    result = train_lib.train_and_evaluate(config)
    gan = result.gan
    images = gan.generate(gan_lib.fixed_noise(config, 4),
                          gan_lib.fixed_labels(config, gan.attribute_frequencies, 4))
    return dict(status=result.status, step=result.step, epoch=result.epoch,
                jit_compile=gan.jit_compile, precision=gan.precision,
                compute_dtype=gan.generator.compute_dtype,
                loss_scaled=bool(gan.loss_scale_variables()),
                images_dtype=str(images.dtype), images_finite=bool(np.isfinite(images).all()),
                images_range=[float(images.min()), float(images.max())])


def main(outdir, presets):
    for preset in presets:
        try:
            report = summary(run_config(preset, os.path.join(outdir, preset)))
        except Exception:  # noqa: BLE001 - the test shows the traceback for this preset
            report = dict(error=traceback.format_exc())
        with open(os.path.join(outdir, f"{preset}.json"), "w") as f:
            json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
