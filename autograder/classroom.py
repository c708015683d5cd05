"""Grading a whole class: one folder per student, graded in parallel, results written atomically.

Every submission is graded by ``grading.check_submission``, so its code runs in its own
sandboxed process; a worker pool runs several submissions at once. The CSV and the
feedback pages are written to a temporary file first and then renamed over the old one,
so an interrupted regrade never leaves a half-written or lost result behind.
"""
import csv
import html
import io
import json
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from autograder.framework import Result
from autograder.grading import Report, check_submission
from autograder.reference import cache_snapshot, seed_caches


def parse_shard(text):
    """``"i/n"`` -> (i, n) with 0 <= i < n: this worker grades every n-th student from the i-th."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/n, for example 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return index, count


def find_submissions(submissions_dir, assignment_id, shard=(0, 1)):
    """{student: folder} for each student folder under ``submissions_dir`` in this shard.

    A student's folder may hold the assignment directly (``DIR/STUDENT/minidl``) or in a
    sub-folder named after it, as nbgrader collects them (``DIR/STUDENT/ASSIGNMENT/minidl``).
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise ValueError(f"submissions folder {root} does not exist")
    found = {}
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        nested = student / assignment_id
        found[student.name] = nested if nested.is_dir() else student
    if not found:
        raise ValueError(f"no student folders in {root}")
    index, count = shard
    return {student: folder for number, (student, folder) in enumerate(found.items())
            if number % count == index}


def _grade_one(assignment_id, student, folder, device, seed, limits, hidden_paths):
    report = check_submission(assignment_id, folder, device=device, seed=seed, limits=limits,
                              hidden_paths=hidden_paths)
    return student, report.to_dict()


def report_from_dict(data):
    results = [Result(**entry) for entry in data["checks"]]
    return Report(data["assignment"], data["device"], results)


def grade_class(assignment_id, submissions_dir, jobs=1, device="auto", seed=0, limits=None,
                shard=(0, 1), progress=True):
    """Grade every student folder; return {student: Report} in student order.

    Where bubblewrap is installed, no student's process sees the submissions folder, so
    no other student's work.
    """
    submissions = find_submissions(submissions_dir, assignment_id, shard)
    hidden_paths = (Path(submissions_dir).resolve(),)
    reports = {}
    with tqdm(total=len(submissions), desc=assignment_id, unit="student",
              disable=not progress) as bar:
        # The first student is graded here: that computes the PyTorch references, which
        # every worker then starts with, so each is computed once per run.
        first, *others = submissions.items()
        reports[first[0]] = report_from_dict(_grade_one(assignment_id, *first, device, seed,
                                                        limits, hidden_paths)[1])
        bar.update(1)
        # Worker processes are started fresh ("spawn"), so no state leaks between the
        # grader and its workers; each worker imports PyTorch once and grades many students.
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                 initializer=seed_caches,
                                 initargs=(cache_snapshot(),)) as pool:
            futures = [pool.submit(_grade_one, assignment_id, student, folder, device, seed,
                                   limits, hidden_paths)
                       for student, folder in others]
            for future in as_completed(futures):
                student, data = future.result()
                reports[student] = report_from_dict(data)
                bar.update(1)
    return {student: reports[student] for student in submissions}


def _write_atomically(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", newline="") as file:
        file.write(text)
    os.replace(temporary, path)


def write_csv(path, reports):
    """One row per student: each part's points, then the total."""
    part_names = [result.name for result in next(iter(reports.values())).results]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", *part_names, "total", "max_score"])
    for student, report in reports.items():
        points = {result.name: result.points for result in report.results}
        writer.writerow([student, *(points[name] for name in part_names), report.score,
                         report.max_score])
    _write_atomically(path, buffer.getvalue())


def points_chart_svg(report):
    """An inline SVG bar chart of the points earned per graded function."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    earned, available = {}, {}
    for result in report.results:
        function = result.name.rsplit(".", 1)[0]
        earned[function] = earned.get(function, 0) + result.points
        available[function] = available.get(function, 0) + result.max_points
    names = list(available)[::-1]
    figure = Figure(figsize=(6, 0.35 * len(names) + 0.8))
    ax = figure.subplots()
    ax.barh(names, [available[n] for n in names], color="#eeeeee", label="available")
    ax.barh(names, [earned[n] for n in names], color="#3a7d44", label="earned")
    ax.set_xlabel("points")
    ax.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def feedback_html(student, report):
    """A self-contained HTML page with the student's score table and feedback."""
    rows = []
    for result in report.results:
        status = "pass" if result.passed else "fail"
        rows.append(
            f'<tr class="{status}"><td>{html.escape(result.name)}</td>'
            f"<td>{result.points}/{result.max_points}</td>"
            f"<td>{html.escape(result.message) or 'correct'}</td></tr>"
        )
    title = f"{html.escape(report.assignment)}: feedback for {html.escape(student)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.4em; text-align: left; vertical-align: top; }}
tr.fail td:nth-child(2) {{ color: #b00; font-weight: bold; }}
tr.pass td:nth-child(2) {{ color: #070; }}
</style></head><body>
<h1>{title}</h1>
<p>Score: <strong>{report.score}/{report.max_score}</strong>
(checked against PyTorch on {html.escape(report.device)})</p>
{points_chart_svg(report)}
<table><tr><th>check</th><th>points</th><th>feedback</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def write_feedback(directory, reports):
    for student, report in reports.items():
        _write_atomically(Path(directory) / f"{student}.html", feedback_html(student, report))


def write_results(directory, reports):
    """One JSON file per student: what a shard hands over to the merge step."""
    for student, report in reports.items():
        _write_atomically(Path(directory) / f"{student}.json", report.to_json() + "\n")


def read_results(directory, assignment_id):
    """{student: Report} from the JSON files of ``write_results`` (every shard's)."""
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        raise ValueError(f"no results (*.json) in {directory}")
    reports = {}
    for path in paths:
        report = report_from_dict(json.loads(path.read_text()))
        if report.assignment != assignment_id:
            raise ValueError(f"{path} holds results of {report.assignment}, not {assignment_id}")
        reports[path.stem] = report
    return reports


def write_gradebook(db_url, assignment_id, reports):
    """Record each part's points as the autograded score of its nbgrader grade cell.

    The assignment must be in the gradebook (``autograder release`` puts it there). Manual
    grades of written answers are kept; those cells are flagged for manual grading.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    # nbgrader's add_submission triggers SQLAlchemy autoflush warnings of its own; harmless.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    with Gradebook(db_url) as gradebook:
        try:
            gradebook.find_assignment(assignment_id)
        except MissingEntry:
            raise ValueError(f"{assignment_id} is not in the gradebook {db_url}: "
                             f"run `autograder release {assignment_id}` first") from None
        for student, report in reports.items():
            gradebook.update_or_create_student(student)
            try:
                submission = gradebook.find_submission(assignment_id, student)
            except MissingEntry:
                submission = gradebook.add_submission(assignment_id, student)
            points = {result.name.replace(".", "-"): result.points for result in report.results}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.name in points:
                        grade.auto_score = points[grade.cell.name]
                        grade.needs_manual_grade = False
                    elif grade.manual_score is None:
                        grade.needs_manual_grade = True
            gradebook.db.commit()
