"""Grading one submission folder: every check part, student code in a sandbox.

Before anything is graded, ``preflight`` proves the grader itself works here: one sandbox
at the chosen isolation runs a known-good probe, and (for a class) the reference solution
is graded through the same path and must earn full marks. Its time per part sets each
part's time limit, so a hang costs a few seconds, not a minute per part.
"""
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from autograder import checks
from autograder.errors import GraderError, StudentError
from autograder.framework import Result, failed, run_part
from autograder.layout import REFERENCE_MINIDL, minidl_modules
from autograder.reference import Reference
from autograder.student import IsolatedStudent, Limits


@dataclass
class Report:
    assignment: str
    device: str
    results: list
    isolation: str = ""
    notes: list = field(default_factory=list)

    @property
    def score(self):
        return sum(result.points for result in self.results)

    @property
    def max_score(self):
        return sum(result.max_points for result in self.results)

    @property
    def errors(self):
        """The parts the grader could not grade (to regrade; never the student's zero)."""
        return [result for result in self.results if result.grader_error]

    @property
    def hidden(self):
        """The hidden parts of the student edition, graded after submission."""
        return [result for result in self.results if result.hidden]

    @property
    def all_passed(self):
        """Every part that could be run here passed (hidden parts are graded later)."""
        return all(result.outcome in ("passed", "hidden") for result in self.results)

    def to_dict(self):
        return {
            "assignment": self.assignment,
            "device": self.device,
            "isolation": self.isolation,
            "score": self.score,
            "max_score": self.max_score,
            "grader_errors": len(self.errors),
            "notes": list(self.notes),
            "checks": [asdict(result) for result in self.results],
        }

    @classmethod
    def from_dict(cls, data):
        return cls(data["assignment"], data["device"],
                   [Result(**entry) for entry in data["checks"]],
                   data.get("isolation", ""), list(data.get("notes", [])))

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    def score_line(self):
        if not self.hidden:
            return f"score: {self.score}/{self.max_score}"
        hidden_points = sum(result.max_points for result in self.hidden)
        return (f"score: {self.score}/{self.max_score - hidden_points} on the visible parts; "
                f"{len(self.hidden)} hidden part(s) worth {hidden_points} points are graded "
                f"after submission ({self.max_score} points in all)")

    def to_table(self):
        width = max(len(result.name) for result in self.results)
        lines = [f"{self.assignment}: checked against PyTorch on {self.device}, "
                 f"student code isolated by {self.isolation}", ""]
        lines += [f"note: {note}" for note in self.notes]
        marks = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "hidden": "LATER"}
        for result in self.results:
            points = "-" if result.hidden else result.points
            lines.append(f"{marks[result.outcome]:<5} {result.name:<{width}}  "
                         f"{points:>2}/{result.max_points}")
            if result.message:
                lines.append(f"      {result.message}")
        lines += ["", self.score_line()]
        if self.errors:
            lines.append(f"not graded: {len(self.errors)} part(s) hit a grader error, which is "
                         "not counted against you; they must be graded again")
        return "\n".join(lines)


IMPORT = "(import)"  # the key of the import's own time among the parts' times


def student_modules(assignment_id):
    """The minidl modules a submission of ``assignment_id`` holds, as import names."""
    earlier, own = minidl_modules(assignment_id)
    return tuple("minidl." + name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                 for name in (*earlier, *own))


def show_progress(progress):
    """Progress bars only on a terminal: a log or a CI job gets no carriage returns."""
    return progress and sys.stderr.isatty()


