"""Grade cells in assignment notebooks: ``check = Checker("a1_linear")``, then ``check("part")``.

A passing part prints one line; a failing part raises AssertionError with the
feedback, which is how nbgrader sees a failed grade cell. A hidden part of the student
edition prints that it is graded after submission and fails nothing. In a notebook the
student's ``minidl`` runs in the kernel itself (``autograder check`` runs the
same parts with the code isolated in a child process).
"""
from autograder import checks
from autograder.framework import part_inputs, run_part
from autograder.reference import Reference
from autograder.student import InProcessStudent


class Checker:
    def __init__(self, assignment_id, device="auto", seed=0):
        self.assignment = checks.load(assignment_id)
        self.ref = Reference(device)
        self.seed = seed

    def __call__(self, name):
        part = self.assignment.get(name)
        result = self._run(part)
        if result.hidden:
            worth = f"{result.max_points} point{'' if result.max_points == 1 else 's'}"
            print(f"HIDDEN {name} ({worth}): {part.summary} This part is graded after "
                  "submission: its check is not in your copy of the course.")
            return
        points = f"{result.points}/{result.max_points} points, PyTorch on {self.ref.device_name}"
        if not result.passed:
            raise AssertionError(f"{name}: {result.message} ({points})")
        print(f"PASS {name}: {part.summary} ({points})")

    def all(self):
        """Run every part here and print a table of PASS/FAIL, the score and the next thing
        to do (the first visible part not passed, with its message); fails nothing."""
        from autograder.progress import part_table

        results = [self._run(part) for part in self.assignment.parts]
        print(part_table(self.assignment, results))
        print(f"(checked against PyTorch on {self.ref.device_name}, your code running in this "
              "kernel; `autograder status` grades it isolated)")

    def inputs(self, name):
        """The calls part ``name`` makes of your code, with the exact arguments it passes:
        a list of (function, args, kwargs) to rerun yourself, for example
        ``target, args, kwargs = check.inputs("softmax.value")[0]``."""
        part = self.assignment.get(name)
        if not part.visible:
            raise ValueError(f"{name} is a hidden part: its inputs are not shown")
        student = InProcessStudent()
        with student.part():
            return part_inputs(part, student, self.ref, self.seed)

    def _run(self, part):
        """One part's Result; whatever module-level name of minidl it changes is put back
        after it, so the next part sees what this kernel had before."""
        student = InProcessStudent()
        with student.part():
            return run_part(part, student, self.ref, self.seed)
