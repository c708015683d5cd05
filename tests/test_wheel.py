"""The course as a wheel, installed in a fresh virtual environment and used outside the
repository exactly as the README's Colab cell says (about two minutes: most of it installs
PyTorch and the course's dependencies into the new environment)."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import checks
from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, REPO

pytestmark = pytest.mark.slow

ASSIGNMENT = "a1_linear"


def working_tree_files():
    """The files of the working tree that git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split("\0")
    return [name for name in listed if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the working tree so that no build folder is left in it."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = scratch / "source"
    for name in working_tree_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(scratch / "dist"), "."], cwd=source, check=True, capture_output=True)
    [built] = (scratch / "dist").glob("*.whl")
    return built


def clean_environment(venv):
    """The environment of a shell with ``venv`` activated and nothing of this repository."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    ours = str(Path(sys.prefix) / "bin")
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry != ours]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel):
    """A fresh virtual environment (no system site packages) with PyTorch and the wheel."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
           "--disable-pip-version-check"]
    env = clean_environment(venv)
    for what in (["torch==2.13.0"], [str(wheel)]):  # torch pinned first, as the README says
        done = subprocess.run(pip + what, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    return venv


def test_wheel_holds_every_module_and_every_release(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("autograder", "course"):
        for path in (REPO / package).rglob("*.py"):
            assert str(path.relative_to(REPO)) in names, path
    for assignment_id in ASSIGNMENT_MODULES:
        released = [p for p in (ASSIGNMENTS / assignment_id).rglob("*") if p.is_file()
                    and p.suffix in (".py", ".ipynb") and "__pycache__" not in p.parts]
        assert released
        for path in released:
            assert f"autograder/releases/{path.relative_to(ASSIGNMENTS)}" in names, path
    assert not any(name.startswith(("solutions/", "assignments/")) for name in names)


def readme_colab_cell():
    """The lines of the README's Colab cell."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Colab and JupyterHub"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1).splitlines()


def run_cells(python, cells, folder, env):
    """Run ``cells`` in a Jupyter kernel of ``python`` started in ``folder``; return the
    text each cell printed."""
    driver = (
        "import json, sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "cells, folder = json.loads(sys.argv[1]), sys.argv[2]\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])\n"
        "NotebookClient(nb, kernel_name='python3', timeout=300,\n"
        "               resources={'metadata': {'path': folder}}).execute()\n"
        "print(json.dumps([''.join(o.get('text', '') for o in c.outputs) for c in nb.cells]))\n")
    done = subprocess.run([str(python), "-c", driver, json.dumps(cells), str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_readme_colab_cell_and_check_work_outside_the_repository(venv, tmp_path):
    env = clean_environment(venv)
    python = venv / "bin" / "python"
    colab = readme_colab_cell()
    assert colab[0].startswith("!pip install ")  # done above, with the wheel just built
    assert colab[1:] == [f"!autograder fetch {ASSIGNMENT}", f"%cd {ASSIGNMENT}"]
    notebook = json.loads((ASSIGNMENTS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    setup = next("".join(cell["source"]) for cell in notebook["cells"]
                 if "Checker(" in "".join(cell["source"]))
    where = ("import autograder, minidl\n"
             "print(autograder.__file__)\nprint(minidl.__file__)\n"
             "try:\n    check('softmax.value')\n"
             "except AssertionError as failure:\n    print(failure)\n")
    outputs = run_cells(python, ["\n".join(colab[1:]), setup, where], tmp_path, env)

    fetched = tmp_path / ASSIGNMENT
    assert f"copied {ASSIGNMENT} to {fetched}" in outputs[0]
    installed, student_code, verdict = outputs[2].splitlines()
    assert Path(installed).is_relative_to(venv) and not Path(installed).is_relative_to(REPO)
    assert Path(student_code) == fetched / "minidl" / "__init__.py"
    assert verdict.startswith("softmax.value: not implemented yet")

    done = subprocess.run(["autograder", "check", ASSIGNMENT, "--submission", ASSIGNMENT,
                           "--json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    full = checks.load(ASSIGNMENT)
    assert (report["score"], report["max_score"]) == (0, full.max_score)
    assert [c["name"] for c in report["checks"]] == [part.name for part in full.parts]
    assert all(c["outcome"] == "failed" for c in report["checks"])  # hidden parts run too

    again = subprocess.run(["autograder", "fetch", ASSIGNMENT], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (fetched / "minidl" / "linear.py").read_text() == (
        ASSIGNMENTS / ASSIGNMENT / "minidl" / "linear.py").read_text()
