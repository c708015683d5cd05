"""Gradescope: an autograder bundle for one assignment, and the ``results.json`` it writes.

Gradescope unpacks the bundle into ``/autograder/source``, runs ``setup.sh`` once when it
builds its image, and then runs ``run_autograder`` for each upload, which lies in
``/autograder/submission``; the results go to ``/autograder/results/results.json``, in the
format of Gradescope's autograder specification: one test per check part, each with its
name, score, max_score and output. Hidden parts are shown to the student only once the
grades are published (visibility ``after_published``).

A submission is graded by ``autograder check ... --json`` in a child process, so with the
same checks and the same isolation as everywhere else. A grader error scores 0 for now, and
its output (and the submission's) says that it is the grader's fault and must be regraded.

The bundle holds the ``autograder`` package, the ``course`` helpers the checks use, and the
release of the assignment (so that an upload of just the student's own modules can be
graded); never ``solutions/``. So it has no catalogue of mistakes either (their patches are
near-solutions, and a submission could read them below bwrap): a wrong answer there is
told what differs and where, without the name of the mistake that gives it.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder import checks
from autograder.layout import ASSIGNMENTS, REPO, minidl_modules

ROOT_VARIABLE = "AUTOGRADER_ROOT"  # where Gradescope's /autograder is; tests point it elsewhere
DEFAULT_ROOT = "/autograder"
TORCH = "torch==2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# What grading imports besides the standard library; the notebook's own libraries are not
# needed to grade the minidl modules.
REQUIREMENTS = ("numpy>=1.26", "tqdm>=4.66", "scikit-learn>=1.3")
COURSE_FILES = ("course/__init__.py", "course/datasets.py")  # the digits data of some checks
# Wall time of one upload's grading; the assignment's timeout on Gradescope must be longer,
# so that results.json is always written.
DEFAULT_BUDGET = 480.0

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
set -euo pipefail
ROOT="${{{root_variable}:-{default_root}}}"
apt-get update
# bubblewrap isolates each submission (autograder check falls back to rlimits where the
# container allows no namespaces, and names the level in every result).
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$ROOT/venv"
# PyTorch's CPU build: Gradescope has no GPU, and the CUDA build is many times larger.
"$ROOT/venv/bin/pip" install --no-cache-dir {torch} --index-url {torch_index}
"$ROOT/venv/bin/pip" install --no-cache-dir {requirements}
# The course's code is used where it lies, as an editable install would: the sandbox starts
# Python with -I, which ignores PYTHONPATH but reads the .pth files of site-packages.
"$ROOT/venv/bin/python" - "$ROOT/source" <<'EOF'
import pathlib, site, sys
pathlib.Path(site.getsitepackages()[0], "course-autograder.pth").write_text(sys.argv[1] + "\\n")
EOF
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grades $ROOT/submission and writes
# $ROOT/results/results.json.
set -euo pipefail
ROOT="${{{root_variable}:-{default_root}}}"
cd "$ROOT"
exec "$ROOT/venv/bin/python" -m autograder.gradescope {assignment} --root "$ROOT" \\
    --budget {budget:g}
"""


def _grading_modules(assignment_id):
    """The assignment's own check and probe modules, in the bundle: what grades it."""
    return {f"autograder/{folder}/{assignment_id}.py" for folder in ("checks", "probes")}


def _bundle_files(assignment_id):
    """{path in the bundle: file here} for the course code grading needs: the autograder
    package without the other assignments' checks and probes, ``course``'s data sets and
    the release."""
    files = {}
    wanted = _grading_modules(assignment_id) | {"autograder/checks/__init__.py",
                                                 "autograder/probes/__init__.py"}
    for path in sorted((REPO / "autograder").rglob("*")):
        name = path.relative_to(REPO).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if name.startswith("autograder/releases/"):  # an installed wheel's releases
            continue
        if path.parent.name in ("checks", "probes") and name not in wanted:
            continue
        files[name] = path
    for name in COURSE_FILES:
        files[name] = REPO / name
    release = ASSIGNMENTS / assignment_id
    if not release.is_dir():
        raise ValueError(f"{release} is missing: run `autograder release {assignment_id}`")
    for path in sorted(release.rglob("*")):
        if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts):
            files[f"assignments/{assignment_id}/{path.relative_to(release).as_posix()}"] = path
    return files


