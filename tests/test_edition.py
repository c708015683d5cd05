"""The student edition: no solutions, no hidden part's code, and checks that still work."""
import ast
import filecmp
import json
import subprocess
import sys

import pytest

from autograder import checks
from autograder.errors import ReleaseError
from autograder.layout import REPO
from autograder.release import secret_lines

ASSIGNMENT = "a1_linear"


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "course"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "edition", ASSIGNMENT,
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def edition_cli(edition, *args):
    """``autograder ARGS`` run from the edition's folder, so its own package is imported."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=edition,
                          capture_output=True, text=True)


def text_files(folder):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".txt"):
            yield path, {line.strip() for line in path.read_text().splitlines()}


def hidden_part_code(module_path):
    """{part name: stripped lines of its body after the docstring} for each hidden part,
    and the stripped lines of the module outside those bodies."""
    source = module_path.read_text()
    lines = source.splitlines()
    bodies, inside = {}, set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            keywords = {k.arg: k.value for k in getattr(decorator, "keywords", [])}
            if "visible" in keywords and keywords["visible"].value is False:
                first = node.body[1].lineno  # every hidden part has a docstring and code
                numbers = range(first, node.end_lineno + 1)
                bodies[decorator.args[0].value] = {lines[n - 1].strip() for n in numbers}
                inside.update(numbers)
    outside = {line.strip() for n, line in enumerate(lines, 1) if n not in inside}
    return bodies, outside


def test_edition_holds_the_released_assignment_and_no_solutions(edition):
    assert sorted(p.name for p in edition.iterdir()) == [
        ".gitignore", "README.md", "assignments", "autograder", "course", "lectures",
        "pyproject.toml"]
    assert [p.name for p in (edition / "assignments").iterdir()] == [ASSIGNMENT]
    assert not (edition / "autograder" / "release.py").exists()
    assert sorted(p.name for p in (edition / "autograder" / "checks").iterdir()) == [
        "__init__.py", f"{ASSIGNMENT}.py"]
    lectures = filecmp.dircmp(REPO / "lectures", edition / "lectures",
                              ignore=[".ipynb_checkpoints"])
    assert lectures.left_only == lectures.right_only == lectures.diff_files == []
    readme = (edition / "README.md").read_text()
    assert f"autograder check {ASSIGNMENT}" in readme and "TA" not in readme


def test_edition_holds_no_solution_line(edition):
    """Every solution line is absent, outside the lectures (the course's public teaching
    material, which works some formulas through in the open). The autograder may hold only
    the lines that the full course's visible checks hold too: hints that compute what a
    common mistake gives share a few generic lines with the solution."""
    secrets = secret_lines()
    visible_check_lines = hidden_part_code(REPO / "autograder" / "checks" / f"{ASSIGNMENT}.py")[1]
    assert secrets & visible_check_lines < {line for line in secrets if len(line) < 40}
    for path, lines in text_files(edition):
        top = path.relative_to(edition).parts[0]
        if top == "lectures":
            continue
        allowed = visible_check_lines if top == "autograder" else set()
        assert not (lines & secrets) - allowed, path


def test_edition_holds_no_hidden_part_code_but_registers_every_part(edition):
    bodies, outside = hidden_part_code(REPO / "autograder" / "checks" / f"{ASSIGNMENT}.py")
    assert "softmax.stability" in bodies and len(bodies) == 6
    hidden_code = {line for body in bodies.values() for line in body
                   if line not in outside and len(line) >= 12}
    assert any("at_kink" in line for line in hidden_code)
    for path, lines in text_files(edition):
        assert not lines & hidden_code, path
    edition_checks = (edition / "autograder" / "checks" / f"{ASSIGNMENT}.py").read_text()
    assert edition_checks.count("raise HiddenPart()") == len(bodies)
    assert '"""softmax is exact and finite for scores of 1e4 and -1e4."""' in edition_checks


def test_check_lists_hidden_parts_by_name_and_points(edition):
    full = checks.load(ASSIGNMENT)
    hidden = {part.name: part.points for part in full.parts if not part.visible}
    done = edition_cli(edition, "check", ASSIGNMENT, "--json")
    assert done.returncode == 1, done.stderr  # the untouched release fails its visible parts
    report = json.loads(done.stdout)
    assert report["score"] == 0 and report["max_score"] == full.max_score
    assert {c["name"]: c["max_points"] for c in report["checks"]
            if c["outcome"] == "hidden"} == hidden
    assert all(c["outcome"] == "failed" for c in report["checks"] if c["name"] not in hidden)
    table = edition_cli(edition, "check", ASSIGNMENT).stdout
    assert "LATER softmax.stability" in table and " -/1" in table
    hidden_points = sum(hidden.values())
    assert (f"score: 0/{full.max_score - hidden_points} on the visible parts; {len(hidden)} "
            f"hidden part(s) worth {hidden_points} points are graded after submission") in table


def test_solved_visible_parts_pass_in_the_edition_and_exit_zero(edition, solved_a1):
    full = checks.load(ASSIGNMENT)
    done = edition_cli(edition, "check", ASSIGNMENT, "--submission", str(solved_a1), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    outcomes = {c["name"]: c["outcome"] for c in report["checks"]}
    assert outcomes == {part.name: "passed" if part.visible else "hidden" for part in full.parts}
    assert report["score"] == sum(part.points for part in full.parts if part.visible)


def test_notebook_check_says_a_hidden_part_is_graded_after_submission(edition, solved_a1):
    code = ("import sys; sys.path[:0] = [sys.argv[1], '.']\n"
            "import autograder; assert autograder.__file__.startswith(sys.argv[1])\n"
            "from autograder.notebook import Checker\n"
            "check = Checker('a1_linear')\n"
            "check('softmax.stability')\n"
            "check('softmax.value')\n")
    for folder in (edition / "assignments" / ASSIGNMENT, solved_a1):
        done = subprocess.run([sys.executable, "-I", "-c", code, str(edition)], cwd=folder,
                              capture_output=True, text=True)
        assert ("HIDDEN softmax.stability (1 point): softmax is exact and finite for scores "
                "of 1e4 and -1e4. This part is graded after submission") in done.stdout
        if folder == solved_a1:
            assert done.returncode == 0 and "PASS softmax.value" in done.stdout, done.stderr
        else:
            assert "AssertionError: softmax.value: not implemented yet" in done.stderr


@pytest.mark.parametrize("command", [["release", "--check"], ["grade", ASSIGNMENT]])
def test_full_course_commands_say_so_in_the_edition(edition, command):
    done = edition_cli(edition, *command)
    assert done.returncode == 2
    assert f"`autograder {command[0]}` is for the full course repository" in done.stderr


def test_stripping_keeps_visible_helpers_and_removes_hidden_only_ones():
    from autograder.edition import strip_hidden_parts

    source = ('"""Checks."""\nimport numpy as np\n\nSHARED = 3\nSECRET_CASES = [1e4]\n\n\n'
              "def shared_helper(x):\n    return x + SHARED\n\n\n"
              "def hidden_helper(x):\n    return np.exp(x) * 12345\n\n\n"
              '@part("a.visible", points=1)\ndef visible(ctx):\n    """Shown."""\n'
              "    return shared_helper(1)\n\n\n"
              "def add_parts(name):\n"
              '    @part(f"{name}.hidden", points=2, visible=False)\n'
              '    def hidden(ctx):\n        """Nested and hidden."""\n'
              "        return hidden_helper(SECRET_CASES)\n\n\n"
              'add_parts("b")\n')
    stripped = strip_hidden_parts(source)
    assert "hidden_helper" not in stripped and "12345" not in stripped
    assert "SECRET_CASES" not in stripped
    assert "def shared_helper" in stripped and "SHARED = 3" in stripped
    assert '"""Nested and hidden."""\n        raise HiddenPart()\n' in stripped
    assert "from autograder.framework import HiddenPart\n" in stripped
    with pytest.raises(ReleaseError, match="must be registered as a decorator"):
        strip_hidden_parts('def f(ctx):\n    """Doc."""\n    return 1\n\n\n'
                           'part("c", points=1, visible=False)(f)\n')
