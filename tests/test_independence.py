"""Each graded part starts from the student's modules as they were imported: a global one
part leaves changed costs that part only.

In the sandbox each part is served by a fork of the process that imported the modules; in
a notebook the module-level names of minidl are put back after each part. The bug used
throughout is a3's ``no_grad`` without ``finally``: a block that raises leaves gradients off,
and before parts were independent every later part that records a graph failed with it.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from autograder import checks, wire
from autograder.grading import check_submission
from autograder.isolation import Isolation, bubblewrap_problem
from autograder.sandbox import run_request
from autograder.student import IsolatedStudent, Limits, StudentError

FORKING_LEVELS = ["rlimits", pytest.param("bwrap", marks=pytest.mark.skipif(
    bubblewrap_problem() is not None, reason="bubblewrap cannot create namespaces here"))]
POSIX = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


# Appended to the solved minidl/autograd.py: the mode comes back only if the block does not
# raise.
NO_GRAD_WITHOUT_FINALLY = """
import contextlib


@contextlib.contextmanager
def no_grad():
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    yield
    _grad_enabled = previous
"""


@pytest.fixture(scope="module")
def no_grad_left_off(solved_submission, tmp_path_factory):
    folder = shutil.copytree(solved_submission("a3_autodiff"),
                             tmp_path_factory.mktemp("bug") / "submission")
    autograd = folder / "minidl" / "autograd.py"
    autograd.write_text(autograd.read_text() + NO_GRAD_WITHOUT_FINALLY)
    return folder


@POSIX
@pytest.mark.parametrize("level", FORKING_LEVELS)
def test_a_flag_left_off_costs_only_the_no_grad_part_in_the_sandbox(no_grad_left_off, level):
    report = check_submission("a3_autodiff", no_grad_left_off, device="cpu",
                              isolation_level=Isolation(level))
    failed = {result.name: result.message for result in report.results if not result.passed}
    assert list(failed) == ["no_grad"]
    assert "finally" in failed["no_grad"]
    assignment = checks.load("a3_autodiff")
    assert report.score == assignment.max_score - assignment.get("no_grad").points
    # The parts after it record graphs again: they would fail if the flag stayed off.
    names = [part.name for part in assignment.parts]
    assert names.index("no_grad") < len(names) - 1


NOTEBOOK = """
import json, sys
sys.path.insert(0, sys.argv[1])
from autograder.notebook import Checker
check = Checker("a3_autodiff", device="cpu")
failed = []
for part in check.assignment.parts:
    try:
        check(part.name)
    except AssertionError:
        failed.append(part.name)
import minidl.autograd
print(json.dumps({"failed": failed, "grad_enabled": minidl.autograd._grad_enabled}))
"""


def test_a_flag_left_off_costs_only_the_no_grad_part_in_a_notebook(no_grad_left_off):
    done = subprocess.run([sys.executable, "-c", NOTEBOOK, str(no_grad_left_off)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome == {"failed": ["no_grad"], "grad_enabled": True}


# A package whose functions change its own state, hang, crash or leave a process behind.
STATE = '''
import os
import random
import time

TOKEN = random.random()  # drawn again only if the module is imported again
count = 0


def bump():
    global count, added
    count += 1
    added = True
    return count


def token():
    return TOKEN


def hang():
    while True:
        pass


def exit_now():
    os._exit(3)


def kill_server():
    os.kill(os.getppid(), 9)
    time.sleep(30)  # the part's process dies with the server


def detach():
    """Start a process in its own session that outlives its parent; return its pid."""
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        sleeper = os.fork()
        if sleeper == 0:
            time.sleep(3600)
        os.write(write, str(sleeper).encode())
        os._exit(0)
    return int(os.read(read, 32))


class Counter:
    def __init__(self, start):
        self.value = start

    def add(self, amount):
        self.value += amount
        return self.value
'''


@pytest.fixture
def state_package(tmp_path):
    (tmp_path / "minidl").mkdir()
    (tmp_path / "minidl" / "__init__.py").write_text("")
    (tmp_path / "minidl" / "state.py").write_text(textwrap.dedent(STATE))
    return tmp_path


# Student.object's request of a Counter(10), and the reply worked out by hand.
COUNTER = {"args": [10], "calls": [["add", [5], {}], ["add", [], {"amount": 2}]],
           "set_attrs": {"label": "c"}, "get": ["value", "label"]}
COUNTER_REPLY = {"results": [15, 17], "attrs": {"value": 17, "label": "c"}}


def isolated(folder, level):
    return IsolatedStudent(folder, Limits(), isolation_level=Isolation(level),
                           modules=("minidl.state",))


@POSIX
@pytest.mark.parametrize("level", FORKING_LEVELS)
def test_a_global_set_in_one_part_is_not_seen_by_the_next(state_package, level):
    with isolated(state_package, level) as student:
        with student.part():
            assert [student.call("minidl.state.bump") for _ in range(3)] == [1, 2, 3]
        with student.part():
            assert student.call("minidl.state.bump") == 1


def test_a_global_set_in_one_part_is_put_back_in_process(state_package):
    code = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import minidl.state
        from autograder.student import InProcessStudent
        counts = []
        for _ in range(2):
            student = InProcessStudent()
            with student.part():
                counts.append([student.call("minidl.state.bump") for _ in range(2)])
        with student.part():
            reply = student.object("minidl.state.Counter", **json.loads(sys.argv[2]))
        print(json.dumps({"counts": counts, "count": minidl.state.count,
                          "added": hasattr(minidl.state, "added"), "object": reply}))
        """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(state_package),
                           json.dumps(COUNTER)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"counts": [[1, 2], [1, 2]], "count": 0, "added": False,
                                       "object": COUNTER_REPLY}


