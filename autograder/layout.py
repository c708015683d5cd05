"""Where the course's parts live, and which minidl modules each assignment adds.

In a checkout of the course (installed with ``pip install -e .``) everything lies in the
repository. An installed wheel has no repository: it carries the released assignments as the
data folder ``autograder/releases`` (see pyproject.toml), and no solutions.
"""
import importlib.resources
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A checkout of the course, full or a student edition; not so for the site-packages folder
# that holds an installed wheel.
IS_CHECKOUT = (REPO / "pyproject.toml").is_file()
SOLUTIONS = REPO / "solutions"
INSTALLED_RELEASES = Path(str(importlib.resources.files("autograder") / "releases"))
ASSIGNMENTS = INSTALLED_RELEASES if INSTALLED_RELEASES.is_dir() else REPO / "assignments"
REFERENCE_MINIDL = SOLUTIONS / "minidl"
# The student edition leaves out the release tooling, with the solutions and hidden checks.
STUDENT_EDITION = not (Path(__file__).resolve().parent / "release.py").is_file()

# In course order. A release of an assignment ships its own modules as stubs and
# the modules of every earlier assignment complete, so nobody is blocked by an
# earlier assignment they did not finish.
ASSIGNMENT_MODULES = {
    "a1_linear": ("linear.py",),
    "a2_backprop": ("layers.py",),
    "a3_autodiff": ("autograd.py", "forward.py"),
    "a4_init_norm": ("init.py", "nn.py"),
    "a5_optim": ("optim/__init__.py", "optim/lr_scheduler.py", "data.py"),
    "a6_cnn": ("conv.py",),
}
SHARED_MODULES = ("__init__.py", "_validate.py")


def check_assignment_id(assignment_id):
    if assignment_id not in ASSIGNMENT_MODULES:
        known = ", ".join(ASSIGNMENT_MODULES)
        raise ValueError(f"unknown assignment {assignment_id!r}; known assignments: {known}")
    return assignment_id


def minidl_modules(assignment_id):
    """(earlier complete modules, this assignment's modules) for a release."""
    check_assignment_id(assignment_id)
    earlier = []
    for other, modules in ASSIGNMENT_MODULES.items():
        if other == assignment_id:
            return tuple(earlier), modules
        earlier.extend(modules)
    raise AssertionError("unreachable")


def fetch(assignment_id, to=None):
    """Copy the release of ``assignment_id`` into the folder ``to`` (default: the current
    directory) and return the copy; an existing folder is never overwritten."""
    check_assignment_id(assignment_id)
    source = ASSIGNMENTS / assignment_id
    if not source.is_dir():
        raise ValueError(f"{assignment_id} is not in this copy of the course ({ASSIGNMENTS})")
    target = Path(to if to is not None else Path.cwd()) / assignment_id
    if target.exists():
        raise ValueError(f"{target} already exists: your work there is left as it is; give "
                         "another folder with --to DIR")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return target
