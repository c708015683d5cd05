"""Grading a whole class: one folder per student, graded in parallel, results written atomically.

Every submission is graded by ``grading.check_submission``, so its code runs in its own
sandboxed process; a worker pool runs several submissions at once. The CSV and the
feedback pages are written to a temporary file first and then renamed over the old one,
so an interrupted regrade never leaves a half-written or lost result behind.
"""
import csv
import html
import io
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from autograder.framework import Result
from autograder.grading import Report, check_submission


def find_submissions(submissions_dir, assignment_id):
    """{student: folder} for each student folder under ``submissions_dir``.

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
    return found


def _grade_one(assignment_id, student, folder, device, seed, limits, hidden_paths):
    report = check_submission(assignment_id, folder, device=device, seed=seed, limits=limits,
                              hidden_paths=hidden_paths)
    return student, report.to_dict()


def _report_from_dict(data):
    results = [Result(**entry) for entry in data["checks"]]
    return Report(data["assignment"], data["device"], results)


def grade_class(assignment_id, submissions_dir, jobs=1, device="auto", seed=0, limits=None,
                progress=True):
    """Grade every student folder; return {student: Report} in student order.

    Where bubblewrap is installed, no student's process sees the submissions folder, so
    no other student's work.
    """
    submissions = find_submissions(submissions_dir, assignment_id)
    hidden_paths = (Path(submissions_dir).resolve(),)
    reports = {}
    # Worker processes are started fresh ("spawn"), so no state leaks between the grader
    # and its workers; each worker imports PyTorch once and grades many students.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_grade_one, assignment_id, student, folder, device, seed, limits,
                               hidden_paths)
                   for student, folder in submissions.items()]
        for future in tqdm(as_completed(futures), total=len(futures), desc=assignment_id,
                           unit="student", disable=not progress):
            student, data = future.result()
            reports[student] = _report_from_dict(data)
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
<table><tr><th>check</th><th>points</th><th>feedback</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def write_feedback(directory, reports):
    for student, report in reports.items():
        _write_atomically(Path(directory) / f"{student}.html", feedback_html(student, report))
