"""One check module per assignment; each defines ``ASSIGNMENT``, a ``framework.Assignment``."""
import importlib

from autograder.layout import check_assignment_id


def load(assignment_id):
    """The ``Assignment`` (list of check parts) of ``assignment_id``."""
    check_assignment_id(assignment_id)
    return importlib.import_module(f"autograder.checks.{assignment_id}").ASSIGNMENT
