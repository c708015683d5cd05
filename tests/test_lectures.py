"""Lecture notebooks: all nine exist, are linked from the start page, carry their widget,
figures and check-yourself answers, never touch the solutions, and run offline in time.
Every notebook in the course folders is stored without outputs."""
import ast
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from test_notebooks import execute

from autograder.layout import REPO

LECTURES = REPO / "lectures"
EXPECTED_LECTURES = [
    "01_linear_classifiers.ipynb",
    "02_losses.ipynb",
    "03_backpropagation.ipynb",
    "04_automatic_differentiation.ipynb",
    "05_initialization.ipynb",
    "06_normalization.ipynb",
    "07_optimization.ipynb",
    "08_generalization.ipynb",
    "09_convolutional_networks.ipynb",
]
# Seconds a lecture may take to run top to bottom.
TIME_LIMIT = 60
# Lectures use numpy, PyTorch and `course`, never the assignments' library or the grader.
FORBIDDEN_MODULES = {"minidl", "solutions", "autograder", "assignments"}
NOTEBOOK_FOLDERS = ["lectures", "solutions", "assignments", "course"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")


def lecture_paths():
    return sorted(LECTURES.glob("*.ipynb"))


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def python_source(source):
    """A code cell's source without IPython magics and shell escapes, for `ast`."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def imported_modules(source):
    """Top-level names of the modules a code cell imports."""
    names = set()
    for node in ast.walk(ast.parse(python_source(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    # importlib.import_module("minidl") and __import__("minidl") are imports too.
    names.update(re.findall(r"(?:import_module|__import__)\(\s*['\"](\w+)", source))
    return names


def images(notebook):
    """How many images a run notebook shows, in cell outputs or in Output widgets."""
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    state = notebook.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for model in state.values():
        outputs += model.get("state", {}).get("outputs", []) or []
    return sum(1 for output in outputs if any(kind in output.get("data", {})
                                              for kind in IMAGE_TYPES))


def test_the_nine_lectures_exist():
    present = [path.name for path in lecture_paths()]
    missing = [name for name in EXPECTED_LECTURES if name not in present]
    assert not missing, f"missing lecture notebooks in lectures/: {missing}"


@pytest.mark.parametrize("name", EXPECTED_LECTURES)
def test_start_page_links_the_lecture(name):
    start = read(REPO / "course" / "start.ipynb")
    text = "\n".join(cell.source for cell in start.cells)
    link = f"../lectures/{name}"
    assert f"]({link})" in text, f"course/start.ipynb does not link {link}"


def test_every_lecture_is_linked_and_every_lecture_link_resolves():
    start = read(REPO / "course" / "start.ipynb")
    text = "\n".join(cell.source for cell in start.cells)
    links = re.findall(r"\]\((\.\./lectures/[^)\s]+)\)", text)
    assert links, "course/start.ipynb links no lecture"
    # JupyterLab resolves a link by its path relative to the notebook's folder.
    targets = {link: Path(os.path.normpath(REPO / "course" / link)) for link in links}
    for link, target in targets.items():
        assert target.is_file(), f"start page link {link} leads nowhere"
    for path in lecture_paths():
        assert path in targets.values(), f"course/start.ipynb does not link lectures/{path.name}"


@pytest.mark.parametrize("path", lecture_paths(), ids=lambda path: path.stem)
def test_lecture_has_widget_cell_and_check_yourself_answers(path):
    notebook = read(path)
    tagged = [cell for cell in code_cells(notebook) if "widget" in cell.metadata.get("tags", [])]
    assert tagged, f"{path.name}: no code cell carries the tag 'widget'"
    assert any(re.search(r"\binteract(ive)?\b|\bwidgets\.", cell.source) for cell in tagged), (
        f"{path.name}: the cell tagged 'widget' makes no ipywidgets interaction")
    answers = [cell for cell in notebook.cells
               if cell.cell_type == "markdown" and "<details>" in cell.source]
    assert answers, f"{path.name}: no <details> check-yourself answer"


@pytest.mark.parametrize("path", lecture_paths(), ids=lambda path: path.stem)
def test_lecture_names_the_python3_kernel(path):
    # Without it JupyterLab asks which kernel to start, and nbclient may pick another.
    assert read(path).metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", lecture_paths(), ids=lambda path: path.stem)
def test_lecture_never_imports_the_solutions_or_the_grader(path):
    for index, cell in enumerate(code_cells(read(path))):
        imported = imported_modules(cell.source) & FORBIDDEN_MODULES
        assert not imported, f"{path.name}, code cell {index}: imports {sorted(imported)}"
        assert "sys.path" not in cell.source, (
            f"{path.name}, code cell {index}: changes sys.path (lectures import installed "
            "packages only)")


def course_notebooks():
    return sorted(path for folder in NOTEBOOK_FOLDERS for path in (REPO / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in path.parts)


@pytest.mark.parametrize("path", course_notebooks(),
                         ids=lambda path: str(path.relative_to(REPO)))
def test_notebook_is_stored_without_outputs(path):
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"code cell {index} has outputs"
            assert cell["execution_count"] is None, f"code cell {index} has an execution count"
    assert "widgets" not in notebook.get("metadata", {}), "the notebook stores widget state"


@pytest.mark.slow
@pytest.mark.parametrize("path", lecture_paths(), ids=lambda path: path.stem)
def test_lecture_runs_offline_top_to_bottom_in_time(path, monkeypatch):
    # Anything that tries to download (urllib, requests, pip) goes to a closed port instead.
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    notebook, seconds = execute(path, timeout=TIME_LIMIT * 2)
    assert seconds <= TIME_LIMIT, f"{path.name} took {seconds:.0f} s (limit {TIME_LIMIT} s)"
    assert images(notebook) >= 1, f"{path.name} shows no figure"
    tagged = [cell for cell in code_cells(notebook) if "widget" in cell.metadata.get("tags", [])]
    assert any(WIDGET_VIEW in output.get("data", {}) for cell in tagged
               for output in cell.outputs), f"{path.name}: the 'widget' cell displays no widget"
