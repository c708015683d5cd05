"""`autograder gradescope`: the bundle, run as Gradescope runs it, writes valid results.json."""
import json
import shutil
import site
import stat
import subprocess
import sys
import zipfile

import pytest

from autograder import checks
from autograder.framework import grader_error
from autograder.gradescope import assemble_submission, results_json
from autograder.grading import check_submission
from autograder.isolation import bubblewrap_problem
from autograder.layout import ASSIGNMENTS
from autograder.release import secret_lines

ASSIGNMENT = "a1_linear"
PARTS = checks.load(ASSIGNMENT).parts

# Gradescope's autograder specification: the fields of results.json and of each test.
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
NUMBER = (int, float)
TOP_LEVEL = {"score": NUMBER, "execution_time": NUMBER, "output": str, "output_format": str,
             "test_output_format": str, "test_name_format": str, "visibility": str,
             "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": NUMBER, "max_score": NUMBER, "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str,
        "extra_data": dict}


def assert_gradescope_format(results):
    """Every field is one the specification names, of its type and allowed values."""
    for fields, entry in [(TOP_LEVEL, results)] + [(TEST, test) for test in results["tests"]]:
        assert set(entry) <= set(fields), set(entry) - set(fields)
        for key, value in entry.items():
            assert isinstance(value, fields[key]) and not isinstance(value, bool), (key, value)
        for key in ("visibility", "stdout_visibility"):
            assert entry.get(key, "visible") in VISIBILITIES
        for key in ("output_format", "name_format", "test_output_format", "test_name_format"):
            assert entry.get(key, "text") in FORMATS
        assert entry.get("status", "passed") in ("passed", "failed")
    # A score is required at the top, or on every test.
    assert "score" in results or all("score" in test for test in results["tests"])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / f"{ASSIGNMENT}.zip"
    done = subprocess.run(["autograder", "gradescope", ASSIGNMENT, "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def test_bundle_has_the_scripts_on_top_and_no_solution(bundle):
    with zipfile.ZipFile(bundle) as archive:
        entries = {info.filename: info for info in archive.infolist()}
        texts = {name: archive.read(name).decode() for name in entries}
    for script in ("setup.sh", "run_autograder"):
        assert entries[script].external_attr >> 16 & stat.S_IXUSR, script
    assert f"assignments/{ASSIGNMENT}/minidl/linear.py" in entries
    assert "autograder/checks/a1_linear.py" in entries
    assert not any(name.startswith("solutions/") for name in entries)
    assert "autograder/checks/a2_backprop.py" not in entries  # only this assignment's checks
    secrets = secret_lines(ASSIGNMENT)
    own_checks = {"autograder/checks/a1_linear.py", "autograder/probes/a1_linear.py"}
    for name, text in texts.items():
        if name not in own_checks:
            lines = {line.strip() for line in text.splitlines()}
            assert not lines & secrets, name
    setup = texts["setup.sh"]
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in setup
    assert "bubblewrap" in setup


FAKE_PYTHON = """#!{python}
# Stands in for Ubuntu's python3 while setup.sh runs: `-m venv` makes a virtual environment
# without pip that sees this test's installed packages, with a pip that only records what
# it was asked to install (nothing is downloaded); anything else runs the real interpreter.
import os, pathlib, subprocess, sys
if sys.argv[1:3] == ["-m", "venv"]:
    venv = pathlib.Path(sys.argv[3])
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = next(venv.glob("lib/python*/site-packages"))
    (packages / "installed-packages.pth").write_text({packages!r} + "\\n")
    pip = venv / "bin" / "pip"
    pip.write_text("#!/bin/sh\\necho pip \\"$@\\" >> {log}\\n")
    pip.chmod(0o755)
else:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


@pytest.fixture(scope="module")
def gradescope_root(bundle, tmp_path_factory):
    """A simulated /autograder: the bundle unpacked into source/ and setup.sh run there,
    with apt-get and pip recording their commands instead of installing."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile does not restore the permissions
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    shims, log = root / "shims", root / "installed.log"
    shims.mkdir()
    (shims / "apt-get").write_text(f'#!/bin/sh\necho apt-get "$@" >> {log}\n')
    (shims / "python3").write_text(FAKE_PYTHON.format(
        python=sys.executable, packages=site.getsitepackages()[0], log=log))
    for shim in shims.iterdir():
        shim.chmod(0o755)
    env = {"PATH": f"{shims}:/usr/bin:/bin", "AUTOGRADER_ROOT": str(root)}
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = log.read_text()
    assert "apt-get install -y --no-install-recommends bubblewrap" in installed
    assert "pip install --no-cache-dir torch==2.13.0 --index-url " \
           "https://download.pytorch.org/whl/cpu" in installed
    # Gradescope copies run_autograder to the top of /autograder.
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def run_autograder(root, submission):
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    shutil.copytree(submission, root / "submission")
    done = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "AUTOGRADER_ROOT": str(root)})
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_grader_comes_from_the_bundle(gradescope_root):
    python = gradescope_root / "venv" / "bin" / "python"
    where = "import autograder; print(autograder.__file__)"
    done = subprocess.run([str(python), "-I", "-c", where], capture_output=True, text=True,
                          check=True)
    assert done.stdout.startswith(str(gradescope_root / "source" / "autograder"))


