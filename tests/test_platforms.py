"""Grades that hold on every machine: a container where bubblewrap cannot create namespaces,
macOS, Windows, cgroup v2, numpy-only, consistency parts, grader errors, hangs and budgets,
exit statuses. Each test reproduces a way grading once went wrong, simulated here."""
import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from autograder.classroom import (
    feedback_html,
    grade_class,
    read_results,
    students_to_regrade,
    write_csv,
    write_results,
)
from autograder.framework import Result
from autograder.grading import Report, check_submission
from autograder.isolation import Isolation, ProcessCap, choose
from autograder.sandbox import apply_limits
from autograder.student import Limits

RLIMITS = Isolation("rlimits")
DOCKER_BWRAP = """#!/bin/sh
echo "bwrap: Creating new namespace failed: Operation not permitted" >&2
exit 1
"""
# Passes the grader's first trial (``... -- true``) but cannot start the real sandbox.
HALF_BROKEN_BWRAP = """#!/bin/sh
for last in "$@"; do :; done
if [ "$last" = true ]; then exit 0; fi
echo "bwrap: setting up uid map: Permission denied" >&2
exit 1
"""


def autograder_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True,
                          text=True, env=env)


def with_fake_bwrap(tmp_path, script):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "bwrap").write_text(script)
    (folder / "bwrap").chmod(0o755)
    return dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")


def write_linear(folder, extra):
    linear = folder / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + "\n" + textwrap.dedent(extra))
    return folder


