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
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def notebooks():
    """(label, a function that returns the path to execute) for every notebook."""
    found = [(str(path.relative_to(REPO)), lambda path=path: path)
             for path in sorted((REPO / "lectures").glob("*.ipynb"))]
    for assignment_id in ASSIGNMENT_MODULES:
        if (ASSIGNMENTS / assignment_id).is_dir():
            def solved(assignment_id=assignment_id):
                folder = Path(tempfile.mkdtemp()) / assignment_id
                return write_solved(assignment_id, folder) / f"{assignment_id}.ipynb"
            found.append((f"{assignment_id} (solved)", solved))
    return found


def run(quick, progress):
    lines = ["| notebook | seconds |", "|---|---|"]
    for label, path in notebooks()[: steps(quick)]:
        lines.append(f"| {label} | {execute_seconds(path()):.1f} |")
        progress()
    return lines


def steps(quick):
    return 1 if quick else len(notebooks())
