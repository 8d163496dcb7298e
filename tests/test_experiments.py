"""The benchmark and profiling scripts under experiments/ still run and print what docs quote."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_train_quick_ends_with_the_summary_line():
    out = _run("bench_train.py", "--quick")
    assert re.search(r"\| kerasgan step \(--jit_compile=auto, --mixed_precision=auto: XLA False, "
                     r"float32\) \| [0-9.]+ \|", out), out
    last = out.strip().splitlines()[-1]
    values = re.fullmatch(r"speedup_vs_kerasio=([0-9.]+) speedup_vs_tutorial=([0-9.]+) "
                          r"peak_fraction=([0-9.]+)", last)
    assert values and all(float(v) > 0 for v in values.groups()), last


def test_profile_step_splits_the_op_time_by_kind():
    out = _run("profile_step.py", "--image_size=16", "--batch_size=8", "--steps=2")
    shares = [float(x) for x in re.findall(r"^  (?:conv|batch norm|activation|other)\s+[0-9.]+ ms\s+"
                                           r"([0-9.]+)%", out, re.M)]
    assert len(shares) == 4 and abs(sum(shares) - 100) < 0.5, out
    ratio = float(re.search(r"\(ratio ([0-9.]+)\)", out).group(1))
    assert 1.0 < ratio < 1.5


def test_bench_conv_layers_times_every_discriminator_convolution():
    out = _run("bench_conv_layers.py", "--image_size=16", "--batch_size=4", "--repeats=1")
    rows = re.findall(r"^\s+(\d+)x\d+\s+(\d+) -> (\d+)\s+forward\s+[0-9.]+\s+input grad\s+[0-9.]+"
                      r"\s+filter grad\s+[0-9.]+$", out, re.M)
    assert [(int(s), int(a), int(b)) for s, a, b in rows] == [(16, 3, 64), (8, 64, 128)], out
    assert "sub-pixel" in out and "padded to 16 channels" in out


def test_bench_checkpoint_times_saves_and_the_share_of_a_run():
    out = _run("bench_checkpoint.py", "--image_size=16", "--arch=dcgan", "--batch_size=4",
               "--saves=2", "--steps=1")
    assert re.search(r"^dcgan 16px: checkpoint [0-9.]+ MiB, first save [0-9.]+ s, median of 2 "
                     r"later saves [0-9.]+ s", out, re.M), out
    assert re.search(r"^train step \(batch 4\): [0-9.]+ s; defaults save every \d+ s", out, re.M)
    assert re.search(r"^GPU step of 30 ms: defaults save every 15 s: [0-9.]+ % of the run$", out,
                     re.M), out
