"""minidl is numpy only: find the imports of anything but numpy and the standard library.

The grader reads the submission's files (it never runs them) and finds every import of
another library; a module with one, and every minidl module that imports it, is *tainted*.
The child process then refuses to import a tainted module, and an import hook refuses any
other library that the student's code asks for at run time, so the parts that touch such a
module earn nothing and say why, and where. At the bwrap level the libraries' folders are
also hidden from the child (``isolation.hidden_library_folders``).
"""
import ast
import functools
import sys
from pathlib import Path

ALLOWED = frozenset(sys.stdlib_module_names) | {"numpy", "minidl", "__future__"}
NUMPY_ONLY = "minidl must use numpy only"


def message(where, name):
    return (f"{NUMPY_ONLY} (and Python's standard library), so the parts that use this code "
            f"get no credit: {where} imports {name}")


def _module_name(path, package_dir):
    relative = path.relative_to(package_dir.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imports(tree):
    """(line, top-level name, full name) of every absolute import in a module's syntax tree,
    including ``__import__("x")`` and ``importlib.import_module("x")`` with a literal name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            called = (function.id if isinstance(function, ast.Name)
                      else function.attr if isinstance(function, ast.Attribute) else "")
            first = node.args[0]
            if called in ("__import__", "import_module") and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                yield node.lineno, first.value


def tainted_modules(package_dir):
    """{module name: message} for each minidl module that imports another library, directly
    or through another minidl module (read again only when a file changes)."""
    package_dir = Path(package_dir)
    files = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size)
                  for path in sorted(package_dir.rglob("*.py")))
    return dict(_tainted(package_dir, files))


@functools.lru_cache(maxsize=64)
def _tainted(package_dir, files):
    direct, uses = {}, {}
    for file_name, _, _ in files:
        path = Path(file_name)
        name = _module_name(path, package_dir)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):
            continue  # importing it fails anyway, with the syntax error as the message
        uses[name] = set()
        for line, imported in _imports(tree):
            top = imported.partition(".")[0]
            where = f"{path.relative_to(package_dir.parent).as_posix()}:{line}"
            if top not in ALLOWED:
                direct.setdefault(name, message(where, imported))
            elif top == "minidl":
                uses[name].add(imported)
    tainted = dict(direct)
    changed = True
    while changed:  # a module that imports a tainted module is tainted too
        changed = False
        for name, imported in uses.items():
            if name in tainted:
                continue
            culprit = next((other for other in sorted(imported) if other in tainted), None)
            if culprit is not None:
                tainted[name] = tainted[culprit]
                changed = True
    return tuple(tainted.items())


def module_of(target):
    """The minidl module a call target lives in ("minidl.linear.softmax" -> "minidl.linear"),
    or None for a grader probe, which may use any of them."""
    if not target.startswith("minidl."):
        return None
    return target.rpartition(".")[0]


def refusal(tainted, target):
    """The message refusing a call to ``target``, or None if it may run."""
    if not tainted:
        return None
    module = module_of(target)
    if module is None:  # a probe drives several modules: any tainted one counts
        return next(iter(tainted.values()))
    for name in (module, "minidl"):
        if name in tainted:
            return tainted[name]
    return None
