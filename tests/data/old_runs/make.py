"""Writes the run directories in this folder: kerasgan's files as the code of 2026-12-01 (before
networks/ became a package) wrote them, so tests/test_old_runs.py can prove that later code
still loads, samples and resumes them. Kept to show how they were made; re-running it with newer
code would defeat its purpose.

    python tests/data/old_runs/make.py
"""

import json
import os
import shutil

import numpy as np

from kerasgan import config as config_lib, sample_lib, train_lib

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = {
    # The README's quick32 recipe shrunk to 16 px: dcgan, spectral norm in D, hinge, G's average.
    "dcgan16": dict(preset="quick32", image_size=16, latent_dim=8, channels=16, batch_size=8,
                    steps_per_epoch=2, epochs=1, num_synthetic=32, num_grid_samples=4),
    # The reference family, conditional on two attributes (projection D, concat in G).
    "seed16_conditional": dict(image_size=16, latent_dim=8, channels=16, batch_size=8,
                               dataset="synthetic", steps_per_epoch=2, epochs=1,
                               num_synthetic=32, num_grid_samples=4,
                               conditional_attributes="Smiling,Pale_Skin"),
}
SEEDS = [0, 1, 2, 3]


def main():
    for name, values in RUNS.items():
        workdir = os.path.join(HERE, name)
        shutil.rmtree(workdir, ignore_errors=True)
        preset = values.pop("preset", "")
        config = config_lib.make_config(preset, **values, workdir=workdir)
        train_lib.train_and_evaluate(config)
        for folder in ("samples", "plots", "tensorboard", "generated"):
            shutil.rmtree(os.path.join(workdir, folder), ignore_errors=True)
        for extra in ("history.csv", "model_summary.txt", "metrics.jsonl"):
            if os.path.exists(os.path.join(workdir, extra)):
                os.remove(os.path.join(workdir, extra))
        with open(os.path.join(workdir, "checkpoints", "checkpoint")) as file:
            state = file.read()
        # The state file names checkpoints by absolute path; keep only the names.
        with open(os.path.join(workdir, "checkpoints", "checkpoint"), "w") as file:
            file.write(state.replace(os.path.join(workdir, "checkpoints") + os.sep, ""))
        # What the code of the day drew for these seeds, to compare against later.
        images = sample_lib.generate(
            sample_lib.checkpointing.load_generator(os.path.join(workdir, "generator.keras")),
            SEEDS, labels=None if "conditional" not in name else np.tile(
                np.array([[1.0, 0.0]], np.float32), (len(SEEDS), 1)))
        np.save(os.path.join(workdir, "expected_seeds_0-3.npy"),
                (np.asarray(images) * 127.5 + 127.5).round().astype(np.uint8))
        with open(os.path.join(workdir, "made_by.json"), "w") as file:
            json.dump({"script": "tests/data/old_runs/make.py", "date": "2026-12-01",
                       "seeds": SEEDS, "labels": "Smiling=1,Pale_Skin=0 for the conditional run"},
                      file)


if __name__ == "__main__":
    main()
