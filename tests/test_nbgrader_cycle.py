"""The whole nbgrader cycle on one machine, through a real exchange folder.

The TA releases, two students fetch, edit and submit (one of them after the due date), the TA
collects, grades with ``autograder grade --gradebook`` (run as cron would: by the script's
full path, its environment not activated), grades a written answer by hand, and releases
the feedback, which the student fetches. Everything lives in a temporary course folder and
a temporary exchange folder.
"""
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.gradebook import COURSE_ID
from autograder.layout import ASSIGNMENTS, REPO

pytestmark = pytest.mark.slow

ASSIGNMENT = "a1_linear"
VENV_BIN = Path(sys.executable).parent
# The hinge loss summed over the batch instead of averaged: a common mistake.
SUMMED_HINGE = ("\n_reference_hinge = hinge_loss\n"
                "def hinge_loss(scores, y, margin=1.0):\n"
                "    loss, d = _reference_hinge(scores, y, margin)\n"
                "    return loss * len(y), d\n")
COMMENT = "Right value; say why it is ln C: the scores start near zero, so softmax is uniform."


def run(command, cwd, env):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def cycle(tmp_path, monkeypatch):
    """Paths, environment and the nbgrader commands of the TA and of each student."""
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    shutil.copytree(ASSIGNMENTS / ASSIGNMENT, course / "assignments" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    # The TA's own nbgrader configuration: a late submission earns nothing.
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        'c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"))
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    monkeypatch.setenv("PATH", env["PATH"])  # this process opens the gradebook too

    def ta(*args):
        """The TA runs nbgrader from autograder/, where the course's configuration is."""
        return run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}",
                    f"--Exchange.root={exchange}"], REPO / "autograder", env)

    def student(name, *args):
        """A student runs nbgrader in their home folder, with the exchange and course id of
        the hub's configuration and a cache of their own."""
        home = tmp_path / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        return run([sys.executable, "-m", "nbgrader", *args,
                    f"--CourseDirectory.course_id={COURSE_ID}", f"--Exchange.root={exchange}",
                    f"--Exchange.cache={home / '.nbgrader_cache'}",
                    f"--CourseDirectory.student_id={name}"], home, env)

    return {"course": course, "exchange": exchange, "home": tmp_path / "home", "env": env,
            "ta": ta, "student": student, "db": f"sqlite:///{course / 'gradebook.db'}"}


def test_release_fetch_submit_collect_grade_feedback(cycle, solved_a1, tmp_path):
    ta, student, course, db = cycle["ta"], cycle["student"], cycle["course"], cycle["db"]
    ta("release_assignment", ASSIGNMENT)

    # bob solves everything but sums the hinge loss; carol solves everything, late.
    for name in ("bob", "carol"):
        student(name, "fetch_assignment", ASSIGNMENT)
        work = cycle["home"] / name / ASSIGNMENT
        assert (work / f"{ASSIGNMENT}.ipynb").is_file()
        shutil.copy(solved_a1 / f"{ASSIGNMENT}.ipynb", work)
        shutil.rmtree(work / "minidl")
        shutil.copytree(solved_a1 / "minidl", work / "minidl")
    linear = cycle["home"] / "bob" / ASSIGNMENT / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + SUMMED_HINGE)
    student("bob", "submit", ASSIGNMENT)
    # The due date passes; the TA entered it in the gradebook, which has no notebooks yet.
    with Gradebook(db, COURSE_ID) as gradebook:
        gradebook.update_or_create_assignment(
            ASSIGNMENT, duedate=datetime.now(UTC).replace(tzinfo=None))
    student("carol", "submit", ASSIGNMENT)
    ta("collect", ASSIGNMENT)
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["bob", "carol"]

    # Graded as a cron job would: the script by its full path, the environment's bin not on
    # PATH, from another folder; the assignment's notebook is registered from the release.
    env = dict(cycle["env"], PATH=os.pathsep.join(
        part for part in cycle["env"]["PATH"].split(os.pathsep)
        if part and Path(part).resolve() != VENV_BIN.resolve()))
    env.pop("VIRTUAL_ENV", None)
    run([str(VENV_BIN / "autograder"), "grade", ASSIGNMENT, "--submissions", str(submitted),
         "--gradebook", db, "--device", "cpu", "--jobs", "2"], tmp_path, env)

    with Gradebook(db, COURSE_ID) as gradebook:
        bob = gradebook.find_submission(ASSIGNMENT, "bob")
        carol = gradebook.find_submission(ASSIGNMENT, "carol")
        # bob's summed hinge loss fails hinge_loss value (2), edge cases (2) and
        # matches_naive (1) of the 35 autograded points; the written answers await a TA.
        assert (bob.score, carol.score) == (30, 35)
        assert bob.max_score == carol.max_score == 35 + 4 * 2
        for name, submission in (("bob", bob), ("carol", carol)):
            stamp = submitted / name / ASSIGNMENT / "timestamp.txt"
            assert submission.timestamp == parse_utc(stamp.read_text())
        assert bob.total_seconds_late == 0 and not bob.late_submission_penalty
        # penalty_method "zero": a late submission's whole score is taken off.
        assert carol.total_seconds_late > 0 and carol.late_submission_penalty == 35
        written = gradebook.find_grade("q1-answer", ASSIGNMENT, ASSIGNMENT, "bob")
        assert written.needs_manual_grade and written.auto_score is None

    # The formgrader opens the autograded notebook: the written answers as submitted, and
    # the autograder's verdicts as the grade cells' outputs.
    autograded = json.loads(
        (course / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    cells = {cell["metadata"]["nbgrader"]["grade_id"]: cell for cell in autograded["cells"]
             if "grade_id" in cell["metadata"].get("nbgrader", {})}
    solved = json.loads((solved_a1 / f"{ASSIGNMENT}.ipynb").read_text())
    answer = next(cell for cell in solved["cells"]
                  if cell["metadata"].get("nbgrader", {}).get("grade_id") == "q1-answer")
    assert "".join(cells["q1-answer"]["source"]) == "".join(answer["source"])
    [failure] = cells["hinge_loss-value"]["outputs"]
    assert failure["output_type"] == "error" and "average over the batch" in failure["evalue"]
    assert "".join(cells["hinge_loss-gradient"]["outputs"][0]["text"]).startswith("PASS")

    # The TA grades bob's first written answer by hand and comments on it.
    with Gradebook(db, COURSE_ID) as gradebook:
        gradebook.find_grade("q1-answer", ASSIGNMENT, ASSIGNMENT, "bob").manual_score = 2
        gradebook.find_comment("q1-answer", ASSIGNMENT, ASSIGNMENT, "bob").manual_comment = COMMENT
        gradebook.db.commit()
        assert gradebook.find_submission(ASSIGNMENT, "bob").score == 32

    ta("generate_feedback", ASSIGNMENT)
    ta("release_feedback", ASSIGNMENT)
    student("bob", "fetch_feedback", ASSIGNMENT)
    [page] = (cycle["home"] / "bob" / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
    text = page.read_text()
    assert COMMENT in text.replace("&#39;", "'")
    assert "average over the batch" in text and "FAIL hinge_loss.value" in text
    assert "PASS hinge_loss.gradient" in text
