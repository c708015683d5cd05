"""A class's results in nbgrader's gradebook, through ``nbgrader autograde`` itself.

``autograder grade --gradebook`` grades every submission in its sandbox first. Then
nbgrader's own autograde step runs on the same submissions with two of its preprocessors
replaced: instead of executing the notebook (which would run the student's code in a
kernel, outside the sandbox), ``InsertVerdicts`` writes each part's verdict into its grade
cell as that cell's output, and ``SaveVerdicts`` records the part's points as the cell's
autograded score. Everything else is nbgrader's: it restores the locked cells, writes the
autograded notebooks that the formgrader and ``generate_feedback`` open, records the
submission time of ``timestamp.txt`` and applies the configured late penalty.
"""
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, SaveAutoGrades, SaveCells
from sqlalchemy.exc import SAWarning
from traitlets import Unicode

from autograder.errors import GraderError
from autograder.layout import ASSIGNMENTS

# nbgrader's name for the course (nbgrader_config.py): the exchange keeps the course's files
# under it, and the gradebook files its assignments under it.
COURSE_ID = "deep-learning-course"


def put_commands_on_path():
    """nbgrader runs ``alembic`` by name: find it next to this interpreter, activated or not
    (cron, a CI job or the full path of the ``autograder`` script)."""
    here = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if here not in path.split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + path


def register_release(db_url, assignment_id):
    """Record the committed release's notebooks in the gradebook unless they are there:
    their grade cells with points, solution cells and locked cells, as
    ``nbgrader generate_assignment`` records them. An assignment entered without notebooks
    (in the formgrader, to set its due date) keeps its due date."""
    notebooks = sorted((ASSIGNMENTS / assignment_id).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"{ASSIGNMENTS / assignment_id} holds no notebook: run "
                         f"`autograder release {assignment_id}`")
    with Gradebook(db_url, COURSE_ID) as gradebook:
        assignment = gradebook.update_or_create_assignment(assignment_id)
        recorded = {notebook.name for notebook in assignment.notebooks}
    for path in notebooks:
        if path.stem not in recorded:
            resources = {"nbgrader": {"notebook": path.stem, "assignment": assignment_id,
                                      "db_url": db_url}}
            SaveCells().preprocess(nbformat.read(path, as_version=4), resources)


class Verdicts(NbGraderPreprocessor):
    """Reads the autograder's result for the student whose notebook is being processed."""

    results = Unicode(help="folder with one JSON result per student (STUDENT.json), as "
                           "`autograder grade --results` writes them").tag(config=True)

    def verdicts(self, resources):
        """{grade cell id: the part's result (a dict)} for this notebook's student."""
        path = Path(self.results) / f"{resources['nbgrader']['student']}.json"
        report = json.loads(path.read_text(encoding="utf-8"))
        return {result["name"].replace(".", "-"): result for result in report["checks"]}


def verdict_output(result):
    """The grade cell's output: nbgrader counts an error output as no credit."""
    earned = f"{result['points']}/{result['max_points']} points"
    if result["outcome"] == "passed":
        return nbformat.v4.new_output("stream", name="stdout",
                                      text=f"PASS {result['name']}: {earned}\n")
    if result["outcome"] == "failed":
        return nbformat.v4.new_output("error", ename="FAIL", evalue=result["message"],
                                      traceback=[f"FAIL {result['name']}: {earned}",
                                                 result["message"]])
    return nbformat.v4.new_output(
        "stream", name="stdout",
        text=f"NOT GRADED {result['name']}: the grader failed, not your code; this part is "
             f"not counted as zero and will be graded again. {result['message']}\n")


