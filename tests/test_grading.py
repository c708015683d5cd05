"""Grading: full marks for each solution, zero for each release, the same scores from
nbgrader's autograde, and a report that names the device and survives broken code."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from autograder import checks
from autograder.grading import check_submission
from autograder.layout import ASSIGNMENTS, REPO, SOLUTIONS
from autograder.notebook import Checker
from autograder.release import write_source
from autograder.student import Limits
from conftest import ASSIGNMENT_IDS


def autograder_cli(*args):
    return subprocess.run(["autograder", *args], capture_output=True, text=True)


@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_solved_submission_scores_full_marks(assignment_id, solved_submission):
    assignment = checks.load(assignment_id)
    done = autograder_cli("check", assignment_id, "--submission",
                          str(solved_submission(assignment_id)), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"assignment", "device", "isolation", "score", "max_score",
                           "grader_errors", "notes", "checks"}
    assert report["grader_errors"] == 0 and report["notes"] == []
    assert report["assignment"] == assignment_id
    assert report["device"] == ("cpu" if not torch.cuda.is_available() else report["device"])
    assert report["max_score"] == assignment.max_score
    failures = [c for c in report["checks"] if not c["passed"]]
    assert failures == [] and report["score"] == assignment.max_score
    assert [c["name"] for c in report["checks"]] == [p.name for p in assignment.parts]
    for entry in report["checks"]:
        assert set(entry) == {"name", "points", "max_points", "passed", "message", "outcome"}
        assert entry["outcome"] == "passed"


@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_untouched_release_scores_zero_with_feedback(assignment_id):
    released = ASSIGNMENTS / assignment_id
    done = autograder_cli("check", assignment_id, "--submission", str(released))
    assert done.returncode == 1, done.stderr  # a part failed
    max_score = checks.load(assignment_id).max_score
    assert f"score: 0/{max_score}" in done.stdout
    assert "checked against PyTorch on cpu" in done.stdout or torch.cuda.is_available()
    report = check_submission(assignment_id, released, device="cpu")
    assert report.score == 0
    for result in report.results:
        assert "not implemented yet: your code raised NotImplementedError" in result.message
        assert "(at minidl/" in result.message  # names the file and line to work on


def test_table_names_each_failing_check(tmp_path, solved_a1):
    folder = shutil.copytree(solved_a1, tmp_path / "s")
    linear = folder / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + "\ndef l2_penalty(W, reg):\n"
                      "    return reg * (W ** 2).sum(), reg * W\n")
    done = autograder_cli("check", "a1_linear", "--submission", str(folder))
    assert done.returncode == 1
    assert "FAIL  l2_penalty.value" in done.stdout
    assert "the L2 term is 0.5 * reg * sum(W**2)" in done.stdout
    # The classifier's loss uses l2_penalty too: loss_and_grad (3) and fit (2) fail with it.
    assert "FAIL  LinearClassifier.loss_and_grad" in done.stdout
    assert "score: 29/35" in done.stdout


def write_linear(tmp_path, solved, extra):
    folder = shutil.copytree(solved, tmp_path / "submission")
    linear = folder / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + "\n" + extra)
    return folder


def test_hang_costs_only_the_parts_that_call_the_hanging_function(tmp_path, solved_a1):
    folder = write_linear(tmp_path, solved_a1,
                          "def softmax(scores):\n    while True:\n        pass\n")
    report = check_submission("a1_linear", folder, device="cpu",
                              limits=Limits(part_seconds=2))
    failed = {r.name: r.message for r in report.results if not r.passed}
    # predict_proba is the only other function of the reference that calls softmax.
    assert set(failed) == {"softmax.value", "softmax.stability", "LinearClassifier.predict"}
    assert "more than 2 s" in failed["softmax.value"]
    assert report.score == 35 - 3


def test_exit_and_crash_are_reported(tmp_path, solved_a1):
    folder = write_linear(tmp_path, solved_a1,
                          "import os\ndef softmax(scores):\n    os._exit(3)\n")
    report = check_submission("a1_linear", folder, device="cpu")
    results = {r.name: r for r in report.results}
    assert not results["softmax.value"].passed
    assert "exited with status 3" in results["softmax.value"].message
    assert results["hinge_loss.value"].passed  # the next call starts a fresh process


def test_syntax_error_fails_every_part_without_crashing_the_grader(tmp_path, solved_a1):
    folder = write_linear(tmp_path, solved_a1, "def broken(:\n")
    report = check_submission("a1_linear", folder, device="cpu")
    assert report.score == 0
    assert all("SyntaxError" in r.message for r in report.results)


def test_notebook_checker_passes_reference_and_explains_a_bug(monkeypatch, capsys):
    import minidl.linear  # the reference, on sys.path through conftest

    assert minidl.linear.__file__.startswith(str(SOLUTIONS))
    check = Checker("a1_linear", device="cpu")
    check("softmax_loss.gradient")
    assert "PASS softmax_loss.gradient" in capsys.readouterr().out
    reference = minidl.linear.softmax_loss
    monkeypatch.setattr(minidl.linear, "softmax_loss",
                        lambda s, y: (reference(s, y)[0], reference(s, y)[1] * len(y)))
    with pytest.raises(AssertionError, match="did you average over the batch"):
        check("softmax_loss.gradient")


def test_cuda_is_refused_clearly_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = autograder_cli("check", "a1_linear", "--device", "cuda")
    assert done.returncode == 2
    assert "PyTorch sees no CUDA device" in done.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_solved_submission_on_cuda(solved_a1):
    report = check_submission("a1_linear", solved_a1, device="cuda")
    assert report.device.startswith("cuda") and report.score == report.max_score


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_nbgrader_autograde_agrees_with_autograder_check(assignment_id, tmp_path,
                                                          solved_submission):
    root = tmp_path / "course"
    (root / "submitted").mkdir(parents=True)
    write_source(assignment_id, root / "solutions")  # the grade cells filled from the parts
    submissions = {"solved": solved_submission(assignment_id),
                   "untouched": ASSIGNMENTS / assignment_id}
    for student, folder in submissions.items():
        shutil.copytree(folder, root / "submitted" / student / assignment_id)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    for command in (["generate_assignment", assignment_id, "--force"],
                    ["autograde", assignment_id, "--create"]):
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", *command, f"--CourseDirectory.root={root}"],
            cwd=REPO / "autograder", env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    from nbgrader.api import Gradebook

    part_ids = {part.name.replace(".", "-") for part in checks.load(assignment_id).parts}
    totals = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gradebook:
        for student, folder in submissions.items():
            notebook = gradebook.find_submission_notebook(assignment_id, assignment_id, student)
            nbgrader_scores = {grade.cell.name: grade.auto_score for grade in notebook.grades
                               if grade.cell.name in part_ids}
            report = check_submission(assignment_id, folder, device="cpu")
            ours = {r.name.replace(".", "-"): r.points for r in report.results}
            assert nbgrader_scores == ours, student
            totals[student] = report.score
    assert totals == {"solved": checks.load(assignment_id).max_score, "untouched": 0}


def test_references_are_computed_once_per_distinct_input():
    import numpy as np

    from autograder.reference import Reference, cached

    calls = []

    @cached
    def doubled(ref, array, factor=2):
        calls.append(1)
        return array * factor

    ref = Reference("cpu")
    first = doubled(ref, np.arange(3.0))
    first[0] = 99.0  # a caller's change must not reach the next caller
    np.testing.assert_array_equal(doubled(ref, np.arange(3.0)), [0.0, 2.0, 4.0])
    doubled(ref, np.arange(3.0), factor=3)
    doubled(ref, np.arange(4.0))
    assert len(calls) == 3


def test_a_worker_seeded_with_the_graders_references_computes_none_again():
    import pickle
    import subprocess
    import sys

    import numpy as np

    from autograder.checks import a2_backprop
    from autograder.reference import Reference, cache_snapshot

    rng = np.random.default_rng(0)
    x, W, b, dout = (rng.standard_normal(s) for s in ((4, 3), (3, 2), (2,), (4, 2)))
    expected = a2_backprop.torch_layer(Reference("cpu"), "linear", (x, W, b), dout)
    snapshot = pickle.dumps(cache_snapshot())
    # A fresh process, as a worker of `autograder grade` is: it gets the same reference
    # from the snapshot even with PyTorch's matmul broken.
    code = """
