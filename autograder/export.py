"""Scores for other systems: a Canvas gradebook import and a per-student totals CSV.

A student with a grader error gets no score in either file (an empty cell, which Canvas's
import leaves ungraded), never a zero; the totals CSV lists them as to be regraded.
"""
import csv
import io

from autograder.classroom import _write_atomically

REGRADE_STATUS = "grader error: regrade with --only-errors"

# The identity columns of a Canvas gradebook export, which its import expects before the
# assignment columns; a student is matched by any of its IDs.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "    Points Possible"  # written so, leading spaces included, by Canvas


def final_score(report):
    """The score to record, or "" while a part awaits regrading after a grader error."""
    return "" if report.errors else report.score


def write_totals(path, reports):
    """One row per student: score, max_score and status ("graded", or to regrade)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "score", "max_score", "status"])
    for student, report in reports.items():
        writer.writerow([student, final_score(report), report.max_score,
                         REGRADE_STATUS if report.errors else "graded"])
    _write_atomically(path, buffer.getvalue())


def write_canvas(path, reports, column):
    """A CSV for Canvas's Gradebook > Import: the identity columns, then one column named
    ``column`` with each student's points, under a row with the points possible.

    Students are identified by their folder names, written as the SIS Login ID (and as
    the name). ``column`` written as ``NAME (CANVAS ID)`` updates that Canvas assignment;
    any other text makes Canvas create a new assignment on import.
    """
    max_scores = {report.max_score for report in reports.values()}
    if len(max_scores) != 1:
        raise ValueError(f"the results disagree on the points possible: {sorted(max_scores)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*CANVAS_COLUMNS, column])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", max_scores.pop()])
    for student, report in reports.items():
        writer.writerow([student, "", "", student, "", final_score(report)])
    _write_atomically(path, buffer.getvalue())