def test_solved_submission_earns_every_point(gradescope_root, solved_a1):
    results = run_autograder(gradescope_root, solved_a1)
    assert_gradescope_format(results)
    assert [test["name"] for test in results["tests"]] == [part.name for part in PARTS]
    assert results["score"] == sum(part.points for part in PARTS) == 35
    for test, part in zip(results["tests"], PARTS, strict=True):
        assert (test["score"], test["max_score"], test["status"]) == (part.points, part.points,
                                                                      "passed")
        assert test["visibility"] == ("visible" if part.visible else "after_published")
    assert "after_published" in {test["visibility"] for test in results["tests"]}
    # The level this machine allows, named to the student (bwrap where it works).
    level = "bwrap" if bubblewrap_problem() is None else "rlimits"
    assert f"isolated by {level}" in results["output"]
    assert results["extra_data"]["grader_errors"] == 0


def test_untouched_release_scores_zero_with_the_checks_messages(gradescope_root, tmp_path):
    # Uploaded as a folder that holds the assignment folder.
    upload = tmp_path / "upload"
    shutil.copytree(ASSIGNMENTS / ASSIGNMENT, upload / ASSIGNMENT)
    results = run_autograder(gradescope_root, upload)
    assert_gradescope_format(results)
    assert results["score"] == 0
    direct = check_submission(ASSIGNMENT, ASSIGNMENTS / ASSIGNMENT, device="cpu")
    for test, result in zip(results["tests"], direct.results, strict=True):
        assert (test["name"], test["score"], test["status"]) == (result.name, 0, "failed")
        assert test["output"] == result.message
    assert "not implemented yet" in results["tests"][0]["output"]


def test_loose_module_files_are_graded_in_the_release(tmp_path, solved_a1):
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(solved_a1 / "minidl" / "linear.py", upload / "linear.py")
    assert assemble_submission(ASSIGNMENT, upload, tmp_path / "graded") is None
    graded = tmp_path / "graded" / "minidl"
    assert (graded / "linear.py").read_text() == (upload / "linear.py").read_text()
    assert (graded / "_validate.py").is_file()  # from the release
    note = assemble_submission(ASSIGNMENT, tmp_path / "upload-empty", tmp_path / "again")
    assert "linear.py" in note and "starter code was graded" in note


def test_a_grader_error_is_not_a_zero_but_a_regrade(solved_a1):
    report = check_submission(ASSIGNMENT, solved_a1, device="cpu")
    broken = report.results[3]
    assert broken.outcome == "passed"
    report.results[3] = grader_error(PARTS[3], "the PyTorch reference failed")
    results = results_json(ASSIGNMENT, report.to_dict())
    assert_gradescope_format(results)
    test = results["tests"][3]
    assert test["score"] == 0 and "status" not in test
    assert test["output"].startswith("grader error (not your code)")
    assert results["score"] == 35 - broken.max_points
    assert "graded again" in results["output"] and results["extra_data"]["grader_errors"] == 1
    # No report at all (the sandbox did not start): every part is a grader error.
    results = results_json(ASSIGNMENT, None, failure="grader error: bwrap failed")
    assert_gradescope_format(results)
    assert results["score"] == 0 and results["extra_data"]["grader_errors"] == len(PARTS)
    assert all("not your code" in test["output"] for test in results["tests"])
    assert "could not grade" in results["output"] and "graded again" in results["output"]
