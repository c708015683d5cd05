"""`autograder grade --canvas FILE --totals FILE`: scores for Canvas and a totals CSV."""
import csv
import json
import shutil
import subprocess

import pytest

from autograder.export import CANVAS_COLUMNS

# hinge_loss returns the summed loss, not the mean: hinge_loss value (2 points), edge cases
# (2) and matches_naive (1) fail, so 30 of 35.
SUMMED_HINGE = ("\n_reference_hinge = hinge_loss\n"
                "def hinge_loss(scores, y, margin=1.0):\n"
                "    loss, d = _reference_hinge(scores, y, margin)\n"
                "    return loss * len(y), d\n")


def grade(*args):
    return subprocess.run(["autograder", "grade", "a1_linear", *map(str, args)],
                          capture_output=True, text=True)


def read_rows(path):
    return list(csv.reader(path.open(newline="")))


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, solved_a1, released_a1):
    """alice: solved; bob: untouched; carol: a summed hinge loss. Graded once, for real."""
    root = tmp_path_factory.mktemp("export")
    submissions = root / "submissions"
    shutil.copytree(solved_a1, submissions / "alice")
    shutil.copytree(released_a1, submissions / "bob")
    carol = shutil.copytree(solved_a1, submissions / "carol")
    linear = carol / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + SUMMED_HINGE)
    done = grade("--submissions", submissions, "--results", root / "results", "--jobs", "2",
                 "--device", "cpu", "--csv", root / "scores.csv", "--totals",
                 root / "totals.csv", "--canvas", root / "canvas.csv")
    assert done.returncode == 0, done.stderr
    return root


def test_totals_have_one_row_per_student(graded_class):
    rows = read_rows(graded_class / "totals.csv")
    assert rows == [["student", "score", "max_score", "status"],
                    ["alice", "35", "35", "graded"],
                    ["bob", "0", "35", "graded"],
                    ["carol", "30", "35", "graded"]]
    # The same totals as the per-part CSV written beside it.
    parts = {row["student"]: row["total"]
             for row in csv.DictReader((graded_class / "scores.csv").open())}
    assert parts == {row[0]: row[1] for row in rows[1:]}


def test_canvas_import_has_canvas_headers_and_points_possible(graded_class):
    rows = read_rows(graded_class / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a1_linear"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:] == ["", "", "", "", "35"]
    login, points = CANVAS_COLUMNS.index("SIS Login ID"), len(CANVAS_COLUMNS)
    assert {row[login]: row[points] for row in rows[2:]} == {"alice": "35", "bob": "0",
                                                             "carol": "30"}


def test_merged_results_with_a_grader_error_leave_the_score_empty(graded_class, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(graded_class / "results", results)
    # carol's grading hit a grader error on one part (as when her sandbox did not start).
    carol = json.loads((results / "carol.json").read_text())
    carol["checks"][0].update(points=0, passed=False, outcome="error",
                              message="grader error (not your code): the sandbox did not start")
    (results / "carol.json").write_text(json.dumps(carol))
    done = grade("--merge", results, "--totals", tmp_path / "totals.csv", "--canvas",
                 tmp_path / "canvas.csv", "--canvas-column", "Assignment 1 (4242)")
    assert done.returncode == 2 and "not graded yet: carol" in done.stderr
    totals = {row[0]: row[1:] for row in read_rows(tmp_path / "totals.csv")[1:]}
    assert totals["carol"] == ["", "35", "grader error: regrade with --only-errors"]
    assert totals["alice"] == ["35", "35", "graded"] and totals["bob"] == ["0", "35", "graded"]
    canvas = read_rows(tmp_path / "canvas.csv")
    assert canvas[0][-1] == "Assignment 1 (4242)"
    assert {row[0]: row[-1] for row in canvas[2:]} == {"alice": "35", "bob": "0", "carol": ""}