def build_bundle(assignment_id, out, budget=DEFAULT_BUDGET):
    """Write the Gradescope autograder zip of ``assignment_id`` to ``out``; return its path.

    Refuses (ReleaseError) if any file of it, apart from the assignment's own checks and
    probes (which must know what they check), holds a line of a solution the release of
    this assignment does not publish.
    """
    from autograder.release import ReleaseError, find_leaks

    checks.load(assignment_id)  # an unknown assignment fails here, before anything is written
    files = _bundle_files(assignment_id)
    scripts = {
        "setup.sh": SETUP_SH.format(root_variable=ROOT_VARIABLE, default_root=DEFAULT_ROOT,
                                    torch=TORCH, torch_index=TORCH_INDEX,
                                    requirements=" ".join(f'"{r}"' for r in REQUIREMENTS)),
        "run_autograder": RUN_AUTOGRADER.format(root_variable=ROOT_VARIABLE,
                                                default_root=DEFAULT_ROOT,
                                                assignment=assignment_id, budget=budget),
    }
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as scratch:
        for name, path in files.items():
            if name in _grading_modules(assignment_id):
                continue
            target = Path(scratch) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        leaks = find_leaks(scratch, assignment_id)
        if leaks:
            raise ReleaseError("the Gradescope bundle would hold solution code: "
                               + "; ".join(leaks))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as bundle:
        # Gradescope wants the two scripts at the top of the archive, executable.
        for name, text in scripts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
        for name, path in files.items():
            bundle.write(path, name)
    os.replace(staged, out)
    return out


# ------------------------------------------------------------------ grading one upload

def _module_folder(submission):
    """The shallowest folder of the upload that holds a ``minidl`` package, or None."""
    found = sorted((path.parent for path in Path(submission).rglob("minidl") if path.is_dir()),
                   key=lambda folder: (len(folder.parts), str(folder)))
    return found[0] / "minidl" if found else None


def _is_module_file(path, module):
    """Whether the file at ``path`` is minidl's ``module`` uploaded on its own: the same file
    name, and for a package's ``__init__.py`` the same folder name too."""
    parts = Path(module).parts
    count = 2 if parts[-1] == "__init__.py" else 1
    return Path(path).parts[-count:] == parts[-count:]


