"""Notebooks run top to bottom offline, as a student runs them."""
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import checks
from autograder.layout import REPO
from conftest import ASSIGNMENT_IDS


def execute(path, timeout):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    # nbclient imitates the Output widget by sending on the kernel's shell channel while it
    # waits for the cell's reply there, and then sometimes misses the reply until the timeout
    # (jupyter/nbclient#312). Without the imitation, an Output widget's content is not
    # recorded, and nothing else changes.
    client.widget_registry = {}
    start = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - start


def outputs_text(notebook):
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            plain = output.get("data", {}).get("text/plain", "")
            texts.append(output.get("text", "") or str(plain))
    return "\n".join(texts)


# Seconds each solved notebook may take on a 2-core machine.
TIME_LIMITS = {"a1_linear": 120}


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_solved_notebook_runs_top_to_bottom_in_time(assignment_id, solved_submission):
    notebook, seconds = execute(solved_submission(assignment_id) / f"{assignment_id}.ipynb",
                                timeout=600)
    limit = TIME_LIMITS.get(assignment_id, 180)
    assert seconds <= limit, f"{assignment_id} took {seconds:.0f} s (limit {limit} s)"
    passes = outputs_text(notebook).count("PASS ")
    # A student's notebook has the visible checks; the hidden ones run at grading time.
    assert passes == sum(part.visible for part in checks.load(assignment_id).parts)
    images = sum(1 for cell in notebook.cells for output in cell.get("outputs", [])
                 if "image/png" in output.get("data", {}))
    assert images >= 4


def test_start_page_links_every_released_assignment():
    start = nbformat.read(REPO / "course" / "start.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in start.cells)
    for notebook in sorted((REPO / "assignments").glob("*/*.ipynb")):
        link = f"../assignments/{notebook.parent.name}/{notebook.name}"
        assert link in text
        assert (REPO / "course" / link).resolve() == notebook.resolve()
