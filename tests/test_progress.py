"""`autograder status` and `check.all()`: score, parts passed and the next thing to do."""
import shutil
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import checks
from autograder.framework import Result, failed, grader_error
from autograder.layout import ASSIGNMENTS
from autograder.progress import next_step

A1 = checks.load("a1_linear")

# hinge_loss returns the summed loss, not the mean: hinge_loss value (2 points, visible),
# edge cases (2) and matches_naive (1) fail, so 30 of 35 points and 18 of 21 parts.
SUMMED_HINGE = ("\n_reference_hinge = hinge_loss\n"
                "def hinge_loss(scores, y, margin=1.0):\n"
                "    loss, d = _reference_hinge(scores, y, margin)\n"
                "    return loss * len(y), d\n")


def status(*args, cwd):
    return subprocess.run(["autograder", "status", *map(str, args), "--device", "cpu"],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def course_folder(tmp_path_factory, solved_a1):
    """A student's folder after `autograder fetch` of two assignments: a1 with a bug, a2
    untouched."""
    root = tmp_path_factory.mktemp("student")
    linear = shutil.copytree(solved_a1, root / "a1_linear") / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + SUMMED_HINGE)
    shutil.copytree(ASSIGNMENTS / "a2_backprop", root / "a2_backprop")
    (root / "notes").mkdir()  # not an assignment folder: ignored
    return root


def test_status_shows_each_assignment_found_here(course_folder):
    done = status(cwd=course_folder)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["a1_linear", "score", "30/35,", "18/21", "parts", "passed"]
    assert lines[1].strip().startswith("next: hinge_loss.value: ")
    assert "average over the batch" in lines[1]
    a2_parts = len(checks.load("a2_backprop").parts)
    assert lines[2].split() == ["a2_backprop", "score", "0/40,", f"0/{a2_parts}", "parts",
                                "passed"]
    first = checks.load("a2_backprop").parts[0].name
    assert f"next: {first}: not implemented yet" in lines[3]
    assert "isolated by bwrap" in done.stdout or "isolated by rlimits" in done.stdout


def test_status_of_one_finished_assignment_folder_is_done(solved_a1, tmp_path):
    done = status(solved_a1, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["a1_linear  score 35/35, 21/21 parts passed",
                                            "           next: done"]


def test_status_without_assignment_folders_is_a_clear_error(tmp_path):
    done = status(tmp_path, cwd=tmp_path)
    assert done.returncode == 2 and "no assignment folders" in done.stderr


def passing(part):
    return Result(part.name, part.points, part.points, True, "", "passed")


def test_next_step_names_only_visible_parts():
    hidden = next(part for part in A1.parts if not part.visible)
    results = [failed(part, "wrong") if part is hidden else passing(part) for part in A1.parts]
    assert next_step(A1, results) == "done"  # a hidden part's verdict waits for grading
    visible = [part for part in A1.parts if part.visible][2]
    results = [grader_error(part, "the sandbox did not start") if part is visible
               else passing(part) for part in A1.parts]
    assert next_step(A1, results) == (f"{visible.name}: grader error (not your code): the "
                                      "sandbox did not start")


def run_check_all(folder):
    """Run `check.all()` in a notebook kernel started in ``folder``; return its output."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('from autograder.notebook import Checker\n'
                                  'check = Checker("a1_linear", device="cpu")'),
        nbformat.v4.new_code_cell("check.all()"),
    ])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return "".join(output.get("text", "") for output in notebook.cells[1].outputs)


def test_check_all_in_the_notebook_lists_every_part(course_folder):
    text = run_check_all(course_folder / "a1_linear")
    rows = {line.split()[1]: line.split()[0] for line in text.splitlines()
            if line.split() and line.split()[0] in ("PASS", "FAIL")}
    assert set(rows) == {part.name for part in A1.parts}
    assert {name for name, mark in rows.items() if mark == "FAIL"} == {
        "hinge_loss.value", "hinge_loss.edge_cases", "hinge_loss.matches_naive"}
    assert "a1_linear: score 30/35, 18/21 parts passed" in text
    assert "next: hinge_loss.value: " in text and "average over the batch" in text


def test_check_all_on_the_untouched_release_points_at_the_first_part(tmp_path):
    text = run_check_all(shutil.copytree(ASSIGNMENTS / "a1_linear", tmp_path / "a1_linear"))
    assert "score 0/35, 0/21 parts passed" in text
    assert "next: softmax.value: not implemented yet" in text
