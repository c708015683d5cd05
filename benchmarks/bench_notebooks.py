"""Execution time of every lecture notebook and every solved assignment notebook."""
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, REPO
from autograder.release import write_solved


def execute_seconds(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    # nbclient imitates the Output widget by sending on the kernel's shell channel while it
    # waits for the cell's reply there, and then sometimes misses the reply until the timeout
    # (jupyter/nbclient#312). Without the imitation, an Output widget's content is not
    # recorded, and nothing else changes.
    client.widget_registry = {}
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def notebooks(scratch):
    """(label, path) of every notebook: solved assignments (written under ``scratch``)
    first, then lectures."""
    found = []
    for assignment_id in ASSIGNMENT_MODULES:
        if (ASSIGNMENTS / assignment_id).is_dir():
            folder = write_solved(assignment_id, Path(scratch) / assignment_id)
            found.append((f"{assignment_id} (solved)", folder / f"{assignment_id}.ipynb"))
    found += [(str(path.relative_to(REPO)), path)
              for path in sorted((REPO / "lectures").glob("*.ipynb"))]
    return found


def run(quick, progress):
    lines = ["| notebook | seconds |", "|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        for label, path in notebooks(scratch)[: steps(quick)]:
            lines.append(f"| {label} | {execute_seconds(path):.1f} |")
            progress()
    return lines


def steps(quick):
    lectures = len(list((REPO / "lectures").glob("*.ipynb")))
    assignments = sum((ASSIGNMENTS / a).is_dir() for a in ASSIGNMENT_MODULES)
    return 1 if quick else assignments + lectures
