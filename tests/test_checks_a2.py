"""a2_backprop's checks beyond the mutation suite: how much wrong code each graded function
has, and the one error shape of its probes."""
import importlib
import shutil

from autograder import checks, mistakes
from autograder.grading import check_submission

HELD_OUT = importlib.import_module("mutations.a2_backprop").HELD_OUT


def test_every_graded_function_has_three_pieces_of_wrong_code():
    wrong = [*mistakes.load("a2_backprop").mistakes, *HELD_OUT.mistakes]
    counts = {}
    for mistake in wrong:
        function = mistake.part.split(".")[0]
        counts[function] = counts.get(function, 0) + 1
    for function in ("linear", "relu", "sigmoid", "tanh", "numerical_gradient", "rel_error"):
        assert counts.get(function, 0) >= 3, function
    assert counts["MLP"] >= 6  # three each for __init__ and loss


def test_the_assignment_is_worth_40_points():
    assert checks.load("a2_backprop").max_score == 40


def test_a_forward_pass_that_returns_no_cache_is_told_so(solved_submission, tmp_path):
    # The probe raises, as for every error of the student's code: no marker, no "problem" key.
    submission = tmp_path / "submission"
    shutil.copytree(solved_submission("a2_backprop"), submission)
    module = submission / "minidl" / "layers.py"
    module.write_text(module.read_text() + "\n\ndef relu_forward(x):\n    return x * (x > 0)\n")
    report = check_submission("a2_backprop", submission, device="cpu")
    result = {result.name: result for result in report.results}["relu.forward"]
    assert result.outcome == "failed"
    assert ("relu_forward must return a tuple (out, cache); it returned a value "
            "of type ndarray") in result.message
