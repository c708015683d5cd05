"""`autograder grade`: a whole class in parallel, each submission isolated, nothing lost."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.classroom import find_submissions, grade_class
from autograder.grading import check_submission
from autograder.release import secret_lines

CRASH_ON_LOSS = "\ndef softmax_loss(scores, y):\n    import os\n    os._exit(1)\n"
SUMMED_HINGE = ("\n_reference_hinge = hinge_loss\n"
                "def hinge_loss(scores, y, margin=1.0):\n"
                "    loss, d = _reference_hinge(scores, y, margin)\n"
                "    return loss * len(y), d\n")


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory, solved_a1, released_a1):
    """alice: solved (nbgrader layout); bob: untouched (flat); carol: a bug; dave: crashes."""
    root = tmp_path_factory.mktemp("class")
    shutil.copytree(solved_a1, root / "alice" / "a1_linear")
    shutil.copytree(released_a1, root / "bob")
    for student, extra in (("carol", SUMMED_HINGE), ("dave", CRASH_ON_LOSS)):
        folder = shutil.copytree(solved_a1, root / student)
        linear = folder / "minidl" / "linear.py"
        linear.write_text(linear.read_text() + extra)
    return root


def test_both_folder_layouts_are_found(class_folder):
    found = find_submissions(class_folder, "a1_linear")
    assert list(found) == ["alice", "bob", "carol", "dave"]
    assert found["alice"] == class_folder / "alice" / "a1_linear"
    assert found["bob"] == class_folder / "bob"


def test_class_grades_csv_and_feedback(class_folder, tmp_path):
    scores, pages = tmp_path / "scores.csv", tmp_path / "feedback"
    done = subprocess.run(
        ["autograder", "grade", "a1_linear", "--submissions", str(class_folder), "--jobs", "2",
         "--csv", str(scores), "--feedback", str(pages), "--device", "cpu"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = {row["student"]: row for row in csv.DictReader(scores.open())}
    totals = {student: int(row["total"]) for student, row in rows.items()}
    # carol's summed hinge loss fails hinge_loss value (2), edge cases (2), matches_naive (1);
    # dave's softmax_loss kills its process: value, gradient, edge cases, matches_naive (7).
    assert totals == {"alice": 35, "bob": 0, "carol": 30, "dave": 28}
    assert rows["carol"]["hinge_loss.value"] == "0" and rows["carol"]["hinge_loss.gradient"] == "2"
    for student in rows:
        report = check_submission("a1_linear", find_submissions(class_folder, "a1_linear")[student],
                                  device="cpu")
        assert int(rows[student]["total"]) == report.score
    carol = (pages / "carol.html").read_text()
    assert "30/35" in carol and "average over the batch" in carol
    assert "exited with status 1" in (pages / "dave.html").read_text()
    secrets = secret_lines()
    for page in pages.iterdir():
        text = page.read_text()
        assert not any(secret in text for secret in secrets), page
        assert "HIDDEN TESTS" not in text and "check(" not in text


def test_a_bad_submission_does_not_change_anyone_elses_result(class_folder, tmp_path):
    good = tmp_path / "good"
    for student in ("alice", "bob", "carol"):
        shutil.copytree(class_folder / student, good / student)
    alone = grade_class("a1_linear", good, jobs=2, device="cpu", progress=False)
    with_dave = grade_class("a1_linear", class_folder, jobs=2, device="cpu", progress=False)
    for student, report in alone.items():
        assert report.to_json() == with_dave[student].to_json()


def test_regrade_replaces_results_without_leaving_temporary_files(class_folder, tmp_path):
    scores = tmp_path / "scores.csv"
    for _ in range(2):
        done = subprocess.run(["autograder", "grade", "a1_linear", "--submissions",
                               str(class_folder / "alice"), "--csv", str(scores), "--jobs", "1"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_missing_submissions_folder_is_a_clear_error(tmp_path):
    done = subprocess.run(["autograder", "grade", "a1_linear", "--submissions",
                           str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_two_shards_in_parallel_merge_to_the_single_run(class_folder, tmp_path):
    """Two local workers stand in for the tasks of a Slurm job array or an indexed Job."""
    results = tmp_path / "results"
    workers = [subprocess.Popen(["autograder", "grade", "a1_linear", "--submissions",
                                 str(class_folder), "--shard", f"{index}/2", "--results",
                                 str(results), "--jobs", "1", "--device", "cpu"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for index in range(2)]
    outputs = [worker.communicate() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert "alice" in outputs[0][0] and "bob" in outputs[1][0]  # each shard graded its half
    merged, single = tmp_path / "merged.csv", tmp_path / "single.csv"
    done = subprocess.run(["autograder", "grade", "a1_linear", "--merge", str(results),
                           "--csv", str(merged)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(["autograder", "grade", "a1_linear", "--submissions", str(class_folder),
                           "--csv", str(single), "--device", "cpu"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert merged.read_text() == single.read_text()


def test_bad_shard_is_refused(class_folder):
    done = subprocess.run(["autograder", "grade", "a1_linear", "--submissions", str(class_folder),
                           "--shard", "2/2"], capture_output=True, text=True)
    assert done.returncode == 2 and "0 <= i < n" in done.stderr


def test_scores_reach_the_nbgrader_gradebook_and_keep_manual_grades(class_folder, tmp_path):
    from nbgrader.api import Gradebook

    # A fresh clone, graded as cron would: no gradebook yet (the assignment is recorded from
    # the committed release), the script run by its full path, its environment not on PATH.
    bin_folder = Path(sys.executable).parent
    env = dict(os.environ, PATH=os.pathsep.join(
        part for part in os.environ["PATH"].split(os.pathsep)
        if part and Path(part).resolve() != bin_folder.resolve()))
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    command = [str(bin_folder / "autograder"), "grade", "a1_linear", "--submissions",
               str(class_folder), "--gradebook", db_url, "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission("a1_linear", "carol")
        assert submission.score == 30
        written = gradebook.find_grade("q1-answer", "a1_linear", "a1_linear", "carol")
        assert written.needs_manual_grade
        written.manual_score = 2  # a TA grades a written answer in the formgrader
        gradebook.db.commit()
    assert subprocess.run(command, capture_output=True, env=env).returncode == 0  # regrade
    with Gradebook(db_url) as gradebook:
        assert gradebook.find_submission("a1_linear", "carol").score == 32
        assert {s.student.id: s.score for s in gradebook.find_assignment("a1_linear").submissions
                } == {"alice": 35, "bob": 0, "carol": 32, "dave": 28}
