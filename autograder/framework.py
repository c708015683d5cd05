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

In the student edition of the course a hidden part keeps its name, points and summary but not
its code: its body raises ``HiddenPart``, and it ends ``hidden``, graded after submission.
"""
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.errors import GraderError, StudentError
from autograder.numpy_only import NUMPY_ONLY
from autograder.reference import Reference


class Fail(Exception):
    """A check found a mistake; the message is the feedback the student reads."""


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


@dataclass
class Context:
    """What a part receives: the student, the PyTorch reference and a seeded generator."""

    student: object
    ref: Reference
    rng: np.random.Generator


class Assignment:
    """The ordered list of check parts of one assignment."""

    def __init__(self, assignment_id):
        self.id = assignment_id
        self.parts = []

    def part(self, name, points, visible=True):
        """Decorator registering a check function as a part worth ``points``."""

        def register(function):
            if any(part.name == name for part in self.parts):
                raise ValueError(f"duplicate part name {name!r}")
            summary = (function.__doc__ or name).strip().splitlines()[0]
            self.parts.append(Part(name, points, visible, summary, function))
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


def part_seed(name, seed):
    """A stable seed per part name, so every run of a part sees the same inputs."""
    return zlib.crc32(name.encode()) ^ seed


def describe_student_error(error):
    """Feedback for an exception, hang or crash of the student's code."""
    where = f" (at {error.where})" if error.where else ""
    if error.kind == "NotImplementedError":
        return f"not implemented yet: your code raised NotImplementedError{where}"
    if error.kind in ("Timeout", "Crash", "NumpyOnly") or NUMPY_ONLY in error.message:
        return error.message
    if error.kind == "NotPlainData":
        return f"your code returned {error.message}; return numbers and numpy arrays"
    return f"your code raised {error.kind}{where}: {error.message}"


def failed(part, message):
    return Result(part.name, 0, part.points, False, message, "failed")


def grader_error(part, message):
    return Result(part.name, 0, part.points, False, f"grader error (not your code): {message}",
                  "error")


def run_part(part, student, ref, seed=0):
    """Run one part and return its Result; never raises."""
    context = Context(student, ref, np.random.default_rng(part_seed(part.name, seed)))
    try:
        part.run(context)
    except HiddenPart:
        return Result(part.name, 0, part.points, False, HIDDEN_MESSAGE, "hidden")
    except Fail as fail:
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
