"""The two ways a check part can go wrong besides a wrong answer, told apart everywhere.

``StudentError``: the student's code raised, hung, crashed or returned something unusable:
the student loses the part. ``GraderError``: the grader could not do its job (the sandbox did
not start, a reference failed, the grader's own machinery broke): the part is not graded,
never counted as the student's zero, and can be regraded on its own.
"""


class StudentError(Exception):
    """The student's code raised, hung, crashed or returned something unusable.

    ``kind`` is the exception type name, or one of "Timeout", "Crash", "NotPlainData" and
    "NumpyOnly"; ``where`` is "file:line" inside the submission when known.
    """

    def __init__(self, kind, message, where=""):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, where


class GraderError(Exception):
    """The grader, not the student, failed; the message names the cause and the fix."""


class ReleaseError(Exception):
    """The release could not be made, or is out of date or leaks a solution."""


class Fail(Exception):
    """A check found a mistake; the message is the feedback the student reads. ``explained``:
    the message names the catalogued mistake that gives the student's answer."""

    def __init__(self, message, explained=False):
        super().__init__(message)
        self.explained = explained
