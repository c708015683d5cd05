"""Project hygiene: metadata that agrees, notebooks without outputs, a working CLI."""
import json
import re
import subprocess
import tomllib

import pytest
import yaml

from autograder.layout import REPO

NAME = re.compile(r"^[A-Za-z0-9_.\-]+")


def requirement_map(requirements):
    """{normalized package name: specifier} for a list of requirement strings."""
    result = {}
    for requirement in requirements:
        name = NAME.match(requirement).group(0)
        result[name.lower().replace("_", "-")] = requirement[len(name):].replace(" ", "")
    return result


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = requirement_map(project["dependencies"] + project["optional-dependencies"]["dev"])
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    conda, pip = [], []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip += [item for item in entry["pip"] if not item.startswith("-e")]
        elif entry != "pip" and not entry.startswith("python="):
            conda.append(entry)
    assert any(item.startswith("-e") for entry in environment["dependencies"]
               if isinstance(entry, dict) for item in entry["pip"])
    assert requirement_map(conda + pip) == wanted


def test_committed_notebooks_have_no_outputs():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    notebooks = tracked or [str(p.relative_to(REPO)) for p in REPO.rglob("*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts]
    assert notebooks
    for name in notebooks:
        for cell in json.loads((REPO / name).read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name


def subcommands():
    from autograder.cli import build_parser

    action = next(a for a in build_parser()._actions if a.dest == "command")
    return list(action.choices)


def test_the_commands_of_the_specification_exist():
    assert set(subcommands()) >= {"release", "check", "grade", "edition", "fetch", "status",
                                  "gradescope", "similarity"}


@pytest.mark.parametrize("command", [[], *([name] for name in subcommands())])
def test_every_command_has_help(command):
    done = subprocess.run(["autograder", *command, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: autograder" in done.stdout


def test_readme_commands_are_the_ci_commands():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    setup = 'pip install torch==2.13.0 && pip install -e ".[dev]"'
    assert setup in readme and setup in ci
    assert "\npytest\n" in readme and "\npytest\n" in ci