def assemble_submission(assignment_id, submission, out):
    """Make the folder ``autograder check`` grades: the release of the assignment, with the
    student's modules over its own. The upload may be the assignment folder itself, a folder
    that holds it, or just the student's module files (``linear.py``, ...).

    Return a note for the student when the upload holds none of the assignment's modules.
    """
    shutil.copytree(ASSIGNMENTS / assignment_id, out,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    own = minidl_modules(assignment_id)[1]
    package = _module_folder(submission)
    if package is not None:
        sources = {path.relative_to(package).as_posix(): path
                   for path in sorted(package.rglob("*.py")) if "__pycache__" not in path.parts}
    else:
        sources = {}
        for path in sorted(Path(submission).rglob("*.py"), key=lambda p: len(p.parts)):
            for module in own:  # the shallowest file of each module's name
                if module not in sources and _is_module_file(path, module):
                    sources[module] = path
    for module, path in sources.items():
        (Path(out) / "minidl" / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(out) / "minidl" / module)
    if not set(sources) & set(own):
        return (f"the upload holds none of {', '.join(own)} (neither in a minidl folder nor "
                "on its own), so the starter code was graded: upload your minidl folder "
                "or those files")
    return None


def _test(part, result):
    test = {
        "name": part.name,
        "score": result["points"],
        "max_score": part.points,
        "output": result["message"] or f"correct: {part.summary}",
        "visibility": "visible" if part.visible else "after_published",
    }
    if result["outcome"] != "error":  # a grader error is neither passed nor failed yet
        test["status"] = "passed" if result["outcome"] == "passed" else "failed"
    return test


REGRADE = ("They score 0 for now, which is not your grade: the grader failed, not your code, "
           "and this submission must be graded again.")


def results_json(assignment_id, report, failure=None, notes=(), seconds=None):
    """Gradescope's results from the ``--json`` report of ``autograder check`` (a dict), or,
    where the check produced none, from ``failure`` (the grader's error): then every part
    is a grader error."""
    parts = checks.load(assignment_id).parts
    if report is None:
        message = f"grader error (not your code): {failure}"
        by_name = {part.name: {"points": 0, "message": message, "outcome": "error"}
                   for part in parts}
        lines = [f"{assignment_id}: the grader could not grade this submission: {failure}"]
    else:
        by_name = {entry["name"]: entry for entry in report["checks"]}
        lines = [f"{assignment_id}: {report['score']}/{report['max_score']} points, checked "
                 f"against PyTorch on {report['device']}, your code isolated by "
                 f"{report['isolation']}."]
        lines += [f"note: {note}" for note in report["notes"]]
    lines += [f"note: {note}" for note in notes]
    tests = [_test(part, by_name[part.name]) for part in parts]
    errors = sum(1 for part in parts if by_name[part.name]["outcome"] == "error")
    if errors:
        lines.append(f"grader error: {errors} part(s) could not be graded. {REGRADE}")
    hidden = sum(1 for part in parts if not part.visible)
    if hidden:
        lines.append(f"{hidden} hidden part(s) are shown once the grades are published.")
    results = {
        "score": sum(test["score"] for test in tests),
        "output": "\n".join(lines),
        "output_format": "text",
        "stdout_visibility": "hidden",  # the grader's log names the hidden parts' verdicts
        "tests": tests,
        "extra_data": {"grader_errors": errors},
    }
    if seconds is not None:
        results["execution_time"] = round(seconds, 1)
    return results


def grade_upload(assignment_id, root, budget=DEFAULT_BUDGET):
    """Grade ``root/submission`` and write ``root/results/results.json``; return the results."""
    root = Path(root)
    started = time.monotonic()
    report = failure = note = None
    try:
        with tempfile.TemporaryDirectory(prefix="autograder-upload-") as scratch:
            folder = Path(scratch) / assignment_id
            note = assemble_submission(assignment_id, root / "submission", folder)
            command = [sys.executable, "-m", "autograder.cli", "check", assignment_id,
                       "--submission", str(folder), "--json", "--budget", f"{budget:g}"]
            done = subprocess.run(command, capture_output=True, text=True)
        # The grader's log goes to Gradescope's stdout file, which only instructors see.
        print(done.stderr, file=sys.stderr, end="")
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        failure = (lines[-1] if lines else
                   f"autograder check exited with status {done.returncode} and no report")
    except OSError as error:  # the upload could not be read, or the check not started
        failure = f"{type(error).__name__}: {error}"
    results = results_json(assignment_id, report, failure, [note] if note else [],
                           time.monotonic() - started)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(results["output"])
    return results


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m autograder.gradescope",
        description="Grade the upload in ROOT/submission and write ROOT/results/results.json "
                    "(what the bundle's run_autograder does on Gradescope).")
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get(ROOT_VARIABLE, DEFAULT_ROOT)))
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, metavar="SECONDS")
    args = parser.parse_args(argv)
    grade_upload(args.assignment, args.root, args.budget)
    return 0  # Gradescope reads results.json; a grader error is recorded there


if __name__ == "__main__":
    sys.exit(main())
