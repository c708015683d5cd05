"""Grading speed: `autograder check` and `autograder grade` against nbgrader's autograde.

1. One solved a1_linear submission: `autograder check` vs `nbgrader autograde`.
2. A class of synthetic submissions (solved, untouched and buggy, in turn):
   `autograder grade --jobs 2` vs `nbgrader autograde` over the same folders.
3. The same class with 5 of its submissions hanging (an endless loop in a function, or at
   import): `autograder grade --jobs 2` with them against without them.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

from timing import run_command

from autograder.layout import ASSIGNMENTS, REPO
from autograder.release import write_solved, write_source

ASSIGNMENT = "a1_linear"
BUGS = [
    "",  # correct
    "\n_reference_hinge = hinge_loss\n"
    "def hinge_loss(scores, y, margin=1.0):\n"
    "    loss, d = _reference_hinge(scores, y, margin)\n"
    "    return loss * len(y), d\n",
    "\ndef l2_penalty(W, reg):\n    return reg * (W ** 2).sum(), reg * W\n",
]


HANGS = [
    "\ndef softmax(scores):\n    while True:\n        pass\n",  # in a function
    "\nwhile True:\n    pass\n",  # at import
]


def make_hanging(klass, count):
    """Turn the first ``count`` students of the class into hanging submissions."""
    for number, student in enumerate(sorted(klass.iterdir())[:count]):
        linear = student / ASSIGNMENT / "minidl" / "linear.py"
        linear.write_text(linear.read_text() + HANGS[number % len(HANGS)])


def make_class(root, size, solved):
    """``size`` student folders cycling through solved, buggy and untouched submissions."""
    for number in range(size):
        folder = root / f"student{number:03d}" / ASSIGNMENT
        kind = number % (len(BUGS) + 1)
        if kind == len(BUGS):
            shutil.copytree(ASSIGNMENTS / ASSIGNMENT, folder)
            continue
        shutil.copytree(solved, folder)
        linear = folder / "minidl" / "linear.py"
        linear.write_text(linear.read_text() + BUGS[kind])


def nbgrader_autograde(submitted_root, scratch):
    """Wall time of generate_assignment + autograde on a fresh course root."""
    course = scratch / "course"
    shutil.rmtree(course, ignore_errors=True)
    course.mkdir()
    write_source(ASSIGNMENT, course / "solutions")  # grade cells filled from the parts
    shutil.copytree(submitted_root, course / "submitted")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    nbgrader = [sys.executable, "-m", "nbgrader"]
    root = f"--CourseDirectory.root={course}"
    run_command([*nbgrader, "generate_assignment", ASSIGNMENT, "--force", root],
                cwd=REPO / "autograder", env=env)  # records the assignment, not timed
    return run_command([*nbgrader, "autograde", ASSIGNMENT, "--create", root],
                       cwd=REPO / "autograder", env=env)


def run(quick, progress):
    class_size = 4 if quick else 100
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        solved = write_solved(ASSIGNMENT, scratch / "solved" / ASSIGNMENT)
        one = scratch / "one"
        shutil.copytree(solved, one / "student000" / ASSIGNMENT)
        check_one = run_command(["autograder", "check", ASSIGNMENT, "--submission", str(solved),
                                 "--device", "cpu"])
        progress()
        nbgrader_one = nbgrader_autograde(one, scratch)
        progress()
        klass = scratch / "class"
        make_class(klass, class_size, solved)
        grade_class = run_command(["autograder", "grade", ASSIGNMENT, "--submissions",
                                   str(klass), "--jobs", "2", "--device", "cpu"])
        progress()
        nbgrader_class = nbgrader_autograde(klass, scratch)
        progress()
        hanging = scratch / "hanging"
        shutil.copytree(klass, hanging)
        hangers = 1 if quick else 5
        make_hanging(hanging, hangers)
        grade_hanging = run_command(["autograder", "grade", ASSIGNMENT, "--submissions",
                                     str(hanging), "--jobs", "2", "--device", "cpu"])
        progress()
    rows = [
        ("one solved submission", check_one, nbgrader_one, "<= 0.33"),
        (f"class of {class_size} (jobs=2)", grade_class, nbgrader_class, "<= 0.5"),
    ]
    lines = ["| task | autograder (s) | nbgrader autograde (s) | ratio | target |",
             "|---|---|---|---|---|"]
    for name, ours, theirs, target in rows:
        lines.append(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} | {target} |")
    lines.append(f"| class of {class_size} with {hangers} hanging (jobs=2) | {grade_hanging:.2f} "
                 f"| {grade_class:.2f} (the class without them) | "
                 f"{grade_hanging / grade_class:.2f} | <= 2.0 |")
    lines.append("")
    lines.append(f"Class throughput: autograder {class_size / grade_class * 60:.0f} "
                 f"students/min, nbgrader {class_size / nbgrader_class * 60:.0f} students/min.")
    return lines


def steps(quick):
    return 5
