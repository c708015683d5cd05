"""The checks of a4_init_norm beyond the mutation suite (tests/test_mutations.py): the full
marks, the suite's coverage, and the statistical comparison that decides whether a wrong
draw is a catalogued mistake's."""
import math
import shutil

import numpy as np
import pytest
from mutations import a4_init_norm as suite

from autograder import checks, mistakes
from autograder.checks.a4_init_norm import Normal, Uniform, drawn_alike
from autograder.framework import run_part
from autograder.reference import Reference
from autograder.student import IsolatedStudent

ASSIGNMENT = checks.load("a4_init_norm")
SWAPPED = "fan_in and fan_out are swapped"

# Each graded function or class, and the parts that grade it.
FAMILIES = {
    "xavier": ("init.xavier",), "kaiming": ("init.kaiming",), "rng": ("init.rng",),
    "Linear": ("Linear.init", "Linear.forward_backward"),
    "named_parameters": ("Module.named_parameters",), "train_eval": ("Module.train_eval",),
    "zero_grad": ("Module.zero_grad",), "state_dict": ("Module.state_dict",),
    "activations": ("activations",), "Sequential": ("Sequential",), "Residual": ("Residual",),
    "Dropout": ("Dropout.train", "Dropout.eval_edge_cases"),
    "batchnorm_forward": ("batchnorm_forward",), "batchnorm_backward": ("batchnorm_backward",),
    "BatchNorm1d": ("BatchNorm1d.train", "BatchNorm1d.running_stats", "BatchNorm1d.edge_cases"),
    "LayerNorm": ("LayerNorm", "LayerNorm.edge_cases"),
}


def test_full_marks():
    assert ASSIGNMENT.max_score == 33


def test_every_graded_family_has_three_pieces_of_wrong_code():
    wrong = [*mistakes.load("a4_init_norm").mistakes, *suite.HELD_OUT.mistakes]
    for family, parts in FAMILIES.items():
        assert sum(mistake.part in parts for mistake in wrong) >= 3, family


# ---------------------------------------------------------------- kaiming's modes

ONE_MODE_ONLY = """
_reference_kaiming = kaiming_uniform, kaiming_normal


def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    return _reference_kaiming[0](fan_in, fan_out, nonlinearity, {mode!r}, rng)


def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    return _reference_kaiming[1](fan_in, fan_out, nonlinearity, {mode!r}, rng)
"""


@pytest.mark.parametrize(("right", "wrong"), [("fan_in", "fan_out"), ("fan_out", "fan_in")])
def test_a_right_mode_is_never_told_that_the_fans_are_swapped(right, wrong, solved_submission,
                                                               tmp_path):
    # Kaiming functions that use the fan of `right` whatever the mode: right in that mode,
    # wrong in the other one, where they draw what swapped fans would draw.
    submission = tmp_path / "submission"
    shutil.copytree(solved_submission("a4_init_norm"), submission)
    init = submission / "minidl" / "init.py"
    init.write_text(init.read_text() + ONE_MODE_ONLY.format(mode=right))
    part = ASSIGNMENT.get("init.kaiming")
    with IsolatedStudent(submission) as student:
        for seed in range(3):
            result = run_part(part, student, Reference("cpu"), seed=seed)
            assert result.outcome == "failed", result
            assert f"mode={wrong!r}" in result.message and SWAPPED not in result.message


# ---------------------------------------------------------------- the statistical comparison


@pytest.mark.parametrize("family", ["normal", "uniform"])
def test_draws_of_one_distribution_are_alike_and_of_others_not(family):
    rng = np.random.default_rng(0)
    shape = (300, 500)

    def draw(scale):
        if family == "normal":
            return scale * rng.standard_normal(shape)
        return rng.uniform(-scale, scale, shape)

    for _ in range(20):
        assert drawn_alike(draw(0.05), draw(0.05))
    # Kaiming's scale with fan_in = 500 and with fan_out = 300, and 5% apart.
    assert not drawn_alike(draw(1 / math.sqrt(500)), draw(1 / math.sqrt(300)))
    assert not drawn_alike(draw(0.05), draw(0.0525))
    # The same scale, the other family (the standard deviations equal).
    other = (rng.uniform(-math.sqrt(3) * 0.05, math.sqrt(3) * 0.05, shape) if family == "normal"
             else 0.05 / math.sqrt(3) * rng.standard_normal(shape))
    assert not drawn_alike(draw(0.05), other)
    assert not drawn_alike(draw(0.05).T, draw(0.05))


def test_a_correct_draw_passes_the_tests_of_its_distribution():
    rng = np.random.default_rng(1)
    for _ in range(20):
        assert Normal.exactly(0.05).problem(0.05 * rng.standard_normal(150_000)) == ""
        assert Uniform.exactly(0.05).problem(rng.uniform(-0.05, 0.05, 150_000)) == ""
    assert "standard deviation" in Normal.exactly(0.05).problem(
        0.053 * rng.standard_normal(150_000))
    assert "beyond the bound" in Uniform.exactly(0.05).problem(rng.uniform(-0.051, 0.051, 1000))