def check_submission(assignment_id, submission, device="auto", seed=0, limits=None,
                     hidden_paths=(), progress=False, isolation_level=None,
                     reference_seconds=None, first_part=0, on_result=None, timings=None,
                     batch="", part_names=None):
    """Run the parts of ``assignment_id`` (from ``first_part`` on; only those named in
    ``part_names`` if it is given) on the submission folder and return a Report.

    ``hidden_paths`` are folders the student's process must not see (at the bwrap level),
    such as the other students' submissions. ``reference_seconds`` ({part: seconds the
    reference took}, and ``IMPORT`` for importing its modules) sets each time limit.
    ``on_result(index, result)`` is called as each part ends; ``timings`` (a dict) receives
    each part's own time, and the import's. ``batch`` names the run's sandbox processes.
    """
    assignment = checks.load(assignment_id)
    limits = limits or Limits()
    ref = Reference(device)
    results = []
    budget_end = time.monotonic() + limits.budget_seconds
    budget = f"the submission's time budget of {limits.budget_seconds:g} s"
    reference_seconds = reference_seconds or {}
    import_seconds = (limits.part_limit(reference_seconds[IMPORT])
                      if IMPORT in reference_seconds else None)
    with IsolatedStudent(submission, limits, hidden_paths, isolation_level,
                         student_modules(assignment_id), import_seconds, batch) as student:
        parts = [(index, part) for index, part in list(enumerate(assignment.parts))[first_part:]
                 if part_names is None or part.name in part_names]
        for index, part in tqdm(parts, desc=assignment_id, unit="check",
                                disable=not show_progress(progress)):
            if time.monotonic() >= budget_end:
                result = failed(part, f"not run: {budget} ran out before this part (an earlier "
                                      "part hung or was very slow)")
            else:
                seconds = limits.part_limit(reference_seconds.get(part.name))
                # Each part starts from the student's modules as imported (student.part).
                with student.part(seconds, budget_end, f"{budget} ran out during this part"):
                    started = time.monotonic()
                    result = run_part(part, student, ref, seed)
                    elapsed = time.monotonic() - started
                if timings is not None:
                    timings[part.name] = elapsed
            results.append(result)
            if on_result is not None:
                on_result(index, result)
        isolation_name = student.isolation_name
        if timings is not None and student.import_time is not None:
            timings[IMPORT] = student.import_time
    notes = [f"{module}: {message}" for module, message in student.tainted.items()]
    return Report(assignment_id, ref.device_name, results, isolation_name, notes)


def preflight_sandbox(isolation_level, limits=None):
    """Start one sandbox at ``isolation_level`` and run a known-good probe through it;
    return the level's description. GraderError, naming the cause, if that fails."""
    matrix = np.arange(6.0).reshape(2, 3)
    with tempfile.TemporaryDirectory(prefix="autograder-preflight-") as empty:
        with IsolatedStudent(empty, limits, isolation_level=isolation_level) as student:
            try:
                got = student.call("autograder.sandbox.selftest", matrix)
            except StudentError as error:
                raise GraderError(f"the sandbox ({isolation_level.level}) started, but a "
                                  f"known-good probe failed there: {error.kind}: "
                                  f"{error.message}") from None
            if not (isinstance(got, np.ndarray) and np.array_equal(got, matrix @ matrix.T)):
                raise GraderError(f"the sandbox ({isolation_level.level}) returned a wrong "
                                  "answer to a known-good probe")
            return student.isolation_name


def preflight_reference(assignment_id, device, seed, limits, isolation_level):
    """Grade the reference solution through the same path as the students; it must earn
    full marks. Return {part: seconds it took}, or None where the course's solutions are
    not present (a student edition)."""
    from autograder.release import write_solved

    if not REFERENCE_MINIDL.is_dir():
        return None
    timings = {}
    with tempfile.TemporaryDirectory(prefix="autograder-reference-") as scratch:
        solved = write_solved(assignment_id, f"{scratch}/{assignment_id}")
        report = check_submission(assignment_id, solved, device=device, seed=seed,
                                  limits=limits, isolation_level=isolation_level,
                                  timings=timings)
    if report.score != report.max_score:
        first = next(result for result in report.results if result.outcome != "passed")
        raise GraderError(
            f"the reference solution scored {report.score}/{report.max_score} through this "
            f"grader ({report.isolation}), so no student can be graded fairly here; first "
            f"problem: {first.name}: {first.message}")
    return timings
