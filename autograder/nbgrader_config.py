# nbgrader's configuration for the course. nbgrader reads the nbgrader_config.py of the
# folder it runs in, so a TA runs nbgrader commands from this folder (autograder/), and
# the `autograder` command does the same.
import os

from autograder.gradebook import COURSE_ID
from autograder.layout import ASSIGNMENT_MODULES, REPO, SHARED_MODULES, minidl_modules

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.root = str(REPO)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# The exchange through which `nbgrader release_assignment`, `collect` and the students'
# Assignment List pass assignments and feedback: one folder that every user of the
# JupyterHub can reach (the README's TA section says how to set it up). Students need the
# same Exchange.root and course id in their own configuration.
c.Exchange.root = "/srv/nbgrader/exchange"

# Students complete minidl/*.py files as well as notebooks. By default autograde copies
# every non-notebook file of the source folder over the submission; the students' library
# files must be the ones graded, so they are never overwritten.
c.Autograde.exclude_overwriting = {
    assignment_id: [
        os.path.join("minidl", name)
        for name in SHARED_MODULES + sum(minidl_modules(assignment_id), ())
    ]
    for assignment_id in ASSIGNMENT_MODULES
}

# The code stub nbgrader puts in notebook solution cells.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Training cells take seconds; a stuck notebook must not hold the grader forever.
c.ExecutePreprocessor.timeout = 300
