"""Making the student release of an assignment from its solution, and checking it.

nbgrader's ``generate_assignment`` strips the notebook (solution cells become
stubs, hidden tests disappear) but copies ``.py`` files untouched, so this module
assembles the release's ``minidl`` itself: this assignment's modules with every
``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region replaced by a stub that
raises NotImplementedError, earlier assignments' modules complete (markers
removed), later assignments' modules left out.

A region belongs to the assignment of its module, unless its begin marker names
another one: ``### BEGIN SOLUTION a4_init_norm`` in ``layers.py`` (an a2 module)
marks code that students write in a4. Such a region is a stub in every release up
to its own assignment's and complete after it.

A check part's points, grade id and visibility are declared once, by ``@part(name,
points=..., visible=...)`` in autograder/checks/ASSIGNMENT. In the solution notebook the
part's grade cell is a code cell whose source is ``check("<part name>")`` and nothing else,
marked only by the nbgrader metadata ``{"grade": true}``: no grade id, no points, no
hidden-test markers (a cell that has them is refused, so they cannot disagree with the part).
Each part has exactly one grade cell, and the cells follow the order in which the checks
module declares the parts. Before nbgrader reads the notebook, the release fills each grade
cell from its part (``fill_grade_cells``): the grade id (the part's name with "-" for "."),
the points, locked, and for a hidden part the call between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` under a one-line comment made of the part's summary (the first line
of its docstring), the only trace of the part that students see. nbgrader run by hand on
solutions/ refuses these cells, which have no grade id: releases are made by
``autograder release``.
"""
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from itertools import pairwise
from pathlib import Path

import nbformat

from autograder import checks
from autograder.errors import ReleaseError
from autograder.layout import (
    ASSIGNMENT_MODULES,
    ASSIGNMENTS,
    REFERENCE_MINIDL,
    REPO,
    SHARED_MODULES,
    SOLUTIONS,
    check_assignment_id,
    minidl_modules,
)

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
DEFINITION = re.compile(r"^(\s*)(?:def|class)\s+(\w+)")


# ------------------------------------------------------------------ solution regions in .py files

def _regions(lines, path):
    """Yield (begin, end, owner) for each solution region: its line indices and the
    assignment named on its begin marker (None when it names none); reject bad markers."""
    begin = owner = None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker.startswith(BEGIN_SOLUTION):
            if begin is not None:
                raise ReleaseError(f"{path}:{number + 1}: nested {BEGIN_SOLUTION}")
            begin, owner = number, marker[len(BEGIN_SOLUTION):].strip() or None
            if owner is not None and owner not in ASSIGNMENT_MODULES:
                raise ReleaseError(f"{path}:{number + 1}: {BEGIN_SOLUTION} names an unknown "
                                   f"assignment {owner!r}")
        elif marker == END_SOLUTION:
            if begin is None:
                raise ReleaseError(f"{path}:{number + 1}: {END_SOLUTION} without a begin")
            yield begin, number, owner
            begin = None
    if begin is not None:
        raise ReleaseError(f"{path}:{begin + 1}: {BEGIN_SOLUTION} is never closed")


def _qualified_name(lines, number):
    """The dotted name of the function or class that encloses line ``number``."""
    names, indent = [], len(lines[number]) - len(lines[number].lstrip())
    for line in reversed(lines[:number]):
        match = DEFINITION.match(line)
        if match and len(match.group(1)) < indent:
            names.insert(0, match.group(2))
            indent = len(match.group(1))
    return ".".join(names) or "this code"


def module_owner(path):
    """The assignment that adds the minidl module at ``path`` (None for the shared modules):
    its path inside the reference minidl, or a file name such as ``"linear.py"``."""
    path = Path(path)
    name = (path.relative_to(REFERENCE_MINIDL).as_posix() if path.is_relative_to(REFERENCE_MINIDL)
            else path.name)
    for assignment_id, modules in ASSIGNMENT_MODULES.items():
        if name in modules:
            return assignment_id
    return None


def _is_published(owner, assignment_id, solved=False):
    """Whether a region of ``owner`` ships complete in the release of ``assignment_id``."""
    if owner is None:
        return True
    order = list(ASSIGNMENT_MODULES)
    if solved:
        return order.index(owner) <= order.index(assignment_id)
    return order.index(owner) < order.index(assignment_id)


