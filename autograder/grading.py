"""Grading one submission folder: every check part, student code in a sandbox."""
import json
from dataclasses import asdict, dataclass

from tqdm.auto import tqdm

from autograder import checks
from autograder.framework import run_part
from autograder.reference import Reference
from autograder.student import IsolatedStudent, Limits


@dataclass
class Report:
    assignment: str
    device: str
    results: list

    @property
    def score(self):
        return sum(result.points for result in self.results)

    @property
    def max_score(self):
        return sum(result.max_points for result in self.results)

    def to_dict(self):
        return {
            "assignment": self.assignment,
            "device": self.device,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [asdict(result) for result in self.results],
        }

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    def to_table(self):
        width = max(len(result.name) for result in self.results)
        lines = [f"{self.assignment}: checked against PyTorch on {self.device}", ""]
        for result in self.results:
            mark = "PASS" if result.passed else "FAIL"
            lines.append(f"{mark}  {result.name:<{width}}  {result.points:>2}/{result.max_points}")
            if result.message:
                lines.append(f"      {result.message}")
        lines += ["", f"score: {self.score}/{self.max_score}"]
        return "\n".join(lines)


def check_submission(assignment_id, submission, device="auto", seed=0, limits=None,
                     hidden_paths=(), progress=False):
    """Run every part of ``assignment_id`` on the submission folder and return a Report.

    ``hidden_paths`` are folders the student's process must not see (where bubblewrap is
    installed), such as the other students' submissions.
    """
    assignment = checks.load(assignment_id)
    ref = Reference(device)
    results = []
    with IsolatedStudent(submission, limits or Limits(), hidden_paths) as student:
        parts = tqdm(assignment.parts, desc=assignment_id, unit="check", disable=not progress)
        for part in parts:
            results.append(run_part(part, student, ref, seed))
    return Report(assignment_id, ref.device_name, results)

