"""Probes: small helpers that run *inside* the process of the student's code.

Some results cannot cross the process boundary as plain data: a layer's ``cache`` is
whatever the student chose to keep, and ``numerical_gradient`` takes a Python function.
A probe (``autograder.probes.<assignment>.<name>``, called like any student function)
drives the student's functions there and sends back only numbers and arrays. Probes run
next to untrusted code, so the grader trusts nothing they return: every verdict is
computed from that plain data in the grader's own process. Probes import numpy and the
student's ``minidl`` only, never torch.
"""
