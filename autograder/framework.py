"""Check parts: the unit of grading.

An assignment's check module declares its parts with ``Assignment.part``. A part
draws its inputs (seeded by its name, so a notebook grade cell and
``autograder check`` see the same cases), asks the ``Student`` for results,
computes the PyTorch reference here, and raises ``Fail`` with a message a
student understands when something is wrong. A part earns all of its points or
none; a function is split into several parts so partial work earns partial credit.

Every part ends with one of three outcomes: ``passed``; ``failed`` (the student's code is
at fault: a wrong answer, an exception, a hang, a crash); or ``error`` (the grader could not
grade it: the sandbox did not start, a reference failed). An error earns no points but is
never the student's zero: every report shows it as such, and it can be regraded alone.

When an answer is wrong, ``Context.expect_close`` (or ``Context.explain``) asks the same
question of the reference made to commit each of the part's catalogued mistakes
(``autograder.mistakes``) and names the mistake only when the answers agree; otherwise the
message says what differs, in which case, and how to see the part's inputs.

In the student edition of the course a hidden part keeps its name, points and summary but not
its code: its body raises ``HiddenPart``, and it ends ``hidden``, graded after submission.
"""
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder import compare, mistakes
from autograder.errors import Fail, GraderError, StudentError
from autograder.numpy_only import NUMPY_ONLY
from autograder.reference import Reference


class HiddenPart(Exception):
    """A hidden part whose code this edition of the course does not have: it is graded after
    submission."""


HIDDEN_MESSAGE = "hidden: graded after submission"


@dataclass(frozen=True)
class Part:
    name: str
    points: int
    visible: bool
    summary: str
    run: Callable
    assignment_id: str = ""
    explained_by: tuple = ()  # other parts whose mistakes explain this part's answers too


OUTCOMES = ("passed", "failed", "error", "hidden")


@dataclass(frozen=True)
class Result:
    name: str
    points: int
    max_points: int
    passed: bool
    message: str
    outcome: str = ""

    def __post_init__(self):
        if not self.outcome:  # results written before outcomes existed
            object.__setattr__(self, "outcome", "passed" if self.passed else "failed")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @property
    def grader_error(self):
        return self.outcome == "error"

    @property
    def hidden(self):
        """A hidden part of the student edition, graded after submission."""
        return self.outcome == "hidden"


NOT_ASKED = object()  # an answer not in hand yet (None is an answer)


class Recorder:
    """A ``Student`` that also keeps every request a part makes, so a student can see the
    exact inputs of a part that failed (``Checker.inputs``)."""

    def __init__(self, student):
        self.student, self.requests = student, []

    def call(self, target, *args, **kwargs):
        self.requests.append((target, args, kwargs))
        return self.student.call(target, *args, **kwargs)

    def object(self, target, *args, **kwargs):
        self.requests.append((target, args, kwargs))
        return self.student.object(target, *args, **kwargs)


@dataclass
class Context:
    """What a part receives: the student, the PyTorch reference, a seeded generator and the
    part's catalogued mistakes."""

    student: object
    ref: Reference
    rng: np.random.Generator
    assignment_id: str = ""
    mistakes: tuple = ()

    def explain(self, ask, got, rtol=compare.RTOL, atol=compare.ATOL, matches=None):
        """The explanation of the first catalogued mistake whose answer to ``ask`` (a function
        of a ``Student``) equals ``got``; None when no mistake gives that answer.
        ``matches(got, candidate)`` replaces equality where answers are random draws: it
        says whether ``got`` is drawn as the mistake's ``candidate`` is."""
        for mistake in self.mistakes:
            try:
                candidate = ask(mistakes.PatchedReference(self.assignment_id, mistake))
            except Exception:  # noqa: BLE001 -- a mistake that cannot answer explains nothing
                continue
            if matches is not None:
                if matches(got, candidate):
                    return mistake.explanation
            elif mistakes.same_answer(got, candidate, rtol, atol):
                return mistake.explanation
        return None

    def expect_close(self, what, ask, expected, rtol=compare.RTOL, atol=compare.ATOL,
                     nonfinite_hint="", got=NOT_ASKED):
        """Ask the student (``ask(self.student)``, unless the answer ``got`` is given) and fail
        unless the answer is ``expected``; a wrong answer is explained by the mistake that
        gives it, if one does. Returns the answer."""
        got = ask(self.student) if got is NOT_ASKED else got
        try:
            compare.expect_close(got, expected, what, rtol=rtol, atol=atol,
                                 nonfinite_hint=nonfinite_hint)
        except Fail as fail:
            explanation = self.explain(ask, got, rtol, atol)
            if explanation is None:
                raise
            raise Fail(f"{what} is wrong: {explanation}", explained=True) from fail
        return got

    def fail(self, message, ask=None, got=None, matches=None):
        """Fail with ``message``, or with the explanation of the mistake that gives ``got``
        (``matches`` as in ``explain``)."""
        explanation = None if ask is None else self.explain(ask, got, matches=matches)
        if explanation is None:
            raise Fail(message)
        raise Fail(f"{message}: {explanation}", explained=True)


