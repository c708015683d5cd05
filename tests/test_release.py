"""The release: generated from solutions/, up to date, stubbed, free of solution code."""
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import checks, release
from autograder.framework import Assignment
from autograder.layout import ASSIGNMENTS, REFERENCE_MINIDL, SOLUTIONS
from autograder.release import (
    ReleaseError,
    check_release,
    fill_grade_cells,
    find_leaks,
    grade_cell_order_problems,
    grade_cell_problems,
    release_source,
)
from conftest import ASSIGNMENT_IDS

# Each stubbed function of the a1 release with a valid call, and the same call with bad labels.
LINEAR_CALLS = {
    "softmax": "linear.softmax(np.zeros((2, 3)))",
    "softmax_loss_naive": "linear.softmax_loss_naive(np.zeros((2, 3)), np.array([0, 1]))",
    "softmax_loss": "linear.softmax_loss(np.zeros((2, 3)), np.array([0, 1]))",
    "hinge_loss_naive": "linear.hinge_loss_naive(np.zeros((2, 3)), np.array([0, 1]))",
    "hinge_loss": "linear.hinge_loss(np.zeros((2, 3)), np.array([0, 1]))",
    "l2_penalty": "linear.l2_penalty(np.ones((2, 3)), 0.1)",
    "LinearClassifier.loss_and_grad":
        "linear.LinearClassifier(3, 2).loss_and_grad(np.zeros((2, 3)), np.array([0, 1]))",
    "LinearClassifier.fit": "linear.LinearClassifier(3, 2).fit(np.zeros((2, 3)), [0, 1])",
    "LinearClassifier.predict": "linear.LinearClassifier(3, 2).predict(np.zeros((2, 3)))",
}


def test_committed_release_is_up_to_date_and_leak_free():
    assert check_release("a1_linear") == []


def test_stub_replaces_regions_and_names_the_function():
    source = (
        "class Model:\n"
        "    def fit(self, X):\n"
        "        X = check(X)\n"
        "        ### BEGIN SOLUTION\n"
        "        secret = X.sum()\n"
        "        return secret\n"
        "        ### END SOLUTION\n"
    )
    stubbed = release_source(source, "linear.py", "a1_linear")
    assert "secret" not in stubbed and "BEGIN SOLUTION" not in stubbed
    assert "        X = check(X)\n        # YOUR CODE HERE\n" in stubbed
    assert "NotImplementedError('Model.fit: write it (see its docstring and a1_linear" in stubbed
    for solved in (release_source(source, "linear.py", "a1_linear", solved=True),
                   release_source(source, "linear.py", "a2_backprop")):
        assert "secret = X.sum()" in solved and "SOLUTION" not in solved


def test_a_region_may_belong_to_a_later_assignment_than_its_module():
    # layers.py is an a2 module; its second region is written by students in a3.
    source = ("def relu(x):\n    ### BEGIN SOLUTION\n    return x * (x > 0)\n"
              "    ### END SOLUTION\n\n\n"
              "def later(x):\n    ### BEGIN SOLUTION a3_autodiff\n    return x + 12345\n"
              "    ### END SOLUTION\n")

    def shipped(assignment_id, solved=False):
        text = release_source(source, "layers.py", assignment_id, solved)
        return "x * (x > 0)" in text, "x + 12345" in text

    assert shipped("a2_backprop") == (False, False)
    assert shipped("a2_backprop", solved=True) == (True, False)
    assert shipped("a3_autodiff") == (True, False)
    assert shipped("a3_autodiff", solved=True) == (True, True)
    assert "see its docstring and a3_autodiff.ipynb" in release_source(
        source, "layers.py", "a2_backprop")


@pytest.mark.parametrize("broken", [
    "### BEGIN SOLUTION\nx = 1\n",
    "x = 1\n### END SOLUTION\n",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
    "### BEGIN SOLUTION a0_unknown\nx = 1\n### END SOLUTION\n",
])
def test_unbalanced_or_unknown_markers_are_refused(broken):
    with pytest.raises(ReleaseError, match="broken.py"):
        release_source(broken, "broken.py", "a1_linear")