class InsertVerdicts(Verdicts):
    """Stands in for nbgrader's Execute: each code grade cell gets its part's verdict as
    output, so the student's code never runs in a kernel here."""

    def preprocess(self, nb, resources):
        verdicts = self.verdicts(resources)
        for cell in nb.cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not nbgrader.get("grade"):
                continue
            result = verdicts.get(nbgrader["grade_id"])
            if result is None:
                # Left empty, nbgrader would give the cell full marks.
                raise GraderError(f"grade cell {nbgrader['grade_id']!r} has no check part")
            cell.outputs = [verdict_output(result)]
            cell.execution_count = None
        return nb, resources


class SaveVerdicts(Verdicts, SaveAutoGrades):
    """nbgrader's SaveAutoGrades, except that a code grade cell's score is its part's points
    and a part the grader could not grade gets no score and is flagged for a TA."""

    def preprocess(self, nb, resources):
        self._verdicts = self.verdicts(resources)
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        result = self._verdicts.get(cell.metadata["nbgrader"]["grade_id"])
        if result is None or cell.cell_type != "code":
            return super()._add_score(cell, resources)  # a written answer: nbgrader's rule
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                          self.notebook_id, self.assignment_id, self.student_id)
        error = result["outcome"] == "error"
        grade.auto_score = None if error else result["points"]
        # As nbgrader does: a grade a TA changed by hand is shown for review again.
        grade.needs_manual_grade = error or grade.manual_score is not None
        self.gradebook.db.commit()


def autograde_preprocessors():
    """nbgrader's autograde preprocessors, with the two replaced, as dotted names."""
    replaced = {Execute: InsertVerdicts, SaveAutoGrades: SaveVerdicts}
    chosen = [replaced.get(preprocessor, preprocessor)
              for preprocessor in Autograde.class_traits()["autograde_preprocessors"].default()]
    return [f"{preprocessor.__module__}.{preprocessor.__name__}" for preprocessor in chosen]


def autograde(db_url, assignment_id, reports, folders, course_root):
    """Write each student's autograded notebook under ``course_root/autograded`` and their
    scores into the gradebook, from ``reports`` ({student: Report}) and ``folders``
    ({student: submission folder}); the assignment is registered from the release first if
    the gradebook lacks it."""
    from autograder.release import ReleaseError, _nbgrader  # the full course's tooling

    # nbgrader's add_submission triggers SQLAlchemy autoflush warnings of its own; harmless.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    put_commands_on_path()
    register_release(db_url, assignment_id)
    notebooks = [path.name for path in (ASSIGNMENTS / assignment_id).glob("*.ipynb")]
    without = [student for student in reports
               if not any((Path(folders[student]) / name).is_file() for name in notebooks)]
    if without:
        # nbgrader records nothing for a submission without a notebook.
        print(f"warning: no notebook in the submissions of {', '.join(without)}: their "
              "scores are in --csv and --results, not in the gradebook", file=sys.stderr)
    reports = {student: report for student, report in reports.items() if student not in without}
    if not reports:
        return
    with tempfile.TemporaryDirectory(prefix="autograder-gradebook-") as scratch:
        results, submitted = Path(scratch) / "results", Path(scratch) / "submitted"
        results.mkdir()
        for student, report in reports.items():
            (results / f"{student}.json").write_text(report.to_json(), encoding="utf-8")
            # nbgrader's layout, SUBMITTED/STUDENT/ASSIGNMENT, whatever the folders' own.
            (submitted / student).mkdir(parents=True)
            (submitted / student / assignment_id).symlink_to(Path(folders[student]).resolve(),
                                                             target_is_directory=True)
        args = ["autograde", assignment_id, "--force",
                f"--CourseDirectory.root={Path(course_root).resolve()}",
                f"--CourseDirectory.submitted_directory={submitted}",
                f"--CourseDirectory.db_url={db_url}",
                f"--Verdicts.results={results}"]
        args += [f"--Autograde.autograde_preprocessors={name}"
                 for name in autograde_preprocessors()]
        try:
            _nbgrader(*args)
        except ReleaseError as error:
            raise GraderError(f"recording the results in the gradebook failed: {error}") from None
