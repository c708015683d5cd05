"""Calling a student's code: in a sandboxed child process, or (in a notebook) in-process.

Both kinds of ``Student`` offer the same methods and return the same plain data (numbers,
arrays, tuples, lists, dicts), so a check is written once and runs in either place:
``call`` (a function), ``object`` (build an object and call its methods, through the probe
``autograder.probes.drive``) and ``part``, a context manager around the calls of one check
part: each part starts from the student's modules as they were imported, so a global one
part leaves changed (a ``no_grad`` flag left off) costs that part only.

- ``IsolatedStudent`` (``autograder check`` and ``grade``): a private copy of the
  submission's ``minidl`` runs in ``autograder.sandbox`` at the chosen isolation level. The
  modules are imported once; each part's calls are served by a fork of that process, which
  exits when the part ends. A hang or crash becomes a ``StudentError`` and the next call
  starts from the imported modules again (a fresh sandbox only if the imported one died),
  while a sandbox that cannot start at all is a ``GraderError``.
- ``InProcessStudent`` (the grade cells of a notebook): calls ``minidl`` directly, and puts
  back the module-level names of the ``minidl`` modules when a part ends.

Nothing here needs a POSIX system: on Windows the child runs with time limits only, and
without ``os.fork`` a part gets the module-level names back as in a notebook (restarting
the sandbox for each part would cost about a tenth of a second per part).
"""
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autograder import isolation, numpy_only, wire
from autograder.errors import GraderError, StudentError

__all__ = ["GraderError", "InProcessStudent", "IsolatedStudent", "Limits", "StudentError"]


@dataclass(frozen=True)
class Limits:
    """Limits on the process that runs student code, and on its time."""

    part_seconds: float = 60.0  # wall time of one part, where the reference's time is unknown
    floor_seconds: float = 5.0  # the least time a part gets when derived from the reference
    reference_factor: float = 20.0  # a part gets this many times the reference's own time
    budget_seconds: float = 900.0  # wall time of one whole submission
    import_seconds: float = 20.0  # importing the student's modules, where the reference's
    # own import time is unknown
    start_seconds: float = 120.0  # the sandbox itself starting (Python and numpy)
    cpu_seconds: int = 600  # CPU time of the whole process
    memory_bytes: int = 4 * 1024**3  # address space
    file_bytes: int = 16 * 1024**2  # largest file the process may write
    open_files: int = 64
    core_bytes: int = 0
    processes: int = 32  # processes and threads at once, where a pids cgroup can cap them

    def part_limit(self, reference_seconds=None):
        """Seconds a part may take: derived from the reference's own time when known."""
        if reference_seconds is None:
            return self.part_seconds
        return max(self.floor_seconds, self.reference_factor * reference_seconds)


# The child runs this grader's own ``autograder.sandbox``, wherever the grader was imported
# from (a checkout, a student edition, a bundle), not whatever ``-I`` would find first.
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
SANDBOX_BOOT = ("import runpy, sys; sys.path.insert(0, {!r}); "
                "runpy.run_module('autograder.sandbox', run_name='__main__', alter_sys=True)")


DRIVE = "autograder.probes.drive"  # the probe behind ``Student.object``
# A part's process starts or ends in milliseconds; waiting longer means it never will.
PART_PROCESS_SECONDS = 10.0


def _call(target, args, kwargs):
    return {"op": "call", "target": target, "args": list(args), "kwargs": kwargs}


def _drive(target, args, kwargs, set_attrs, calls, get):
    """The call of ``drive`` that builds ``target`` and calls its methods ``calls``
    ((method, args, kwargs) each)."""
    return _call(DRIVE, [target], {
        "args": list(args), "kwargs": kwargs or {}, "set": set_attrs or {},
        "calls": [[method, list(margs), mkwargs] for method, margs, mkwargs in calls],
        "get": list(get)})