def run_in_fresh_python(folder, code):
    return subprocess.run([sys.executable, "-I", "-c", code], cwd=folder, capture_output=True,
                          text=True)


@pytest.mark.parametrize("function", sorted(LINEAR_CALLS))
def test_released_functions_raise_not_implemented(function):
    code = ("import sys, numpy as np; sys.path.insert(0, '.')\n"
            f"from minidl import linear\n{LINEAR_CALLS[function]}\n")
    done = run_in_fresh_python(ASSIGNMENTS / "a1_linear", code)
    assert f"NotImplementedError: {function}: write it (see its docstring and a1_linear.ipynb)" \
        in done.stderr


def test_released_input_validation_still_works():
    """Input checks sit outside the solution regions: students get them."""
    code = ("import sys, numpy as np; sys.path.insert(0, '.')\n"
            "from minidl import linear\n"
            "linear.softmax_loss(np.zeros((2, 3)), np.array([0, 7]))\n")
    done = run_in_fresh_python(ASSIGNMENTS / "a1_linear", code)
    assert "ValueError: labels y must lie in [0, 2]" in done.stderr


def test_release_contains_no_solution_region_and_no_hidden_test():
    for path in (ASSIGNMENTS / "a1_linear").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
    notebook = json.loads((ASSIGNMENTS / "a1_linear" / "a1_linear.ipynb").read_text())
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"])
    assert 'check("softmax.value")' in code
    assert 'check("softmax.stability")' not in code  # a hidden check


def test_leak_detector_finds_a_planted_solution_line(tmp_path):
    release = shutil.copytree(ASSIGNMENTS / "a1_linear", tmp_path / "a1_linear")
    assert find_leaks(release) == []
    linear = release / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + "\n    log_probs = shifted - "
                      "np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n")
    problems = find_leaks(release)
    assert len(problems) == 1 and "linear.py leaks solution code" in problems[0]


def test_stale_release_is_reported(tmp_path, monkeypatch):
    from autograder import release

    fake = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, fake)
    linear = fake / "a1_linear" / "minidl" / "linear.py"
    linear.write_text(linear.read_text().replace("Row-wise softmax", "Softmax"))
    (fake / "a1_linear" / "notes.txt").write_text("left behind")
    monkeypatch.setattr(release, "ASSIGNMENTS", fake)
    problems = release.check_release("a1_linear")
    assert any("linear.py is out of date" in p for p in problems)
    assert any("notes.txt is not produced by the release" in p for p in problems)


def test_solved_submission_has_reference_code(solved_a1):
    assert (solved_a1 / "minidl" / "linear.py").read_text() == release_source(
        (REFERENCE_MINIDL / "linear.py").read_text(), "linear.py", "a1_linear", solved=True)
    notebook = json.loads((solved_a1 / "a1_linear.ipynb").read_text())
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert not any("raise NotImplementedError()" in source for source in sources)
    assert not any("YOUR ANSWER HERE" in source for source in sources)


def test_released_reference_modules_agree(solved_a1):
    """The solved minidl gives the reference's numbers (the markers were the only change)."""
    code = ("import sys, numpy as np; sys.path.insert(0, '.')\n"
            "from minidl import linear\n"
            "print(linear.softmax_loss(np.array([[1.0, 2.0, 3.0]]), [2])[0])\n")
    done = run_in_fresh_python(solved_a1, code)
    expected = -np.log(np.exp(3) / np.exp([1.0, 2.0, 3.0]).sum())
    assert float(done.stdout) == pytest.approx(expected)


