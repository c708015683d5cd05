"""The student edition: the repository a class is given.

It holds the lectures, ``course/``, the releases of the assignments named and the autograder,
and leaves out ``solutions/``, the release tooling and the code of every hidden check part.
A hidden part stays registered with its name, points and docstring, so totals and listings
are right, but its body is replaced by ``raise HiddenPart()``: in the edition it is reported
as graded after submission. Helpers that only hidden parts used go too.

A class gets only the assignments released so far: a later release ships the earlier
assignments' solutions, by design.
"""
import ast
import re
import shutil
from pathlib import Path
from string import Template

from autograder.errors import ReleaseError
from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, REPO, check_assignment_id
from autograder.release import find_leaks, require_solutions, secret_lines

PACKAGE = Path(__file__).resolve().parent
# The modules of the full course only: they need solutions/ or the hidden checks.
LEFT_OUT = ("release.py", "edition.py", "student_readme.md", "nbgrader_config.py",
            "similarity.py", "gradescope.py", "gradebook.py", "export.py")
IGNORED = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
HIDDEN_IMPORT = "from autograder.framework import HiddenPart\n"
KEPT_NAMES = {"ASSIGNMENT", "part"}  # what checks.load and the decorators use


# ------------------------------------------------------------------ hidden parts

def _is_hidden_decorator(node):
    """Whether ``node`` is ``part(..., visible=False)`` (or ``something.part(...)``)."""
    if not isinstance(node, ast.Call):
        return False
    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
    return name == "part" and any(
        keyword.arg == "visible" and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is False for keyword in node.keywords)


def hidden_functions(tree):
    """The function definitions in ``tree`` decorated as hidden parts, outermost first."""
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(_is_hidden_decorator(decorator) for decorator in node.decorator_list)]


def _body_statements(function):
    """The statements of ``function`` after its docstring."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body


def hidden_body_lines(source):
    """(first, last) line numbers (1-based) of the code of each hidden part in ``source``."""
    spans = []
    for function in hidden_functions(ast.parse(source)):
        body = _body_statements(function)
        if body:
            spans.append((body[0].lineno, function.end_lineno))
    return spans


def _check_every_hidden_part_is_a_decorator(tree, path):
    """ReleaseError for a hidden part registered in a way the edition cannot strip."""
    decorators = {id(decorator) for function in hidden_functions(tree)
                  for decorator in function.decorator_list}
    for node in ast.walk(tree):
        if _is_hidden_decorator(node) and id(node) not in decorators:
            raise ReleaseError(f"{path}:{node.lineno}: a hidden part must be registered as a "
                               "decorator, @part(..., visible=False), for the student edition "
                               "to leave its code out")


def _replace_lines(lines, spans):
    """``lines`` with each (first, last, replacement) span replaced, 1-based and inclusive."""
    for first, last, replacement in sorted(spans, reverse=True):
        lines[first - 1:last] = replacement
    return lines


def _names_used(tree):
    """Every name that ``tree`` reads or looks up as an attribute."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    return used


def _unused_definitions(tree, keep):
    """Module-level functions, classes and plain assignments that nothing uses any more."""
    used = _names_used(tree) | keep
    unused = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name not in used and not any(
                    isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") ==
                    "part" for decorator in node.decorator_list):
                unused.append(node)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            if not {target.id for target in node.targets} & used:
                unused.append(node)
    return unused


def strip_hidden_parts(source, path="checks"):
    """The text of a check module with every hidden part's code replaced by
    ``raise HiddenPart()`` (decorator and docstring kept) and the helpers that only hidden
    parts used removed."""
    tree = ast.parse(source)
    _check_every_hidden_part_is_a_decorator(tree, path)
    lines = source.splitlines(keepends=True)
    spans = []
    for function in hidden_functions(tree):
        body = _body_statements(function)
        if not body:
            continue
        if body[0].lineno == function.lineno:
            raise ReleaseError(f"{path}:{function.lineno}: write hidden part {function.name} "
                               "with its body on lines of its own")
        indent = lines[body[0].lineno - 1][:body[0].col_offset]
        spans.append((body[0].lineno, function.end_lineno, [f"{indent}raise HiddenPart()\n"]))
    if not spans:
        return source
    # Nested hidden parts lie inside an outer one's span: only the outermost are replaced.
    outermost = [span for span in spans if not any(
        other[0] <= span[0] and span[1] <= other[1] and other != span for other in spans)]
    _replace_lines(lines, outermost)
    last_import = max(node.end_lineno for node in tree.body
                      if isinstance(node, ast.Import | ast.ImportFrom))
    lines.insert(last_import, HIDDEN_IMPORT)
    text = "".join(lines)
    while unused := _unused_definitions(ast.parse(text), KEPT_NAMES):
        lines = text.splitlines(keepends=True)
        _replace_lines(lines, [(min([node.lineno] + [d.lineno for d in
                                                     getattr(node, "decorator_list", [])]),
                                node.end_lineno, []) for node in unused])
        text = "".join(lines)
    text = re.sub(r"\n{4,}", "\n\n\n", text).rstrip("\n") + "\n"
    compile(text, str(path), "exec")
    return text