class InProcessStudent:
    """Runs the student's functions in this process (used by notebook grade cells).

    PyTorch is already loaded here, so numpy-only is enforced by reading the student's
    files: a call into a module that imports another library is refused. There are no time
    limits in a notebook.
    """

    def call(self, target, *args, **kwargs):
        return self._run(target, _call(target, args, kwargs))

    def object(self, target, args=(), kwargs=None, set_attrs=None, calls=(), get=()):
        return self._run(target, _drive(target, args, kwargs, set_attrs, calls, get))

    @contextmanager
    def part(self):
        """The calls of one part: the module-level names of every imported ``minidl`` module
        are copied before and put back after (not the objects they name: a method a part
        reassigns on a class stays reassigned)."""
        from autograder import sandbox

        saved = sandbox.minidl_namespaces()
        try:
            yield self
        finally:
            sandbox.restore_namespaces(saved)

    def _run(self, code, request):
        """Serve ``request`` here, unless ``code`` (the student's function or class it
        reaches) is in a module that imports another library than numpy."""
        from autograder import sandbox

        spec = importlib.util.find_spec("minidl")
        if spec is not None and spec.submodule_search_locations:
            tainted = numpy_only.tainted_modules(spec.submodule_search_locations[0])
            refused = numpy_only.refusal(tainted, code)
            if refused:
                raise StudentError("NumpyOnly", refused)
        try:
            # A round trip through the wire format gives exactly what the sandbox would return.
            return wire.loads(wire.dumps(sandbox.run_request(wire.loads(wire.dumps(request)))))
        except wire.NotPlainData as exc:
            raise StudentError("NotPlainData", str(exc)) from None
        except Exception as exc:  # noqa: BLE001 -- the check turns it into feedback
            raise StudentError(type(exc).__name__, str(exc)) from None


class _Channel:
    """Reads the child's reply lines and keeps the tail of its stderr, in threads, so the
    grader can wait with a timeout on any platform (Windows has no select on pipes)."""

    EOF = object()
    OVERFLOW = object()

    def __init__(self, process):
        self.lines = queue.Queue()
        self.stderr_tail = b""
        threading.Thread(target=self._read_replies, args=(process.stdout,), daemon=True).start()
        self.stderr_reader = threading.Thread(target=self._read_stderr, args=(process.stderr,),
                                              daemon=True)
        self.stderr_reader.start()

    def _read_replies(self, stream):
        pending = bytearray()  # grows in place: a reply of many megabytes is not recopied
        while True:
            try:
                chunk = stream.read1(1 << 20)
            except (OSError, ValueError):
                chunk = b""  # the grader closed the pipe as it stopped the process
            if not chunk:
                self.lines.put(self.EOF)
                return
            searched = len(pending)
            pending += chunk
            while (end := pending.find(b"\n", searched)) >= 0:
                self.lines.put(bytes(pending[:end + 1]))
                del pending[:end + 1]
                searched = 0
            if len(pending) > wire.MAX_MESSAGE_BYTES:
                self.lines.put(self.OVERFLOW)
                return

    def _read_stderr(self, stream):
        try:
            while chunk := stream.read1(1 << 16):
                self.stderr_tail = (self.stderr_tail + chunk)[-4000:]
        except (OSError, ValueError):
            pass  # the grader closed the pipe as it stopped the process

    def said(self):
        """What the child wrote to stderr, once it has closed it (or after 5 s)."""
        self.stderr_reader.join(timeout=5)
        return self.stderr_tail.decode(errors="replace").strip()

    def next(self, deadline):
        """The next line, EOF, OVERFLOW, or None when the deadline passes first."""
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None


