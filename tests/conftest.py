"""Shared fixtures. Tests of the reference library import ``minidl`` from solutions/."""
import sys

import pytest

from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))

ASSIGNMENT_IDS = list(ASSIGNMENT_MODULES)


@pytest.fixture(scope="session")
def solved_submission(tmp_path_factory):
    """A function giving the folder a student submits after solving ASSIGNMENT with the
    reference code (made once per session)."""
    from autograder.release import write_solved

    made = {}

    def solved(assignment_id):
        if assignment_id not in made:
            folder = tmp_path_factory.mktemp("solved") / assignment_id
            made[assignment_id] = write_solved(assignment_id, folder)
        return made[assignment_id]

    return solved


@pytest.fixture(scope="session")
def solved_a1(solved_submission):
    return solved_submission("a1_linear")


@pytest.fixture(scope="session")
def released_a1():
    return ASSIGNMENTS / "a1_linear"
