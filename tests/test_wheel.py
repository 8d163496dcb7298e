"""The wheel a release would ship holds every file of the package, and its metadata the
dependencies and licence pyproject declares (docs/development.md: building and installing it)."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_file_of_the_package(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "kerasgan", source / "kerasgan",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
                           str(source)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PIP_NO_INDEX="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel_path,) = (tmp_path / "dist").glob("kerasgan-*.whl")
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
    package = {path.relative_to(source).as_posix() for path in (source / "kerasgan").rglob("*")
               if path.is_file()}
    assert package and package <= names, sorted(package - names)
    assert not [n for n in names if n.startswith(("tests/", "experiments/", "notebooks/"))]
    for requirement in ("tensorflow", "keras", "numpy", "scipy", "matplotlib", "pillow", "tqdm",
                        "absl-py"):
        assert f"Requires-Dist: {requirement}" in metadata
    assert "Apache-2.0" in metadata
    assert any(n.endswith("LICENSE") for n in names)