class Assignment:
    """The ordered list of check parts of one assignment."""

    def __init__(self, assignment_id):
        self.id = assignment_id
        self.parts = []

    def part(self, name, points, visible=True, explained_by=()):
        """Decorator registering a check function as a part worth ``points``. A part that
        asks the questions of other parts on other inputs names them in ``explained_by``:
        their catalogued mistakes explain its wrong answers too."""

        def register(function):
            if any(part.name == name for part in self.parts):
                raise ValueError(f"duplicate part name {name!r}")
            summary = (function.__doc__ or name).strip().splitlines()[0]
            self.parts.append(Part(name, points, visible, summary, function, self.id,
                                   tuple(explained_by)))
            return function

        return register

    def get(self, name):
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(f"{self.id} has no check part {name!r}")

    @property
    def max_score(self):
        return sum(part.points for part in self.parts)


def part_inputs(part, student, ref, seed=0):
    """The requests ``part`` makes of ``student``: (target, args, kwargs) each, with the
    exact arrays it passes."""
    recorder = Recorder(student)
    context = part_context(part, recorder, ref, seed)
    try:
        part.run(context)
    except (Fail, StudentError, HiddenPart):
        pass
    return recorder.requests


def part_seed(name, seed):
    """A stable seed per part name, so every run of a part sees the same inputs."""
    return zlib.crc32(name.encode()) ^ seed


def describe_student_error(error):
    """Feedback for an exception, hang or crash of the student's code."""
    where = f" (at {error.where})" if error.where else ""
    if error.kind == "NotImplementedError":
        return f"not implemented yet: your code raised NotImplementedError{where}"
    if error.kind in ("Timeout", "Crash", "NumpyOnly", "Unusable") or NUMPY_ONLY in error.message:
        return error.message
    if error.kind == "NotPlainData":
        return f"your code returned {error.message}; return numbers and numpy arrays"
    return f"your code raised {error.kind}{where}: {error.message}"


def failed(part, message):
    return Result(part.name, 0, part.points, False, message, "failed")


def grader_error(part, message):
    return Result(part.name, 0, part.points, False, f"grader error (not your code): {message}",
                  "error")


def part_context(part, student, ref, seed=0):
    catalogue = mistakes.load(part.assignment_id) if part.assignment_id else None
    known = tuple(mistake for name in (part.name, *part.explained_by)
                  for mistake in catalogue.for_part(name)) if catalogue else ()
    return Context(student, ref, np.random.default_rng(part_seed(part.name, seed)),
                   part.assignment_id, known)


def run_part(part, student, ref, seed=0):
    """Run one part and return its Result; never raises."""
    context = part_context(part, student, ref, seed)
    try:
        part.run(context)
    except HiddenPart:
        return Result(part.name, 0, part.points, False, HIDDEN_MESSAGE, "hidden")
    except Fail as fail:
        if part.visible and not fail.explained:
            return failed(part, f"{fail} (to see this part's inputs, run "
                                f"check.inputs({part.name!r}) in the notebook)")
        return failed(part, str(fail))
    except StudentError as error:
        return failed(part, describe_student_error(error))
    except GraderError as error:
        return grader_error(part, str(error))
    except Exception as exc:  # noqa: BLE001 -- an unusable result costs the part, not the run
        last = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"the check could not use your result ({type(exc).__name__}: {exc})"
        return failed(part, f"{message} [check line {last.lineno}]")
    return Result(part.name, part.points, part.points, True, "", "passed")
