"""The mutation suite of every assignment, from one harness.

Two kinds of wrong code must lose points:

- each mistake in an assignment's catalogue (``solutions/mistakes/<assignment>.py``):
  its patch applied to a solved submission must fail its part with the explanation the
  catalogue gives;
- each held-out bug in ``tests/mutations/<assignment>.py``: realistic wrong code that no
  catalogue entry was written from, which must fail its part with the text given there.

And each correct alternative there, written differently from the reference, must get full
marks. A patch is appended to a module of the solved ``minidl`` (a later ``def`` replaces an
earlier one; methods are re-assigned on their class).
"""
import importlib
import shutil

import pytest

from autograder import mistakes
from autograder.grading import check_submission
from autograder.layout import ASSIGNMENT_MODULES

SUITES = {assignment_id: importlib.import_module(f"mutations.{assignment_id}")
          for assignment_id in ASSIGNMENT_MODULES
          if importlib.util.find_spec(f"mutations.{assignment_id}") is not None}


def wrong_code():
    for assignment_id, suite in SUITES.items():
        for mistake in mistakes.load(assignment_id).mistakes:
            yield pytest.param(assignment_id, mistake, id=f"{assignment_id}: {mistake.name}")
        for bug in suite.HELD_OUT.mistakes:
            yield pytest.param(assignment_id, bug, id=f"{assignment_id}: held out: {bug.name}")


def patched_copy(solved, folder, sources):
    """A copy of the solved submission with ``sources`` ({minidl file: text}) written in."""
    shutil.copytree(solved, folder)
    for module, text in sources.items():
        (folder / "minidl" / module).write_text(text)
    return folder


@pytest.mark.parametrize(("assignment_id", "mistake"), list(wrong_code()))
def test_wrong_code_loses_its_part_with_its_explanation(assignment_id, mistake,
                                                        solved_submission, tmp_path):
    solved = solved_submission(assignment_id)
    submission = patched_copy(solved, tmp_path / "submission",
                              mistake.patched_sources(solved / "minidl"))
    # Parts are independent (each starts from the modules as imported), so the part the
    # wrong code belongs to is graded alone.
    report = check_submission(assignment_id, submission, device="cpu",
                              part_names={mistake.part})
    (result,) = report.results
    assert result.name == mistake.part
    assert result.outcome == "failed" and result.points == 0, result
    assert mistake.explanation in result.message, result.message


def alternatives():
    for assignment_id, suite in SUITES.items():
        for name, sources in suite.ALTERNATIVES.items():
            yield pytest.param(assignment_id, sources, id=f"{assignment_id}: {name}")


@pytest.mark.parametrize(("assignment_id", "sources"), list(alternatives()))
def test_correct_alternatives_get_full_marks(assignment_id, sources, solved_submission,
                                             tmp_path):
    solved = solved_submission(assignment_id)
    appended = {module: (solved / "minidl" / module).read_text() + "\n" + code
                for module, code in sources.items()}
    report = check_submission(assignment_id, patched_copy(solved, tmp_path / "submission",
                                                          appended), device="cpu")
    assert [f"{r.name}: {r.message}" for r in report.results if not r.passed] == []
    assert report.score == report.max_score


@pytest.mark.parametrize("assignment_id", sorted(SUITES))
def test_every_mistake_belongs_to_a_part_and_every_part_has_wrong_code(assignment_id):
    from autograder import checks

    assignment = checks.load(assignment_id)
    names = {part.name for part in assignment.parts}
    wrong = [*mistakes.load(assignment_id).mistakes, *SUITES[assignment_id].HELD_OUT.mistakes]
    assert {mistake.part for mistake in wrong} <= names
    untested = names - {mistake.part for mistake in wrong} - set(
        getattr(SUITES[assignment_id], "PARTS_WITHOUT_WRONG_CODE", ()))
    assert untested == set()
