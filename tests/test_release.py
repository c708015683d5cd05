"""The release: generated from solutions/, up to date, stubbed, free of solution code."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.layout import ASSIGNMENTS, REFERENCE_MINIDL
from autograder.release import (
    ReleaseError,
    check_release,
    find_leaks,
    release_source,
)

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