class IsolatedStudent:
    """Runs the student's ``minidl`` in a child process; use as a context manager.

    ``modules`` are imported as soon as a process starts, so that a hang at import is found
    once and fails every later call at once; a student function that runs out of time is
    not called again, so a hang costs one time limit, not one per part that calls it.
    ``part`` (or ``begin_part``, then ``end_part``) bounds the time of one part and of the
    whole submission, and gives the part a fork of the process that imported the modules.
    ``batch`` names the run in the AUTOGRADER_SANDBOX variable of every process it starts.
    """

    def __init__(self, submission, limits=None, hidden_paths=(), isolation_level=None,
                 modules=(), import_seconds=None, batch=""):
        self.submission = os.path.abspath(submission)
        self.limits = limits or Limits()
        self.isolation = isolation_level or isolation.choose("auto")
        # Folders the student's process must not see (with bubblewrap): its own original
        # folder and whatever the caller adds, such as the other students' submissions.
        self.hidden_paths = (self.submission, *hidden_paths)
        self.modules = tuple(modules)
        self.import_seconds = import_seconds or self.limits.import_seconds
        self.import_time = None  # what importing the modules took, the last time
        self.hung = {}  # student function -> why it is not called again
        self.batch = batch
        self.tainted = numpy_only.tainted_modules(Path(self.submission) / "minidl")
        self.skipped_limits = []
        self.import_hang = None
        self.part_seconds = self.limits.part_seconds
        self.part_deadline = None
        self.budget_end = None
        self.budget_message = None
        self.process_cap = None
        self.children_before = set()
        self.workdir = None
        self.process = None
        self.channel = None
        # The part under way: the id of its "part" request, whether a fork serves it, and
        # that fork's pid as the sandbox sees it (None between parts).
        self.part_id = None
        self.part_forked = False
        self.part_pid = None

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="autograder-")
        source = os.path.join(self.submission, "minidl")
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(self.workdir, "minidl"), symlinks=False)
        return self

    def __exit__(self, *exc_info):
        self._stop()  # the part's process, if any, goes with the sandbox
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def isolation_name(self):
        return self.isolation.describe(self.skipped_limits)

    @contextmanager
    def part(self, seconds=None, budget_end=None, budget_message=None):
        """The calls of one part (see ``begin_part``); its process ends with the block."""
        self.begin_part(self.limits.part_seconds if seconds is None else seconds,
                        budget_end, budget_message)
        try:
            yield self
        finally:
            self.end_part()

    def begin_part(self, seconds, budget_end=None, budget_message=None):
        """The calls of the part starting now run in a fresh fork of the process that
        imported the student's modules, and may take ``seconds`` in all (plus any time a
        restarted sandbox takes to start), and none may run past ``budget_end``
        (time.monotonic()), when they fail with ``budget_message``."""
        self.end_part()
        self.part_seconds = seconds
        self.part_deadline = time.monotonic() + seconds
        self.budget_end, self.budget_message = budget_end, budget_message

    def end_part(self):
        """End the process of the part under way, if any: the sandbox returns to the
        student's modules as they were imported."""
        if self.part_id is None:
            return
        if not self.part_forked:  # the server puts the modules' names back and replies
            try:
                self._exchange({"op": "end"}, time.monotonic() + PART_PROCESS_SECONDS, "")
            except StudentError:
                pass  # the sandbox was stopped: the next call starts a fresh one
            self.part_id = None
            return
        self._send({"op": "end", "id": uuid.uuid4().hex})
        if not self._part_ended(time.monotonic() + PART_PROCESS_SECONDS):
            self._abandon_part()

    def _deadline(self):
        part_end = self.part_deadline or time.monotonic() + self.part_seconds
        if self.budget_end is not None and self.budget_end < part_end:
            return self.budget_end, self.budget_message
        return part_end, (f"your code ran for more than {self.part_seconds:g} s: look for an "
                          "endless loop or a very slow one")

    def call(self, target, *args, **kwargs):
        return self._run(_call(target, args, kwargs))

    def object(self, target, args=(), kwargs=None, set_attrs=None, calls=(), get=()):
        return self._run(_drive(target, args, kwargs, set_attrs, calls, get))

    def _start(self):
        config = {"submission": self.workdir, "level": self.isolation.level,
                  "limits": {key: getattr(self.limits, key) for key in
                             ("cpu_seconds", "memory_bytes", "file_bytes", "open_files",
                              "core_bytes")},
                  "tainted": self.tainted}
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": self.workdir,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "AUTOGRADER_SANDBOX": f"{self.batch}:{uuid.uuid4().hex}",
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT"):
            if name in os.environ:  # SYSTEMROOT: Windows cannot start Python without it
                env[name] = os.environ[name]
        command = [sys.executable, "-I", "-c", SANDBOX_BOOT.format(PACKAGE_PARENT),
                   json.dumps(config)]
        options = {}
        if os.name == "posix":
            self.process_cap = isolation.ProcessCap(self.limits.processes)
            options["start_new_session"] = True
            if self.process_cap.path is not None:
                options["preexec_fn"] = self.process_cap.enter
        else:
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        if self.isolation.level == "bwrap":
            command = isolation.bubblewrap_prefix(self.workdir, self.hidden_paths) + command
        self.children_before = set(isolation.children(os.getpid()))
        try:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, **options)
        except OSError as error:
            raise GraderError(f"the sandbox could not be started ({self.isolation.level}): "
                              f"{error}") from None
        self.channel = _Channel(self.process)
        hello = self._receive_hello(time.monotonic() + self.limits.start_seconds)
        self.skipped_limits = list(hello["hello"]["skipped"])
        if self.modules:
            self._import_modules()

    def _import_modules(self):
        request = {"op": "import", "modules": list(self.modules)}
        seconds = self.import_seconds
        started = time.monotonic()
        deadline = started + seconds
        if self.budget_end is not None and self.budget_end < deadline:
            self._exchange(request, self.budget_end, self.budget_message)
            return
        try:
            self._exchange(request, deadline, "")
            self.import_time = time.monotonic() - started
        except StudentError as error:
            if error.kind != "Timeout":
                raise
            files = ", ".join(self._module_file(module) for module in self.modules)
            self.import_hang = StudentError(
                "Timeout", f"importing your minidl ({files}) did not finish within {seconds:g} "
                "s, so no part could run: look for an endless loop or a long computation at "
                "the top level of a file (outside any function)")
            raise self.import_hang from None

    def _begin_part_process(self):
        """Ask the sandbox for the part's process; False if it could not give one (the
        sandbox is then stopped)."""
        request_id = uuid.uuid4().hex
        self._send({"op": "part", "id": request_id})
        # Nothing is sent until the reply comes: the server and the part's process share
        # the request pipe, and whatever the server had read ahead both would serve.
        reply = self._next_message(time.monotonic() + PART_PROCESS_SECONDS)
        if not (isinstance(reply, dict) and reply.get("id") == request_id
                and isinstance(reply.get("ok"), dict)):
            self._stop()
            return False
        self.part_id = request_id
        self.part_forked = bool(reply["ok"].get("forked"))
        self.part_pid = reply["ok"].get("pid")
        return True

    def _serving(self):
        """Make sure a process serves the part's calls: start the sandbox if there is none,
        then the part's process (once more from a fresh sandbox if the server cannot fork)."""
        for _ in range(2):
            if self.process is None:
                self._start()
            if self.part_id is not None or self._begin_part_process():
                return
        raise StudentError("Crash", "the process running your code could not start a process "
                                    "for this part (did your code leave too many running?)")

    def _part_ended(self, deadline):
        """Wait for the server's word that the part's process has exited, passing over
        whatever else that process wrote first; False if it does not come in time."""
        while True:
            message = self._next_message(deadline)
            if message in (_TIMEOUT, _Channel.EOF, _Channel.OVERFLOW):
                return False
            if self._is_end_of_part(message):
                self.part_id = self.part_pid = None
                return True

    def _is_end_of_part(self, message):
        return (self.part_forked and isinstance(message, dict) and "ended" in message
                and message.get("id") == self.part_id)

    def _abandon_part(self):
        """Stop what serves the calls after it hung or broke the protocol: kill the part's
        process, or the whole sandbox when that is what served them or the server does not
        confirm the kill."""
        if self.part_id is None or not self.part_forked:
            self._stop()
            return
        pid = self._part_host_pid()
        if pid is not None:
            _kill_group(pid)
            isolation.kill_tree(pid)
        if pid is None or not self._part_ended(time.monotonic() + PART_PROCESS_SECONDS):
            self._stop()

    def _part_host_pid(self):
        """The pid of the part's process as this process knows it, or None. Inside
        bubblewrap's PID namespace it has another number, found in /proc (its NSpid)."""
        if self.isolation.level != "bwrap":
            return self.part_pid
        frontier = [self.process.pid]
        while frontier:
            pid = frontier.pop()
            if _pid_inside(pid) == self.part_pid and pid != self.process.pid:
                return pid
            frontier.extend(isolation.children(pid))
        return None

    def _module_file(self, module):
        """The file of ``module`` in the submission: ``minidl/optim/__init__.py`` for the
        package ``minidl.optim``, ``minidl/linear.py`` for a module."""
        relative = module.replace(".", "/")
        if os.path.isdir(os.path.join(self.workdir, relative)):
            return f"{relative}/__init__.py"
        return f"{relative}.py"

    def _stop(self):
        if self.process is None:
            return
        if os.name == "posix":
            if self.part_id is not None and self.part_forked and self.isolation.level != "bwrap":
                _kill_group(self.part_pid)  # its own group, which the session's kill misses
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            isolation.kill_tree(self.process.pid)
        else:
            self.process.kill()
        self.process.wait()
        self.process_cap.remove() if self.process_cap else None
        # A process the student's code detached was adopted by this one (the grader is a
        # subreaper on Linux): it dies with the sandbox.
        isolation.reap_orphans(keep=self.children_before)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass  # a request the dead process never read: closing flushes it in vain
        self.process = None
        self.part_id = self.part_pid = None

    def _describe_exit(self):
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        return _describe_exit(code)

    def _receive_hello(self, deadline):
        """The sandbox's greeting; GraderError if it does not come (no student code has run
        yet)."""
        line = self.channel.next(deadline)
        if line is None or line in (_Channel.EOF, _Channel.OVERFLOW):
            exit_text = self._describe_exit() if line is _Channel.EOF else (
                f"no sign of life within {self.limits.start_seconds:g} s")
            said = self.channel.said()
            self._stop()
            raise GraderError(f"the sandbox did not start ({self.isolation.level}): "
                              f"{exit_text}" + (f"; it said: {said[-600:]}" if said else ""))
        try:
            return wire.loads(line)
        except Exception:  # noqa: BLE001 -- anything unreadable is the sandbox's fault
            self._stop()
            raise GraderError("the sandbox sent an unreadable greeting") from None

    def _next_message(self, deadline):
        """The next message from the sandbox, passing over empty lines (the server starts
        its end-of-part line with one, to end whatever the part's process cut short); or
        _TIMEOUT, _Channel.EOF, _Channel.OVERFLOW or _UNREADABLE."""
        while True:
            line = self.channel.next(deadline)
            if line is None:
                return _TIMEOUT
            if line in (_Channel.EOF, _Channel.OVERFLOW) or line.strip():
                break
        if line in (_Channel.EOF, _Channel.OVERFLOW):
            return line
        try:
            return wire.loads(line)
        except Exception:  # noqa: BLE001 -- anything unreadable is the student's process's fault
            return _UNREADABLE

    def _send(self, request):
        try:
            self.process.stdin.write(wire.dumps(request))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child already died: reading the reply reports it

    def _exchange(self, request, deadline, timeout_message):
        request_id = uuid.uuid4().hex
        self._send({**request, "id": request_id})
        reply = self._next_message(deadline)
        if reply is _TIMEOUT:
            self._abandon_part()
            raise StudentError("Timeout", timeout_message)
        if reply is _Channel.EOF:
            exit_text = self._describe_exit()
            self._stop()
            raise StudentError("Crash", exit_text)
        if reply is _Channel.OVERFLOW:
            self._stop()
            raise StudentError("Crash", "the process running your code sent a reply larger "
                               "than the grader accepts")
        if self._is_end_of_part(reply):  # the part's process died; the server lives on
            self.part_id = self.part_pid = None
            raise StudentError("Crash", _describe_exit(reply["ended"]))
        well_formed = (isinstance(reply, dict) and reply.get("id") == request_id
                       and len({"ok", "error"} & reply.keys()) == 1)
        if not well_formed:
            # Something other than the server wrote to the reply channel: start afresh.
            self._abandon_part()
            raise StudentError("Crash", "the process running your code sent an unreadable reply")
        if "error" in reply:
            error = reply["error"]
            raise StudentError(str(error.get("type")), str(error.get("message")),
                               str(error.get("where", "")))
        return reply["ok"]

    def _run(self, request):
        if self.import_hang is not None:
            raise self.import_hang
        # Only a student's own function is remembered: a grader probe drives many (and
        # ``drive`` an object's methods).
        target = request["target"]
        if target in self.hung:
            raise StudentError("Timeout", self.hung[target])
        started = time.monotonic()
        self._serving()
        if self.part_deadline is not None:  # starting is not the part's own time
            self.part_deadline += time.monotonic() - started
        deadline, timeout_message = self._deadline()
        if time.monotonic() >= deadline:
            raise StudentError("Timeout", timeout_message)
        try:
            return self._exchange(request, deadline, timeout_message)
        except StudentError as error:
            if error.kind == "Timeout" and target.startswith("minidl."):
                self.hung[target] = (
                    f"{target.removeprefix('minidl.')} did not return in an earlier part "
                    f"({error.message.split(':')[0]}), so it is not called again: look for an "
                    "endless loop or a very slow one")
            raise


_TIMEOUT, _UNREADABLE = object(), object()


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _pid_inside(pid):
    """The pid a process has in its innermost PID namespace (the last number of its NSpid
    line in /proc), or None."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None


def _describe_exit(code):
    if code is None:
        return "the process running your code closed its reply channel and did not exit"
    # A signal shows as -N from a direct child, and as 128 + N through bubblewrap.
    signal_number = -code if code < 0 else code - 128 if code > 128 else None
    if signal_number in {s.value for s in signal.Signals}:
        name = signal.Signals(signal_number).name
        reason = {
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (it wrote too much output to a file)",
            "SIGKILL": " (killed, often for using too much memory)",
        }.get(name, "")
        return f"the process running your code was stopped by {name}{reason}"
    return f"the process running your code exited with status {code} (did it call exit()?)"