def release_source(text, path, assignment_id, solved=False):
    """A minidl module's text as the release of ``assignment_id`` ships it.

    Regions of earlier assignments keep their reference code (markers removed); the others
    become a stub that raises NotImplementedError naming the notebook to read. ``solved``
    keeps ``assignment_id``'s own regions too (the folder of a student who solved it).
    """
    lines = text.splitlines(keepends=True)
    default_owner = module_owner(path)
    output, position = [], 0
    for begin, end, tag in _regions(lines, path):
        owner = tag or default_owner
        output += lines[position:begin]
        position = end + 1
        if _is_published(owner, assignment_id, solved):
            output += lines[begin + 1:end]
            continue
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        message = (f"{_qualified_name(lines, begin)}: write it (see its docstring and "
                   f"{owner}.ipynb)")
        output.append(f"{indent}# YOUR CODE HERE\n")
        output.append(f"{indent}raise NotImplementedError({message!r})\n")
    return "".join(output + lines[position:])


def write_minidl(assignment_id, destination, solved=False):
    """Write the ``minidl`` package of ``assignment_id``'s release (or its solved version)."""
    earlier, own = minidl_modules(assignment_id)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in SHARED_MODULES + earlier + own:
        path = REFERENCE_MINIDL / name
        (destination / name).parent.mkdir(parents=True, exist_ok=True)  # a package's folder
        (destination / name).write_text(
            release_source(path.read_text(), path, assignment_id, solved))


# ------------------------------------------------------------------ grade cells

CHECK_CALL = re.compile(r'check\("([^"\\]+)"\)')
HIDDEN_COMMENT = "Hidden check (runs when your work is graded): "
GRADE_CELL_MARK = {"grade": True}


def is_grade_cell(cell):
    """Whether a notebook cell is graded by a check part (a written answer is graded too, but
    it is also a solution cell)."""
    nbgrader = cell["metadata"].get("nbgrader", {})
    return bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def grade_cell_source(part):
    """The source of ``part``'s grade cell as nbgrader's generate_assignment reads it."""
    call = f'check("{part.name}")'
    if part.visible:
        return call
    return "\n".join([f"# {HIDDEN_COMMENT}{part.summary}", BEGIN_HIDDEN, call, END_HIDDEN])


def grade_cell_metadata(part):
    """The nbgrader metadata of ``part``'s grade cell."""
    return {"grade": True, "grade_id": part.name.replace(".", "-"), "locked": True,
            "points": part.points, "schema_version": 3, "solution": False, "task": False}


def grade_cell_order_problems(part_names, cell_names):
    """A problem for each grade cell that follows the cell of a part declared after its own:
    ``cell_names`` in notebook order, ``part_names`` in the order of the checks module, which
    is the order of truth. Names that are not parts, and repeats, are left to the caller."""
    position = {name: index for index, name in enumerate(part_names)}
    known = [name for name in dict.fromkeys(cell_names) if name in position]
    return [f"the grade cell of {later!r} comes after that of {earlier!r}, but the checks "
            f"module declares {later!r} first"
            for earlier, later in pairwise(known) if position[earlier] > position[later]]


def grade_cell_problems(part_names, cell_names):
    """What is wrong between the parts of a checks module (``part_names``, in its order) and
    the parts that a notebook's grade cells name (``cell_names``, in notebook order)."""
    counts = Counter(cell_names)
    problems = [f"a grade cell names {name!r}, which is not a part" for name in counts
                if name not in part_names]
    problems += [f"part {name!r} has no grade cell" for name in part_names if name not in counts]
    problems += [f"part {name!r} has {counts[name]} grade cells" for name in part_names
                 if counts[name] > 1]
    return problems + grade_cell_order_problems(part_names, cell_names)


