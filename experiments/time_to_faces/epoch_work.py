"""What the per-epoch work costs on a tiny folder, every epoch against --epoch_work_share=0.1.

    PYTHONPATH=. python experiments/time_to_faces/epoch_work.py [--epochs=50]

The case of a user's small folder: 101 face photos (64x64 JPEGs, here synthetic faces) at 32 px with
`--preset=dcgan64 --image_size=32 --batch_size=16`, a 6-step epoch. Each run ends with the
trainer's own line, `time: training X s, per-epoch work ... Y s = Z %`, printed here side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
from PIL import Image

TIME_LINE = re.compile(r"^time: .*$", re.M)


def write_folder(folder: str, count: int = 101) -> None:
    from kerasgan import data
    os.makedirs(folder, exist_ok=True)
    for index, face in enumerate(data.synthetic_faces(np.arange(count), 64)):
        Image.fromarray(face).save(os.path.join(folder, f"face_{index:03d}.jpg"), quality=92)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--outdir", default="/tmp/epoch_work")
    args = parser.parse_args()
    shutil.rmtree(args.outdir, ignore_errors=True)
    folder = os.path.join(args.outdir, "faces")
    write_folder(folder)
    rows = []
    for share in ("1", "0.1"):
        command = [sys.executable, "-m", "kerasgan.train", "--preset=dcgan64", "--image_size=32",
                   "--batch_size=16", "--dataset=folder", f"--data_dir={folder}",
                   f"--cache_dir={args.outdir}/cache", f"--epochs={args.epochs}",
                   f"--epoch_work_share={share}", f"--workdir={args.outdir}/run_{share}"]
        print("$", " ".join(["python", *command[1:]]), flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode:
            sys.exit(done.stderr[-2000:])
        grids = len(os.listdir(os.path.join(args.outdir, f"run_{share}", "samples")))
        rows.append((share, wall, grids, TIME_LINE.search(done.stdout).group(0)))
    print(f"\n101 images, 32 px, batch 16: 6 steps an epoch, {args.epochs} epochs")
    print("| --epoch_work_share | wall s | sample grids written | trainer's time line |")
    print("|---|---:|---:|---|")
    for share, wall, grids, line in rows:
        print(f"| {share} | {wall:.0f} | {grids} | {line} |")


if __name__ == "__main__":
    main()