# ------------------------------------------------------------------ the edition

def _write_autograder(assignment_ids, destination):
    destination.mkdir()
    for path in sorted(PACKAGE.iterdir()):
        if path.is_file() and path.suffix == ".py" and path.name not in LEFT_OUT:
            shutil.copy2(path, destination / path.name)
    for folder in ("checks", "probes"):
        (destination / folder).mkdir()
        shutil.copy2(PACKAGE / folder / "__init__.py", destination / folder / "__init__.py")
        for assignment_id in assignment_ids:
            source = PACKAGE / folder / f"{assignment_id}.py"
            if not source.is_file():
                continue  # an assignment without probes
            text = source.read_text()
            if folder == "checks":
                text = strip_hidden_parts(text, source)
            (destination / folder / source.name).write_text(text)


def _student_readme(assignment_ids):
    notebooks = "\n".join(f"- `assignments/{assignment_id}/{assignment_id}.ipynb`"
                          for assignment_id in assignment_ids)
    template = Template((PACKAGE / "student_readme.md").read_text())
    return template.substitute(notebooks=notebooks, first=assignment_ids[0])


def _hidden_and_shown_lines(path):
    """(stripped lines of hidden parts' code, stripped lines of everything else) of a module."""
    source = path.read_text()
    lines = source.splitlines()
    inside = {number for first, last in hidden_body_lines(source)
              for number in range(first, last + 1)}
    return ({lines[n - 1].strip() for n in inside},
            {line.strip() for n, line in enumerate(lines, 1) if n not in inside})


def edition_problems(out, assignment_ids):
    """Solution lines and hidden parts' code found in the edition at ``out``.

    Each release is searched for the solution lines its assignment must not ship. The rest
    is searched for every solution line and every line of a hidden part's code, with two
    exceptions: the lectures, the course's public teaching material, work some of the same
    formulas through in the open; and the autograder may hold the solution lines that the
    visible checks of the full course hold too (a hint computing what a common mistake gives
    shares lines such as ``n = x.shape[0]`` with the solution).
    """
    out = Path(out)
    problems = []
    for assignment_id in assignment_ids:
        problems += find_leaks(out / "assignments" / assignment_id, assignment_id)
    hidden, shown = set(), set()
    for module in sorted(PACKAGE.rglob("*.py")):
        module_hidden, module_shown = _hidden_and_shown_lines(module)
        hidden |= module_hidden
        shown |= module_shown
    solution = secret_lines()
    hidden_code = {line for line in hidden - shown if len(line) >= 12}
    for path in sorted(out.rglob("*")):
        top = path.relative_to(out).parts[0]
        if not path.is_file() or top in ("lectures", "assignments"):
            continue
        secrets = hidden_code | (solution - shown if top == "autograder" else solution)
        found = {line.strip() for line in path.read_text().splitlines()} & secrets
        if found:
            problems.append(f"{path.relative_to(out)} holds code of a solution or a hidden "
                            f"part: {sorted(found)[0]!r}")
    return problems


def write_edition(assignment_ids, out):
    """Write the student edition with ``assignment_ids`` (in course order) to ``out``."""
    require_solutions()  # the full course: the search for leaks reads the solutions
    named = {check_assignment_id(assignment_id) for assignment_id in assignment_ids}
    assignment_ids = [assignment_id for assignment_id in ASSIGNMENT_MODULES
                      if assignment_id in named]
    if not assignment_ids:
        raise ReleaseError("name at least one assignment for the student edition")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} exists and is not empty")
    for assignment_id in assignment_ids:
        if not (ASSIGNMENTS / assignment_id).is_dir():
            raise ReleaseError(f"{ASSIGNMENTS / assignment_id} is missing: run "
                               f"`autograder release {assignment_id}` first")
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("lectures", "course"):
        shutil.copytree(REPO / folder, out / folder, ignore=IGNORED)
    for assignment_id in assignment_ids:
        shutil.copytree(ASSIGNMENTS / assignment_id, out / "assignments" / assignment_id,
                        ignore=IGNORED)
    _write_autograder(assignment_ids, out / "autograder")
    for name in ("pyproject.toml", ".gitignore"):
        shutil.copy2(REPO / name, out / name)
    (out / "README.md").write_text(_student_readme(assignment_ids))
    problems = edition_problems(out, assignment_ids)
    if problems:
        shutil.rmtree(out)
        raise ReleaseError("the student edition would leak, so none was written:\n"
                           + "\n".join(problems))
    return out
