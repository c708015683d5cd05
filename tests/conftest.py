"""Shared fixtures. Tests of the reference library import ``minidl`` from solutions/."""
import sys

import pytest

from autograder.layout import ASSIGNMENTS, SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))


@pytest.fixture(scope="session")
def solved_a1(tmp_path_factory):
    """The a1_linear folder a student submits after solving everything (reference code)."""
    from autograder.release import write_solved

    return write_solved("a1_linear", tmp_path_factory.mktemp("solved") / "a1_linear")


@pytest.fixture(scope="session")
def released_a1():
    return ASSIGNMENTS / "a1_linear"
