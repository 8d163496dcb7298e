"""CI runs every notebooks/*.ipynb top to bottom, in quick mode, and fails if any cell raises.

Each notebook runs in a temporary copy of notebooks/ (the committed outputs are never touched),
with KERASGAN_NOTEBOOK_QUICK=1 in its kernel's environment: the notebooks read it in their
parameters cell and shrink to a tiny run. The kernel is a `python3` ipykernel spec written into
a temporary folder for sys.executable, so a fresh virtual environment needs only the `test`
extra's nbclient, nbformat and ipykernel, and a `python3` kernel installed elsewhere on the
machine (another Python, another venv) is never picked up. The harness's own tests run the
fixtures in tests/data: one that must pass and one whose cell raises, which must fail.
"""

import glob
import hashlib
import os
import shutil
import sys

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
QUICK_ENV = "KERASGAN_NOTEBOOK_QUICK"
CELL_TIMEOUT_S = 600


def run_notebook(path, workdir, kernel_dir):
    """Executes the notebook at `path` with cwd `workdir`; returns it with its outputs.

    Raises nbclient's CellExecutionError (naming the cell and its traceback) when a cell raises.
    """
    notebook = nbformat.read(path, as_version=4)
    python_path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    write_kernel_spec(os.path.join(kernel_dir, "python3"), overrides={
        "env": {QUICK_ENV: "1", "PYTHONPATH": python_path, "TF_CPP_MIN_LOG_LEVEL": "2"}})
    manager = KernelManager(kernel_name="python3",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernel_dir]))
    assert manager.kernel_spec.argv[0] == sys.executable, manager.kernel_spec.argv
    client = NotebookClient(notebook, km=manager, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def _digest(path):
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def _copy(source, folder):
    os.makedirs(folder, exist_ok=True)
    return shutil.copy(source, folder)


def _stdout(notebook):
    return "".join(output.get("text", "") for cell in notebook.cells
                   for output in cell.get("outputs", []) if output.get("name") == "stdout")


@pytest.mark.parametrize("name", [os.path.basename(p) for p in NOTEBOOKS] or ["(none found)"])
def test_notebook_runs_top_to_bottom_in_quick_mode(name, tmp_path):
    assert NOTEBOOKS, (f"no notebooks found: {os.path.join(ROOT, 'notebooks', '*.ipynb')} "
                       "matched nothing, so CI would execute none")
    copy = tmp_path / "notebooks"
    shutil.copytree(os.path.join(ROOT, "notebooks"), copy)
    before = _digest(os.path.join(ROOT, "notebooks", name))
    run_notebook(str(copy / name), copy, str(tmp_path / "kernels"))
    assert _digest(os.path.join(ROOT, "notebooks", name)) == before


def test_the_harness_runs_a_notebook_quick_with_this_python_in_a_copy(tmp_path):
    fixture = os.path.join(DATA, "smoke.ipynb")
    before = _digest(fixture)
    copy = _copy(fixture, tmp_path / "copy")
    out = _stdout(run_notebook(copy, tmp_path / "copy", str(tmp_path / "kernels")))
    assert f"executable {sys.executable}\n" in out
    assert "quick True 16\n" in out
    assert f"kerasgan {os.path.join(ROOT, 'kerasgan', '__init__.py')}\n" in out
    assert "backend module://matplotlib_inline.backend_inline\n" in out  # kerasgan left it alone
    assert (tmp_path / "copy" / "written_by_smoke.txt").read_text() == str(tmp_path / "copy")
    assert _digest(fixture) == before
    assert not os.path.exists(os.path.join(DATA, "written_by_smoke.txt"))


def test_the_harness_fails_when_a_cell_raises(tmp_path):
    copy = _copy(os.path.join(DATA, "failing.ipynb"), tmp_path / "copy")
    with pytest.raises(CellExecutionError, match="deliberate failure in a notebook cell"):
        run_notebook(copy, tmp_path / "copy", str(tmp_path / "kernels"))