import pickle, sys
import numpy as np
import torch
from autograder.reference import Reference, seed_caches
seed_caches(pickle.loads(sys.stdin.buffer.read()))
from autograder.checks import a2_backprop
def broken(*args, **kwargs):
    raise AssertionError("a reference was computed again")
torch.nn.functional.linear = torch.matmul = torch.Tensor.__matmul__ = broken
rng = np.random.default_rng(0)
x, W, b, dout = (rng.standard_normal(s) for s in ((4, 3), (3, 2), (2,), (4, 2)))
sys.stdout.buffer.write(pickle.dumps(a2_backprop.torch_layer(Reference("cpu"), "linear", (x, W, b),
                                                          dout)))
"""
    done = subprocess.run([sys.executable, "-c", code], input=snapshot, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    got_out, got_grads = pickle.loads(done.stdout)
    for got, want in zip((got_out, *got_grads), (expected[0], *expected[1]), strict=True):
        np.testing.assert_array_equal(got, want)


def test_importing_the_checks_changes_no_global_torch_state():
    code = """
import torch
before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
          torch.get_default_dtype(), torch.is_grad_enabled())
from autograder import checks
from autograder.layout import ASSIGNMENT_MODULES
for assignment_id in ASSIGNMENT_MODULES:
    checks.load(assignment_id)
after = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.get_default_dtype(), torch.is_grad_enabled())
assert before == after, (before, after)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
