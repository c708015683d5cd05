"""Catalogues of mistakes: what a wrong answer means.

Each assignment's ``solutions/mistakes/<assignment>.py`` lists the common mistakes of its
parts; it lives with the reference solutions, because its patches are near-solutions. A
``Mistake`` has a name, the part it belongs to, the explanation the student reads, and a
*patch*: source appended to a module of the reference ``minidl`` (a later ``def`` replaces
an earlier one; a method is re-assigned on its class), so that the reference then makes
exactly that mistake.

When a student's answer is wrong, the part asks the same question of the reference with
each of its mistakes applied (``PatchedReference``, in the grader's own process: the
reference is trusted numpy code) and explains the answer only when it equals that
mistake's answer, so an explanation is never a guess. The mutation tests
(``tests/test_mutations.py``) apply the same patches to a solved submission and require the
part to fail with the explanation.

A copy of the course without the reference solutions (the student edition, the wheel)
has no catalogues: its messages say what differs and where, without naming a mistake.
"""
import atexit
import importlib
import importlib.util
import pkgutil
import shutil
import sys
import tempfile
import textwrap
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.layout import REFERENCE_MINIDL, SOLUTIONS
from autograder.sandbox import imported_minidl

CATALOGUES = SOLUTIONS / "mistakes"


@dataclass(frozen=True)
class Mistake:
    name: str
    part: str
    explanation: str
    patch: tuple  # ((module file, source appended), ...)

    def patched_sources(self, minidl_folder):
        """Every module this mistake changes: {file: reference text + patch}."""
        sources = {}
        for module, code in self.patch:
            text = sources.get(module) or (Path(minidl_folder) / module).read_text()
            sources[module] = text + "\n\n" + textwrap.dedent(code).strip() + "\n"
        return sources


class Catalogue:
    """The mistakes of one assignment, in the order they are tried. ``module`` is the file
    a patch goes into unless it names another one."""

    def __init__(self, assignment_id, module):
        self.assignment_id, self.module = assignment_id, module
        self.mistakes = []

    def add(self, name, part, explanation, code, module=None):
        if any(mistake.name == name for mistake in self.mistakes):
            raise ValueError(f"{self.assignment_id}: two mistakes named {name!r}")
        self.mistakes.append(Mistake(name, part, explanation, ((module or self.module, code),)))

    def for_part(self, part_name):
        return tuple(mistake for mistake in self.mistakes if mistake.part == part_name)


_catalogues = {}


def load(assignment_id):
    """The assignment's catalogue, or None where this copy of the course has none."""
    path = CATALOGUES / f"{assignment_id}.py"
    if not (REFERENCE_MINIDL.is_dir() and path.is_file()):
        return None
    if assignment_id not in _catalogues:
        spec = importlib.util.spec_from_file_location(f"_mistakes_of_{assignment_id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _catalogues[assignment_id] = module.MISTAKES
    return _catalogues[assignment_id]


# ------------------------------------------------------------------ asking a patched reference

@contextmanager
def installed_minidl(modules):
    """Make ``modules`` ({name: module}) the ``minidl`` package while the block runs, and
    put back whatever ``minidl`` this process had (a notebook's kernel has the student's)."""
    own = imported_minidl()
    for name in own:
        del sys.modules[name]
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name in imported_minidl():
            del sys.modules[name]
        sys.modules.update(own)


def import_package(folder):
    """Import the ``minidl`` package in ``folder`` and all its modules, apart from any other
    ``minidl``; returns {module name: module}."""
    init = Path(folder) / "__init__.py"
    spec = importlib.util.spec_from_file_location("minidl", init,
                                                  submodule_search_locations=[str(folder)])
    with installed_minidl({}):
        package = importlib.util.module_from_spec(spec)
        sys.modules["minidl"] = package
        spec.loader.exec_module(package)
        for info in pkgutil.walk_packages([str(folder)], prefix="minidl."):
            importlib.import_module(info.name)
        return imported_minidl()


@contextmanager
def quiet():
    """A mistake's overflow is its answer, not news for whoever runs the grader."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


class PatchedReference:
    """The reference ``minidl`` with one mistake applied, asked as a ``Student`` is: the same
    ``call`` and ``object`` requests, the same plain-data answers."""

    _packages = {}  # mistake name -> imported modules, once per process

    def __init__(self, assignment_id, mistake):
        self.key = (assignment_id, mistake.name)
        self.mistake = mistake

    def _modules(self):
        if self.key not in self._packages:
            root = tempfile.mkdtemp(prefix="autograder-mistake-")
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            folder = Path(root) / "minidl"
            shutil.copytree(REFERENCE_MINIDL, folder,
                            ignore=shutil.ignore_patterns("__pycache__"))
            for module, text in self.mistake.patched_sources(REFERENCE_MINIDL).items():
                (folder / module).write_text(text)
            self._packages[self.key] = import_package(folder)
        return self._packages[self.key]

    def call(self, target, *args, **kwargs):
        return self._ask("call", target, args, kwargs)

    def object(self, target, *args, **kwargs):
        return self._ask("object", target, args, kwargs)

    def _ask(self, method, target, args, kwargs):
        """One question, asked of the patched package with its module-level names put back
        afterwards, so the same question always gets the same answer."""
        from autograder.student import InProcessStudent

        student = InProcessStudent()
        with installed_minidl(self._modules()), quiet(), student.part():
            return getattr(student, method)(target, *args, **kwargs)


# ------------------------------------------------------------------ comparing answers

def same_answer(got, candidate, rtol, atol):
    """Whether two plain-data answers are equal: numbers and arrays within tolerance (NaN
    equal to NaN: an overflow is a mistake's answer too), containers item by item."""
    if isinstance(candidate, dict):
        return (isinstance(got, dict) and got.keys() == candidate.keys()
                and all(same_answer(got[k], candidate[k], rtol, atol) for k in candidate))
    if isinstance(candidate, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(candidate)
                and all(same_answer(g, c, rtol, atol)
                        for g, c in zip(got, candidate, strict=True)))
    if isinstance(candidate, (bool, str)) or candidate is None:
        return type(got) is type(candidate) and got == candidate
    try:
        got_array = np.asarray(got, dtype=np.float64)
        candidate_array = np.asarray(candidate, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return (got_array.shape == candidate_array.shape
            and np.allclose(got_array, candidate_array, rtol=rtol, atol=atol, equal_nan=True))