def copy_solved(solved_a1, destination, extra=""):
    folder = shutil.copytree(solved_a1, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return write_linear(folder, extra)


# ---------------------------------------------------------------- a container (Docker)

def test_bwrap_that_cannot_create_namespaces_is_named_with_the_fix(tmp_path, solved_a1):
    env = with_fake_bwrap(tmp_path, DOCKER_BWRAP)
    done = autograder_cli("check", "a1_linear", "--submission", str(solved_a1), "--device",
                          "cpu", "--isolation", "bwrap", env=env)
    assert done.returncode == 2, done.stdout
    assert "cannot create namespaces here" in done.stderr
    assert "Creating new namespace failed" in done.stderr  # bubblewrap's own words
    assert "--isolation rlimits" in done.stderr and "seccomp=unconfined" in done.stderr
    assert done.stdout == ""  # nothing was graded, so nobody got a zero


def test_auto_falls_back_to_rlimits_with_a_warning_and_full_marks(tmp_path, solved_a1):
    env = with_fake_bwrap(tmp_path, DOCKER_BWRAP)
    done = autograder_cli("check", "a1_linear", "--submission", str(solved_a1), "--device",
                          "cpu", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == report["max_score"] == 35
    assert report["isolation"].startswith("rlimits")
    assert "warning:" in done.stderr and "cannot create namespaces" in done.stderr


def test_a_sandbox_that_does_not_start_stops_grading_before_anyone_is_graded(tmp_path,
                                                                            solved_a1):
    env = with_fake_bwrap(tmp_path, HALF_BROKEN_BWRAP)
    submissions = tmp_path / "class"
    copy_solved(solved_a1, submissions / "alice")
    scores = tmp_path / "scores.csv"
    done = autograder_cli("grade", "a1_linear", "--submissions", str(submissions), "--csv",
                          str(scores), "--device", "cpu", "--isolation", "bwrap", "--jobs", "1",
                          env=env)
    assert done.returncode == 2
    assert "the sandbox did not start (bwrap)" in done.stderr
    assert "setting up uid map: Permission denied" in done.stderr
    assert not scores.exists()


# ---------------------------------------------------------------- macOS

def test_limits_the_platform_lacks_are_skipped_and_named():
    class MacResource:
        """resource as on macOS: setrlimit(RLIMIT_AS) raises ValueError."""

        RLIM_INFINITY = -1
        RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE = range(5)
        applied = {}

        def getrlimit(self, which):
            return (-1, -1)

        def setrlimit(self, which, limits):
            if which == self.RLIMIT_AS:
                raise ValueError("current limit exceeds maximum limit")
            self.applied[which] = limits

    mac = MacResource()
    limits = {"cpu_seconds": 600, "memory_bytes": 2**32, "file_bytes": 2**24,
              "open_files": 64, "core_bytes": 0}
    assert apply_limits(limits, mac) == ["address space"]
    assert mac.applied == {mac.RLIMIT_CPU: (600, 600), mac.RLIMIT_FSIZE: (2**24, 2**24),
                           mac.RLIMIT_NOFILE: (64, 64), mac.RLIMIT_CORE: (0, 0)}


MACOS_PYTHON = """#!/bin/sh
# Python as on macOS: setrlimit(RLIMIT_AS) raises ValueError. Drops "-I -c BOOT" (student.py).
shift 3
exec {python} -I -c '
import resource, runpy, sys
real = resource.setrlimit
def setrlimit(which, limits):
    if which == resource.RLIMIT_AS:
        raise ValueError("current limit exceeds maximum limit")
    real(which, limits)
resource.setrlimit = setrlimit
sys.argv = ["autograder.sandbox"] + sys.argv[1:]
runpy.run_module("autograder.sandbox", run_name="__main__")
' "$@"
"""


def test_macos_grades_a_solved_submission_in_full(tmp_path, solved_a1, monkeypatch):
    python = tmp_path / "python-macos"
    python.write_text(MACOS_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    report = check_submission("a1_linear", solved_a1, device="cpu", isolation_level=RLIMITS)
    assert report.score == report.max_score == 35, [r.message for r in report.results][:3]
    assert "not capped: address space" in report.isolation


# ---------------------------------------------------------------- Windows

WINDOWS = """
import json, sys
sys.modules["resource"] = None  # Windows has no resource module
from autograder.notebook import Checker  # the first cell of every assignment notebook
from autograder.isolation import choose
from autograder.grading import check_submission
chosen = choose("auto")
report = check_submission("a1_linear", sys.argv[1], device="cpu", isolation_level=chosen)
print(json.dumps({"level": chosen.level, "warnings": chosen.warnings,
                  "score": report.score, "isolation": report.isolation}))
"""


def test_windows_imports_the_checker_and_grades_with_time_limits_only(solved_a1):
    done = subprocess.run([sys.executable, "-c", WINDOWS, str(solved_a1)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["level"] == "process" and result["isolation"] == "process (time limits only)"
    assert "time limits only" in result["warnings"][0]
    assert result["score"] == 35


def test_asking_for_rlimits_on_windows_is_refused(monkeypatch):
    from autograder import errors, isolation

    monkeypatch.setattr(isolation, "has_posix_limits", lambda: False)
    with pytest.raises(errors.GraderError, match="needs a POSIX system"):
        choose("rlimits")
    assert choose("auto").level == "process"


# ---------------------------------------------------------------- cgroup v2

def fake_cgroup_v2(tmp_path, delegated):
    """A cgroup v2 tree in which the grader runs in grader.slice/me."""
    root = tmp_path / "cgroup"
    (root / "grader.slice" / "me").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "grader.slice" / "cgroup.subtree_control").write_text(
        "memory pids\n" if delegated else "memory\n")
    own = tmp_path / "self-cgroup"
    own.write_text("0::/grader.slice/me\n")
    return root, own


def test_cgroup_v2_caps_processes_where_the_pids_controller_is_delegated(tmp_path,
                                                                         monkeypatch):
    root, own = fake_cgroup_v2(tmp_path, delegated=True)
    monkeypatch.setattr(ProcessCap, "root", root)
    monkeypatch.setattr(ProcessCap, "own_cgroup", own)
    cap = ProcessCap(32)
    assert cap.path is not None and cap.path.parent == root / "grader.slice"
    assert (cap.path / "pids.max").read_text() == "32"
    assert Isolation("rlimits").describe() == "rlimits"
    (cap.path / "pids.max").unlink()  # what the kernel would remove with the group
    cap.remove()
    assert not cap.path.exists()


def test_cgroup_v2_without_delegation_says_processes_are_not_capped(tmp_path, monkeypatch):
    root, own = fake_cgroup_v2(tmp_path, delegated=False)
    monkeypatch.setattr(ProcessCap, "root", root)
    monkeypatch.setattr(ProcessCap, "own_cgroup", own)
    assert ProcessCap(32).path is None
    assert Isolation("rlimits").describe(["address space"]) == (
        "rlimits (not capped: address space, processes)")


# ---------------------------------------------------------------- numpy only

TORCH_LINEAR = """
import torch
import torch.nn.functional as F

def softmax(scores):
    return torch.softmax(torch.as_tensor(scores), dim=1).numpy()

def softmax_loss(scores, y):
    s = torch.tensor(scores, requires_grad=True)
    loss = F.cross_entropy(s, torch.as_tensor(y))
    loss.backward()
    return loss.item(), s.grad.numpy()
"""


def test_minidl_backed_by_pytorch_earns_nothing_and_says_where(tmp_path, solved_a1):
    folder = copy_solved(solved_a1, tmp_path / "torchy", TORCH_LINEAR)
    report = check_submission("a1_linear", folder, device="cpu", isolation_level=RLIMITS)
    assert report.score == 0 and not report.errors
    line = next(number for number, text in enumerate(
        (folder / "minidl" / "linear.py").read_text().splitlines(), 1) if text == "import torch")
    expected = "minidl must use numpy only (and Python's standard library)"
    for result in report.results:
        assert expected in result.message and f"minidl/linear.py:{line} imports torch" in \
            result.message
    assert report.notes == [f"minidl.linear: {report.results[0].message}"]


def test_the_notebook_checker_refuses_pytorch_inside_minidl(tmp_path, solved_a1):
    folder = copy_solved(solved_a1, tmp_path / "torchy", TORCH_LINEAR)
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from autograder.notebook import Checker
        check = Checker("a1_linear", device="cpu")
        try:
            check("softmax.value")
        except AssertionError as error:
            print(error)
        """)
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                          text=True)
    assert "softmax.value: minidl must use numpy only" in done.stdout, done.stderr
    assert "imports torch" in done.stdout


# ---------------------------------------------------------------- consistency parts

CONSTANT_ZEROS = """
def _zeros(scores, y, margin=1.0):
    return 0.0, np.zeros(np.shape(scores))

softmax_loss_naive = softmax_loss = hinge_loss_naive = hinge_loss = _zeros
"""


def test_two_equally_wrong_versions_earn_nothing_for_agreeing(tmp_path, solved_a1):
    folder = copy_solved(solved_a1, tmp_path / "zeros", CONSTANT_ZEROS)
    report = check_submission("a1_linear", folder, device="cpu", isolation_level=RLIMITS)
    results = {result.name: result for result in report.results}
    for function in ("softmax_loss", "hinge_loss"):
        part = results[f"{function}.matches_naive"]
        assert not part.passed
        assert f"{function}_naive's loss is not correct yet" in part.message


def test_agreeing_with_a_correct_loop_version_still_earns_the_points(solved_a1):
    report = check_submission("a1_linear", solved_a1, device="cpu", isolation_level=RLIMITS)
    results = {result.name: result for result in report.results}
    assert results["softmax_loss.matches_naive"].passed
    assert results["hinge_loss.matches_naive"].passed


# ---------------------------------------------------------------- grader errors

def reports_with_a_grader_error(solved_report):
    """alice as graded; bob with one part the grader could not grade."""
    broken = [Result(r.name, 0, r.max_points, False, "grader error (not your code): the "
                     "sandbox did not start", "error") if index == 0 else r
              for index, r in enumerate(solved_report.results)]
    return {"alice": solved_report,
            "bob": Report(solved_report.assignment, solved_report.device, broken,
                          solved_report.isolation)}


@pytest.fixture(scope="module")
def solved_report(solved_a1):
    return check_submission("a1_linear", solved_a1, device="cpu", isolation_level=RLIMITS)


def test_a_grader_error_is_shown_as_such_and_never_as_a_zero(solved_report, tmp_path):
    reports = reports_with_a_grader_error(solved_report)
    bob = reports["bob"]
    assert students_to_regrade(reports) == ["bob"]
    table = bob.to_table()
    assert "ERROR softmax.value" in table and "must be graded again" in table
    assert json.loads(bob.to_json())["checks"][0]["outcome"] == "error"
    write_csv(tmp_path / "scores.csv", reports)
    rows = {row["student"]: row for row in csv.DictReader((tmp_path / "scores.csv").open())}
    assert rows["bob"]["softmax.value"] == "error" and rows["bob"]["total"] == ""
    assert rows["bob"]["status"].startswith("grader error")
    assert rows["alice"]["total"] == "35" and rows["alice"]["status"] == "graded"
    page = feedback_html("bob", bob)
    assert "not graded" in page and "not your code" in page


def test_only_errors_regrades_just_those_students(solved_report, solved_a1, tmp_path):
    submissions = tmp_path / "class"
    for student in ("alice", "bob"):
        copy_solved(solved_a1, submissions / student)
    results = tmp_path / "results"
    reports = reports_with_a_grader_error(solved_report)
    # alice's stored result carries a mark that a regrade would not write: kept byte for byte.
    reports["alice"].notes.append("graded in the first run")
    write_results(results, reports)
    alice_before = (results / "alice.json").read_bytes()
    scores = tmp_path / "scores.csv"
    done = autograder_cli("grade", "a1_linear", "--submissions", str(submissions), "--results",
                          str(results), "--only-errors", "--csv", str(scores), "--device", "cpu",
                          "--isolation", "rlimits", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert (results / "alice.json").read_bytes() == alice_before
    regraded = read_results(results, "a1_linear")
    assert regraded["bob"].score == 35 and not regraded["bob"].errors
    rows = {row["student"]: row for row in csv.DictReader(scores.open())}
    assert rows["bob"]["total"] == "35" and rows["bob"]["status"] == "graded"


def test_grade_exits_2_and_names_who_to_regrade(solved_report, tmp_path):
    results = tmp_path / "results"
    write_results(results, reports_with_a_grader_error(solved_report))
    done = autograder_cli("grade", "a1_linear", "--merge", str(results))
    assert done.returncode == 2
    assert "not graded yet: bob" in done.stderr and "--only-errors" in done.stderr


def test_check_exits_0_1_or_2_as_pytest_does(tmp_path, solved_a1, released_a1):
    passing = autograder_cli("check", "a1_linear", "--submission", str(solved_a1), "--device",
                             "cpu", "--isolation", "rlimits")
    failing = autograder_cli("check", "a1_linear", "--submission", str(released_a1),
                             "--device", "cpu", "--isolation", "rlimits")
    missing = autograder_cli("check", "a1_linear", "--submission", str(tmp_path / "nowhere"))
    assert (passing.returncode, failing.returncode, missing.returncode) == (0, 1, 2)
    for done in (passing, failing):  # no progress bar in a log
        assert "\r" not in done.stderr and "\r" not in done.stdout


# ---------------------------------------------------------------- hangs and budgets

def test_time_limits_come_from_the_reference_with_a_floor():
    limits = Limits(part_seconds=60, floor_seconds=5, reference_factor=20)
    assert limits.part_limit(None) == 60  # nothing measured: the default
    assert limits.part_limit(0.01) == 5  # a fast part gets the floor
    assert limits.part_limit(1.5) == 30


def test_a_hang_at_import_is_found_once_and_fails_every_part(tmp_path, solved_a1):
    imports = tmp_path / "imports.log"
    folder = copy_solved(solved_a1, tmp_path / "loops", f"""
        open({str(imports)!r}, "a").write("imported\\n")
        while True:
            pass
        """)
    started = time.monotonic()
    report = check_submission("a1_linear", folder, device="cpu", isolation_level=RLIMITS,
                              limits=Limits(import_seconds=2))
    assert report.score == 0
    assert {result.message for result in report.results} == {
        "importing your minidl (minidl/linear.py) did not finish within 2 s, so no part could "
        "run: look for an endless loop or a long computation at the top level of a file "
        "(outside any function)"}
    assert imports.read_text() == "imported\n"  # one sandbox, one limit, for all 13 parts
    assert time.monotonic() - started < 30


def test_a_hang_at_import_names_a_package_by_its_init_file(tmp_path, solved_submission):
    folder = shutil.copytree(solved_submission("a5_optim"), tmp_path / "loops")
    package = folder / "minidl" / "optim" / "__init__.py"
    package.write_text(package.read_text() + "\nwhile True:\n    pass\n")
    report = check_submission("a5_optim", folder, device="cpu", isolation_level=RLIMITS,
                              limits=Limits(import_seconds=2))
    assert report.score == 0
    (message,) = {result.message for result in report.results}
    assert "minidl/optim/__init__.py" in message and "minidl/optim.py" not in message
    assert "minidl/data.py" in message


def test_the_budget_fails_the_parts_left_when_it_runs_out(tmp_path, solved_a1):
    folder = copy_solved(solved_a1, tmp_path / "slow", """
        def hinge_loss_naive(scores, y, margin=1.0):
            while True:
                pass

        hinge_loss = hinge_loss_naive
        """)
    report = check_submission("a1_linear", folder, device="cpu", isolation_level=RLIMITS,
                              limits=Limits(part_seconds=2, budget_seconds=4))
    results = {result.name: result for result in report.results}
    assert results["softmax_loss.matches_naive"].passed  # before the hangs
    # The first hang costs its part's limit, unless the budget ends first on a slow machine.
    first_hang = results["hinge_loss_naive.value"].message
    assert "more than 2 s" in first_hang or "ran out during this part" in first_hang
    later = report.results[[r.name for r in report.results].index("l2_penalty.value"):]
    assert later and all("budget of 4 s ran out before this part" in r.message for r in later)
    assert not report.errors


def test_a_hanging_class_pays_the_reference_derived_limit(tmp_path, solved_a1):
    submissions = tmp_path / "class"
    copy_solved(solved_a1, submissions / "alice")
    copy_solved(solved_a1, submissions / "hangs", "def softmax(scores):\n    while True:\n"
                                                  "        pass\n")
    reports = grade_class("a1_linear", submissions, jobs=2, device="cpu", progress=False,
                          isolation_level=RLIMITS)
    assert reports["alice"].score == 35
    failed = {r.name: r.message for r in reports["hangs"].results if not r.passed}
    assert set(failed) == {"softmax.value", "softmax.stability", "LinearClassifier.predict"}
    # The reference takes milliseconds, so the part gets the 5 s floor, not 60 s; then the
    # hanging function is not called again: one limit for the whole submission.
    assert failed["softmax.value"] == ("your code ran for more than 5 s: look for an endless "
                                       "loop or a very slow one")
    assert failed["softmax.stability"] == (
        "linear.softmax did not return in an earlier part (your code ran for more than 5 s), "
        "so it is not called again: look for an endless loop or a very slow one")


def test_the_gradebook_leaves_a_grader_error_unscored_and_flagged(solved_report, solved_a1,
                                                                  tmp_path):
    from nbgrader.api import Gradebook

    from autograder.classroom import write_gradebook
    from autograder.release import generate

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    generate("a1_linear", tmp_path / "release", db_url=db_url)
    submitted = tmp_path / "submitted"
    for student in ("alice", "bob"):
        shutil.copytree(solved_a1, submitted / student / "a1_linear")
    write_gradebook(db_url, "a1_linear", reports_with_a_grader_error(solved_report), submitted)
    with Gradebook(db_url) as gradebook:
        errored = gradebook.find_grade("softmax-value", "a1_linear", "a1_linear", "bob")
        assert errored.auto_score is None and errored.needs_manual_grade
        graded = gradebook.find_grade("softmax-stability", "a1_linear", "a1_linear", "bob")
        assert graded.auto_score == 1 and not graded.needs_manual_grade
        assert gradebook.find_grade("softmax-value", "a1_linear", "a1_linear",
                                    "alice").auto_score == 1
    notebook = json.loads((tmp_path / "autograded" / "bob" / "a1_linear" / "a1_linear.ipynb")
                          .read_text())
    [output] = next(cell["outputs"] for cell in notebook["cells"]
                    if cell["metadata"].get("nbgrader", {}).get("grade_id") == "softmax-value")
    assert "".join(output["text"]).startswith("NOT GRADED softmax.value: the grader failed")


def test_check_survives_code_that_kills_its_parent(tmp_path, solved_a1):
    folder = copy_solved(solved_a1, tmp_path / "killer", """
        def softmax(scores):
            import os, signal
            # The part runs in a fork of the sandbox's server, whose parent is the grader.
            with open(f"/proc/{os.getppid()}/stat") as stat:
                grader = int(stat.read().rsplit(")", 1)[1].split()[1])
            os.kill(grader, signal.SIGKILL)
        """)
    done = autograder_cli("check", "a1_linear", "--submission", str(folder), "--device", "cpu",
                          "--isolation", "rlimits", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    failed = {c["name"]: c["message"] for c in report["checks"] if c["outcome"] != "passed"}
    assert set(failed) == {"softmax.value", "softmax.stability", "LinearClassifier.predict"}
    assert all("stopped the grader's own process" in message for message in failed.values())