@POSIX
@pytest.mark.parametrize("level", FORKING_LEVELS)
def test_after_a_hang_or_crash_the_next_part_starts_from_the_imported_modules(state_package,
                                                                             level):
    with isolated(state_package, level) as student:
        with student.part():
            imported = student.call("minidl.state.token")
            student.call("minidl.state.bump")
        with student.part(seconds=1):
            started = time.monotonic()
            with pytest.raises(StudentError, match="more than 1 s") as hang:
                student.call("minidl.state.hang")
            assert hang.value.kind == "Timeout" and time.monotonic() - started < 10
        with student.part():
            with pytest.raises(StudentError, match="exited with status 3"):
                student.call("minidl.state.exit_now")
            # The same part goes on in a new fork: no import again, no earlier part's count.
            assert student.call("minidl.state.token") == imported
            assert student.call("minidl.state.bump") == 1
        with student.part():
            assert student.call("minidl.state.token") == imported
            with pytest.raises(StudentError, match="SIGKILL"):
                student.call("minidl.state.kill_server")
        with student.part():  # the imported process is gone: a fresh sandbox imports again
            assert student.call("minidl.state.token") != imported
            assert student.call("minidl.state.bump") == 1


def process_alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_process_a_part_detaches_ends_with_the_part(state_package):
    with isolated(state_package, "rlimits") as student:
        with student.part():
            sleeper = student.call("minidl.state.detach")
            assert process_alive(sleeper)
        deadline = time.monotonic() + 10
        while process_alive(sleeper) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(sleeper)
        with student.part():  # and the sandbox goes on serving
            assert student.call("minidl.state.bump") == 1


@POSIX
def test_the_server_forks_only_with_no_request_read_ahead(state_package):
    """Both processes would serve a request the server had read before forking."""
    with isolated(state_package, "rlimits") as student:
        with student.part():
            student.call("minidl.state.bump")
        part_id, call_id = uuid.uuid4().hex, uuid.uuid4().hex
        # One write: the server reads both lines at once.
        student.process.stdin.write(wire.dumps({"op": "part", "id": part_id}) + wire.dumps(
            {"op": "call", "id": call_id, "target": "minidl.state.token"}))
        student.process.stdin.flush()
        deadline = time.monotonic() + 10
        refusal = wire.loads(student.channel.next(deadline))
        assert refusal["id"] == part_id and "before the part's process answered" in \
            refusal["error"]["message"]
        assert wire.loads(student.channel.next(deadline))["id"] == call_id  # served once


NO_FORK_PYTHON = """#!/bin/sh
# Python without os.fork, as on Windows. Drops "-I -c BOOT" (student.py).
shift 3
exec {python} -I -c '
import os, runpy, sys
del os.fork
sys.argv = ["autograder.sandbox"] + sys.argv[1:]
runpy.run_module("autograder.sandbox", run_name="__main__")
' "$@"
"""


def test_without_fork_a_part_gets_the_module_level_names_back(state_package, tmp_path,
                                                              monkeypatch):
    python = tmp_path / "python-without-fork"
    python.write_text(NO_FORK_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    with isolated(state_package, "rlimits") as student:
        with student.part():
            imported = student.call("minidl.state.token")
            assert [student.call("minidl.state.bump") for _ in range(2)] == [1, 2]
            assert not student.part_forked
        with student.part():
            assert student.call("minidl.state.bump") == 1
            assert student.call("minidl.state.token") == imported  # the same process


def test_object_is_a_call_of_the_drive_probe(state_package):
    with isolated(state_package, "rlimits") as student, student.part():
        reply = student.object("minidl.state.Counter", **COUNTER)
    assert reply == COUNTER_REPLY  # 10 + 5 = 15, then + 2 = 17
    with pytest.raises(ValueError, match="unknown op 'object'"):
        run_request({"op": "object", "target": "minidl.state.Counter"})
    assert np.array_equal(run_request({"op": "call", "target": "numpy.arange", "args": [3]}),
                          np.arange(3))
