"""A quiet start: the entry points show none of TensorFlow's C++ start-up lines unless asked."""

import os
import re
import subprocess
import sys

from kerasgan import quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What TensorFlow's C++ start-up lines look like: absl's notice, then severity-prefixed records,
# "I0000 00:00:..." (absl, TF 2.21) or "2026-12-02 19:25:20.857449: I ..." (TF 2.20).
CPP_LINE = re.compile(r"All log messages before absl::InitializeLog\(\)"
                      r"|^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ "
                      r"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] ")
IMPORT_AND_PROBE = ("import kerasgan, tensorflow as tf; tf.config.list_physical_devices(); "
                    "print(tf.constant(2) * 3)")


def _run(args, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERASGAN_QUIET_START")}
    env.update(env_changes)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


def _cpp_lines(stderr):
    return [line for line in stderr.splitlines() if CPP_LINE.search(line)]


def test_verbose_shows_tensorflows_lines_again():
    done = _run(["-c", IMPORT_AND_PROBE, "--verbose"])
    assert done.returncode == 0, done.stderr
    assert _cpp_lines(done.stderr), done.stderr  # this machine's TensorFlow prints some


def test_an_entry_point_starts_quietly():
    """python -m kerasgan.data imports TensorFlow and runs ops (so it probes for a GPU too)."""
    done = _run(["-m", "kerasgan.data", "--dataset=synthetic", "--num_synthetic=32",
                 "--image_size=16"])
    assert done.returncode == 0, done.stderr
    assert "32 usable" in done.stdout + done.stderr
    assert _cpp_lines(done.stderr) == [], done.stderr


def test_a_python_error_during_the_quiet_import_is_still_shown():
    done = _run(["-c", "import kerasgan, sys; sys.modules['tensorflow.python'] = None; "
                       "import tensorflow"])
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr


def test_who_asked_for_the_lines():
    assert not quiet.logs_asked_for(["train"], {})
    assert quiet.logs_asked_for(["train", "--verbose"], {})
    assert quiet.logs_asked_for(["train"], {"TF_CPP_MIN_LOG_LEVEL": "0"})
    # A level set by install in a parent process is not the user's.
    assert not quiet.logs_asked_for(["train"], {"TF_CPP_MIN_LOG_LEVEL": "3",
                                                "KERASGAN_QUIET_START": "1"})


def test_both_formats_of_tensorflows_lines_are_recognised():
    assert _cpp_lines("I0000 00:00:1796238541.457114     657 cpu_feature_guard.cc:227] x\n"
                      "2026-12-02 19:25:20.857449: I external/cudart_stub.cc:31] y\n"
                      "E0000 00:00:1.2 1 cuda_platform.cc:51] failed call to cuInit\n"
                      "epoch 1/16 done (step 1024)\n") == [
        "I0000 00:00:1796238541.457114     657 cpu_feature_guard.cc:227] x",
        "2026-12-02 19:25:20.857449: I external/cudart_stub.cc:31] y",
        "E0000 00:00:1.2 1 cuda_platform.cc:51] failed call to cuInit"]