def fill_grade_cells(notebook, assignment, where):
    """Give every grade cell of ``notebook`` (changed in place) the metadata and source of its
    part of ``assignment``; a ReleaseError lists each cell that does not fit the parts."""
    named, problems = [], []
    for index, cell in enumerate(notebook["cells"]):
        if not is_grade_cell(cell):
            continue
        call = CHECK_CALL.fullmatch(cell["source"].strip())
        if cell["cell_type"] != "code" or call is None:
            problems.append(f'cell {index}: a grade cell is one code line, check("<part name>"), '
                            f"not {cell['source'][:60]!r}")
        elif cell["metadata"]["nbgrader"] != GRADE_CELL_MARK:
            problems.append(f"cell {index} ({call[1]}): its nbgrader metadata must be "
                            f"{json.dumps(GRADE_CELL_MARK)} only: points, grade id and "
                            "visibility come from the part's @part declaration")
        else:
            named.append((call[1], cell))
    problems += grade_cell_problems([part.name for part in assignment.parts],
                                    [name for name, _ in named])
    if problems:
        raise ReleaseError(f"{where}: the grade cells do not match the parts of "
                           f"autograder.checks.{assignment.id}:\n  " + "\n  ".join(problems))
    for name, cell in named:
        part = assignment.get(name)
        cell["source"] = grade_cell_source(part)
        cell["metadata"]["nbgrader"] = grade_cell_metadata(part)
    return notebook


def write_source(assignment_id, root):
    """Write ``root/assignment_id``: the solution folder as nbgrader's generate_assignment
    reads it, the notebook's grade cells filled from the parts (minidl is left out: the
    release writes its own)."""
    check_assignment_id(assignment_id)
    require_solutions()
    folder = Path(root) / assignment_id
    shutil.copytree(SOLUTIONS / assignment_id, folder,
                    ignore=shutil.ignore_patterns("minidl", "__pycache__", ".ipynb_checkpoints"))
    path = folder / f"{assignment_id}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    fill_grade_cells(notebook, checks.load(assignment_id),
                     _shown(SOLUTIONS / assignment_id / path.name))
    nbformat.write(notebook, path)
    return folder


# ------------------------------------------------------------------ nbgrader

def _nbgrader(*args):
    """Run an nbgrader command with the course's configuration (autograder/nbgrader_config.py)."""
    env = dict(os.environ)
    # nbgrader runs `alembic` by name, so this environment's bin folder must be on PATH.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    command = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(command, cwd=REPO / "autograder", env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise ReleaseError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def require_solutions():
    """ReleaseError unless solutions/ is here: an installed wheel or a student edition has none."""
    if not SOLUTIONS.is_dir():
        raise ReleaseError(f"{SOLUTIONS} is missing: releases are made in the full course "
                           "repository, which holds solutions/")


def generate(assignment_id, release_root, db_url=None):
    """Generate ``release_root/assignment_id`` from solutions/ with nbgrader, plus minidl."""
    with tempfile.TemporaryDirectory() as source_root:
        write_source(assignment_id, source_root)
        args = ["generate_assignment", assignment_id, "--force",
                f"--CourseDirectory.source_directory={source_root}",
                f"--CourseDirectory.release_directory={release_root}"]
        if db_url:
            args.append(f"--db={db_url}")
        _nbgrader(*args)
    folder = Path(release_root) / assignment_id
    shutil.rmtree(folder / "minidl", ignore_errors=True)
    write_minidl(assignment_id, folder / "minidl")
    return folder


