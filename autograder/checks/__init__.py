"""One check module per assignment; each defines ``ASSIGNMENT``, a ``framework.Assignment``."""
import importlib
import importlib.util

from autograder.layout import check_assignment_id


def load(assignment_id):
    """The ``Assignment`` (list of check parts) of ``assignment_id``."""
    check_assignment_id(assignment_id)
    name = f"autograder.checks.{assignment_id}"
    if importlib.util.find_spec(name) is None:  # a student edition has the released ones only
        raise ValueError(f"{assignment_id} is not part of this edition of the course")
    return importlib.import_module(name).ASSIGNMENT
