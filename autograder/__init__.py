"""The course's autograder: PyTorch reference checks, the release tool and the grading CLI.

Student code never runs in the grader's own process: ``autograder.sandbox`` runs it
in a child process that receives inputs and returns plain arrays, and the checks in
``autograder.checks`` compare those arrays with PyTorch here.
"""