def release(assignment_id):
    """Regenerate assignments/ASSIGNMENT, recording the assignment in the course gradebook."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = generate(assignment_id, scratch)
        target = ASSIGNMENTS / assignment_id
        # Swap in the new release only once it is complete.
        ASSIGNMENTS.mkdir(exist_ok=True)
        staged = ASSIGNMENTS / f".{assignment_id}.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(fresh, staged)
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
    return target


def check_release(assignment_id):
    """Problems with the committed release: stale files and leaked solution lines."""
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        fresh = generate(assignment_id, Path(scratch) / "release",
                         db_url=f"sqlite:///{scratch}/gradebook.db")
        problems += _differences(fresh, ASSIGNMENTS / assignment_id)
    problems += find_leaks(ASSIGNMENTS / assignment_id, assignment_id)
    return problems


def _differences(fresh, committed):
    if not committed.is_dir():
        return [f"{_shown(committed)} is missing: run `autograder release`"]
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    committed_files = {
        p.relative_to(committed) for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }
    problems = []
    for name in sorted(fresh_files | committed_files):
        where = _shown(committed / name)
        if name not in committed_files:
            problems.append(f"{where} is missing from the release: run `autograder release`")
        elif name not in fresh_files:
            problems.append(f"{where} is not produced by the release: remove it")
        elif not filecmp.cmp(fresh / name, committed / name, shallow=False):
            problems.append(f"{where} is out of date: run `autograder release`")
    return problems


def _shown(path):
    """A path relative to the repository when it lies inside it."""
    path = Path(path)
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


# ------------------------------------------------------------------ leak detection

def _region_lines(lines, begin_marker, end_marker):
    inside, found = False, []
    for line in lines:
        marker = line.strip()
        if marker == begin_marker:
            inside = True
        elif marker == end_marker:
            inside = False
        elif inside:
            found.append(marker)
    return found


def _source_texts(assignment_id=None):
    """(lines, hidden) for each solution-side text, a .py file or one notebook cell:
    ``hidden`` are the stripped lines that the release of ``assignment_id`` (any release,
    when None) must not contain."""
    for path in sorted(REFERENCE_MINIDL.rglob("*.py")):
        lines = path.read_text().splitlines()
        default_owner = module_owner(path)
        hidden = set()
        for begin, end, tag in _regions(lines, path):
            owner = tag or default_owner
            if assignment_id is None or not _is_published(owner, assignment_id):
                hidden |= {line.strip() for line in lines[begin + 1:end]}
        yield lines, hidden
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            lines = "".join(cell["source"]).splitlines()
            if not is_grade_cell(cell):
                yield lines, set(_region_lines(lines, BEGIN_SOLUTION, END_SOLUTION))
    for other in ASSIGNMENT_MODULES:  # the grade cells as the release fills them
        for part in checks.load(other).parts:
            lines = grade_cell_source(part).splitlines()
            yield lines, set(_region_lines(lines, BEGIN_HIDDEN, END_HIDDEN))


def secret_lines(assignment_id=None):
    """Lines that appear only inside solution or hidden-test regions of solutions/.

    Short lines and lines that also appear outside any region (a shared
    ``return losses``, say) are not secrets; with ``assignment_id``, neither are the lines
    of the earlier assignments' regions, which its release ships complete.
    """
    secret, public = set(), set()
    for lines, hidden in _source_texts(assignment_id):
        secret |= hidden
        public |= {line.strip() for line in lines} - hidden
    return {line for line in secret - public if len(line) >= 12}


def find_leaks(folder, assignment_id=None):
    """Problems naming each file of ``folder`` (the release of ``assignment_id``, if given)
    that contains a secret solution line."""
    secrets = secret_lines(assignment_id)
    problems = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".ipynb"):
            continue
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        leaked = sorted({line.strip() for line in text.splitlines()} & secrets)
        if leaked:
            problems.append(f"{_shown(path)} leaks solution code: {leaked[0]!r}"
                            + (f" and {len(leaked) - 1} more lines" if len(leaked) > 1 else ""))
    return problems


# ------------------------------------------------------------------ the solved submission

def write_solved(assignment_id, out):
    """Write the folder a student would submit after solving everything with the reference.

    The released notebook with each solution cell given the solution's code
    (markers removed), and the solved ``minidl``.
    """
    check_assignment_id(assignment_id)
    require_solutions()
    released = ASSIGNMENTS / assignment_id
    if not released.is_dir():
        raise ReleaseError(f"{released} is missing: run `autograder release {assignment_id}`")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} exists and is not empty")
    shutil.copytree(released, out, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.rmtree(out / "minidl")
    write_minidl(assignment_id, out / "minidl", solved=True)
    notebook_name = f"{assignment_id}.ipynb"
    source = json.loads((SOLUTIONS / assignment_id / notebook_name).read_text())
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: cell
        for cell in source["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    notebook = json.loads((out / notebook_name).read_text())
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell["metadata"]["nbgrader"].get("solution"):
            text = "".join(answers[grade_id]["source"])
            if cell["cell_type"] == "code":
                text = release_source(text, f"{notebook_name}:{grade_id}", assignment_id,
                                      solved=True)
            cell["source"] = text
    (out / notebook_name).write_text(json.dumps(notebook, indent=1) + "\n")
    return out