def test_release_cli_check_and_solved(tmp_path):
    done = subprocess.run(["autograder", "release", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "up to date and free of solution code" in done.stdout
    out = tmp_path / "solved"
    done = subprocess.run(["autograder", "release", "a1_linear", "--solved", "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and (out / "minidl" / "linear.py").is_file()
    done = subprocess.run(["autograder", "release", "a9_unknown"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown assignment 'a9_unknown'" in done.stderr
    assert Path(ASSIGNMENTS / "a1_linear").is_dir()


# ------------------------------------------------------------------ grade cells from the parts

def fake_assignment():
    """Three parts, the middle one hidden, with points that no real part pair shares."""
    fake = Assignment("a1_linear")
    for name, points, visible in [("f.value", 3, True), ("f.edges", 5, False),
                                  ("g.value", 7, True)]:
        def run(ctx, name=name):
            pass
        run.__doc__ = f"What {name} checks.\n\nMore detail."
        fake.part(name, points=points, visible=visible)(run)
    return fake


def notebook_calling(*names):
    """A notebook with a prose cell, an ordinary code cell and a grade cell per name."""
    cells = [nbformat.v4.new_markdown_cell("Some prose."), nbformat.v4.new_code_cell("x = 1")]
    for name in names:
        cells.append(nbformat.v4.new_code_cell(f'check("{name}")',
                                               metadata={"nbgrader": {"grade": True}}))
    return nbformat.v4.new_notebook(cells=cells)


def test_grade_cells_are_filled_from_the_parts():
    fake = fake_assignment()
    notebook = fill_grade_cells(notebook_calling("f.value", "f.edges", "g.value"), fake, "n.ipynb")
    assert [cell.source for cell in notebook.cells[:2]] == ["Some prose.", "x = 1"]
    value, edges, other = notebook.cells[2:]
    assert value.metadata.nbgrader == {"grade": True, "grade_id": "f-value", "locked": True,
                                       "points": 3, "schema_version": 3, "solution": False,
                                       "task": False}
    assert value.source == 'check("f.value")'
    assert (edges.metadata.nbgrader["grade_id"], edges.metadata.nbgrader["points"]) == (
        "f-edges", 5)
    assert edges.source == ("# Hidden check (runs when your work is graded): What f.edges checks.\n"
                            "### BEGIN HIDDEN TESTS\n"
                            'check("f.edges")\n'
                            "### END HIDDEN TESTS")
    assert other.metadata.nbgrader["points"] == 7


@pytest.mark.parametrize(("names", "problem"), [
    (["f.value", "f.typo", "f.edges", "g.value"],
     "a grade cell names 'f.typo', which is not a part"),
    (["f.value", "g.value"], "part 'f.edges' has no grade cell"),
    (["f.value", "f.edges", "f.edges", "g.value"], "part 'f.edges' has 2 grade cells"),
    (["f.value", "g.value", "f.edges"],
     "the grade cell of 'f.edges' comes after that of 'g.value', but the checks module "
     "declares 'f.edges' first"),
])
def test_grade_cells_that_do_not_match_the_parts_are_refused(names, problem):
    with pytest.raises(ReleaseError) as refused:
        fill_grade_cells(notebook_calling(*names), fake_assignment(), "n.ipynb")
    message = str(refused.value)
    assert message.startswith("n.ipynb: the grade cells do not match the parts of "
                              "autograder.checks.a1_linear:")
    assert message.splitlines()[1:] == [f"  {problem}"]


@pytest.mark.parametrize(("source", "nbgrader", "problem"), [
    ('check("f.value")', {"grade": True, "grade_id": "f-value", "points": 3},
     "its nbgrader metadata must be"),
    ('### BEGIN HIDDEN TESTS\ncheck("f.value")\n### END HIDDEN TESTS', {"grade": True},
     'a grade cell is one code line, check("<part name>")'),
    ('check("f.value")\nprint(1)', {"grade": True}, "a grade cell is one code line"),
])
def test_a_grade_cell_declares_nothing_but_its_part(source, nbgrader, problem):
    notebook = notebook_calling("f.edges", "g.value")
    notebook.cells.insert(2, nbformat.v4.new_code_cell(source, metadata={"nbgrader": nbgrader}))
    with pytest.raises(ReleaseError, match="cell 2") as refused:
        fill_grade_cells(notebook, fake_assignment(), "n.ipynb")
    assert problem in str(refused.value)


def test_order_problems_name_each_cell_out_of_place():
    parts = ["a", "b", "c", "d"]
    assert grade_cell_order_problems(parts, ["a", "b", "c", "d"]) == []
    moved_last = grade_cell_order_problems(parts, ["b", "c", "d", "a"])
    assert moved_last == ["the grade cell of 'a' comes after that of 'd', but the checks module "
                          "declares 'a' first"]
    swapped = grade_cell_order_problems(parts, ["a", "c", "b", "d"])
    assert len(swapped) == 1 and "'b' comes after that of 'c'" in swapped[0]
    # unknown names and repeats are reported by grade_cell_problems, not as order problems
    assert grade_cell_order_problems(parts, ["a", "zz", "b", "b", "c", "d"]) == []
    assert grade_cell_problems(parts, ["a", "zz", "b", "b", "c", "d"]) == [
        "a grade cell names 'zz', which is not a part", "part 'b' has 2 grade cells"]


@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_solution_grade_cells_fit_the_parts(assignment_id):
    """Each solution notebook has one bare grade cell per part, in the checks module's order,
    and the committed release carries each part's id, points and visibility."""
    assignment = checks.load(assignment_id)
    notebook = nbformat.read(SOLUTIONS / assignment_id / f"{assignment_id}.ipynb", as_version=4)
    fill_grade_cells(notebook, assignment, assignment_id)
    released = nbformat.read(ASSIGNMENTS / assignment_id / f"{assignment_id}.ipynb",
                             as_version=4)
    cells = [cell for cell in released.cells if release.is_grade_cell(cell)]
    assert len(cells) == len(assignment.parts)
    for cell, part in zip(cells, assignment.parts, strict=True):
        assert_released_cell_is(cell, part)


def assert_released_cell_is(cell, part):
    """A grade cell of a release as nbgrader leaves it: hidden tests removed."""
    nbgrader = cell.metadata.nbgrader
    assert (nbgrader["grade_id"], nbgrader["points"], nbgrader["locked"]) == (
        part.name.replace(".", "-"), part.points, True)
    if part.visible:
        assert cell.source == f'check("{part.name}")'
    else:
        assert cell.source == f"# Hidden check (runs when your work is graded): {part.summary}"


@pytest.fixture(scope="module")
def a1_with_more_points(tmp_path_factory, request):
    """The a1 release generated from a copy of its parts in which two are worth more."""
    original = checks.load("a1_linear")
    changed = Assignment("a1_linear")
    changed.parts = [dataclasses.replace(part, points=part.points + 10)
                     if part.name in ("softmax.value", "softmax.stability") else part
                     for part in original.parts]
    scratch = tmp_path_factory.mktemp("more_points")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release.checks, "load", lambda assignment_id: changed)
        folder = release.generate("a1_linear", scratch / "release",
                                  db_url=f"sqlite:///{scratch}/gradebook.db")
        source = release.write_source("a1_linear", scratch / "source")
    return changed, folder, source


def test_a_release_takes_points_from_the_parts(a1_with_more_points):
    changed, folder, source = a1_with_more_points
    assert changed.get("softmax.value").points == checks.load("a1_linear").get(
        "softmax.value").points + 10
    notebook = nbformat.read(folder / "a1_linear.ipynb", as_version=4)
    cells = [cell for cell in notebook.cells if release.is_grade_cell(cell)]
    for cell, part in zip(cells, changed.parts, strict=True):
        assert_released_cell_is(cell, part)
    # nbgrader reads the hidden tests, which it records for grading, from the filled source
    filled = nbformat.read(source / "a1_linear.ipynb", as_version=4)
    hidden = next(cell for cell in filled.cells
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax-stability")
    assert hidden.source.splitlines()[1:] == [
        "### BEGIN HIDDEN TESTS", 'check("softmax.stability")', "### END HIDDEN TESTS"]
    assert hidden.metadata.nbgrader["points"] == changed.get("softmax.stability").points
