"""Catalogues of mistakes: an explanation only when the answer is that mistake's answer."""
import sys

import numpy as np

from autograder import checks, mistakes
from autograder.framework import run_part
from autograder.mistakes import Catalogue, PatchedReference, same_answer
from autograder.reference import Reference
from autograder.student import InProcessStudent

REF = Reference("cpu")


class AnswerStudent:
    """A stand-in student whose ``softmax`` returns a fixed transformation of the right one."""

    def __init__(self, transform):
        self.transform = transform

    def call(self, target, *args, **kwargs):
        probabilities = InProcessStudent().call(target, *args, **kwargs)
        return self.transform(args[0], probabilities)


def softmax_part():
    return checks.load("a1_linear").get("softmax.value")


def test_an_answer_equal_to_a_mistakes_answer_is_explained():
    def over_columns(scores, _):
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    result = run_part(softmax_part(), AnswerStudent(over_columns), REF)
    assert not result.passed
    assert "it normalizes each column (axis=0)" in result.message
    assert "check.inputs" not in result.message  # the explanation is the whole story


def test_a_wrong_answer_no_mistake_gives_says_where_it_differs_and_how_to_see_the_inputs():
    def off_by_a_bit(_, probabilities):
        wrong = probabilities.copy()
        wrong[1, 2] += 0.25
        return wrong

    result = run_part(softmax_part(), AnswerStudent(off_by_a_bit), REF)
    assert not result.passed
    assert "the largest difference is at index (1, 2)" in result.message
    assert "normalizes" not in result.message and "sum over the whole array" not in result.message
    assert "check.inputs('softmax.value')" in result.message


def test_a_correct_answer_is_never_explained_even_where_a_mistake_gives_it_too():
    # Without huge scores, a softmax without the max shift is right: nothing to explain.
    result = run_part(softmax_part(), AnswerStudent(lambda _, p: p), REF)
    assert result.passed and result.message == ""


def test_asking_a_patched_reference_leaves_this_processes_minidl_alone():
    import minidl.linear

    before = {name: module for name, module in sys.modules.items() if name.startswith("minidl")}
    catalogue = mistakes.load("a1_linear")
    mistake = next(m for m in catalogue.mistakes if m.name == "softmax over axis 0")
    scores = np.array([[1.0, 2.0], [3.0, 5.0]])
    wrong = PatchedReference("a1_linear", mistake).call("minidl.linear.softmax", scores)
    assert np.allclose(wrong.sum(axis=0), 1.0) and not np.allclose(wrong.sum(axis=1), 1.0)
    after = {name: module for name, module in sys.modules.items() if name.startswith("minidl")}
    assert after == before
    assert np.allclose(minidl.linear.softmax(scores).sum(axis=1), 1.0)


def test_a_patch_replaces_a_definition_and_can_call_the_right_one(tmp_path):
    folder = tmp_path / "minidl"
    folder.mkdir()
    (folder / "tiny.py").write_text("def double(x):\n    return 2 * x\n")
    catalogue = Catalogue("a0", module="tiny.py")
    catalogue.add("off by one", "double.value", "one too many", """
        _right_double = double
        def double(x):
            return _right_double(x) + 1
        """)
    (mistake,) = catalogue.for_part("double.value")
    namespace = {}
    exec(mistake.patched_sources(folder)["tiny.py"], namespace)  # noqa: S102 -- our own text
    assert namespace["double"](3) == 7


def test_same_answer_compares_numbers_arrays_and_containers_within_tolerance():
    assert same_answer((1.0, {"W": np.ones(2)}), (1.0 + 1e-12, {"W": np.ones(2)}), 1e-6, 1e-9)
    assert not same_answer((1.0, {"W": np.ones(2)}), (1.0, {"W": np.ones(3)}), 1e-6, 1e-9)
    assert same_answer(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-6, 1e-9)
    assert not same_answer("relu", "tanh", 1e-6, 1e-9)
    assert not same_answer(np.zeros(2), None, 1e-6, 1e-9)


def test_a_copy_without_the_reference_has_no_catalogue(monkeypatch, tmp_path):
    monkeypatch.setattr(mistakes, "REFERENCE_MINIDL", tmp_path / "absent")
    assert mistakes.load("a1_linear") is None


def test_the_notebook_shows_the_exact_inputs_of_a_visible_part():
    import pytest

    from autograder.notebook import Checker

    check = Checker("a1_linear", device="cpu")
    ((target, args, kwargs),) = check.inputs("softmax.value")
    assert target == "minidl.linear.softmax" and kwargs == {}
    (scores,) = args
    # The very scores the part draws from its seed, not a look-alike.
    from autograder.checks.a1_linear import random_case
    from autograder.framework import part_seed

    drawn, _ = random_case(np.random.default_rng(part_seed("softmax.value", 0)))
    assert np.array_equal(scores, drawn)
    with pytest.raises(ValueError, match="hidden part"):
        check.inputs("softmax.stability")
