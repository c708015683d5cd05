"""Calling a student's code: in a sandboxed child process, or (in a notebook) in-process.

Both kinds of ``Student`` offer the same two methods and return the same plain
data (numbers, arrays, tuples, lists, dicts), so a check is written once and
runs in either place:

- ``IsolatedStudent`` (``autograder check`` and ``grade``): a private copy of the
  submission's ``minidl`` runs in ``autograder.sandbox`` under CPU, memory and
  file-size limits; a hang or crash becomes a ``StudentError`` and the next call
  starts a fresh process.
- ``InProcessStudent`` (the grade cells of a notebook): calls ``minidl`` directly.
"""
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from autograder import wire
from autograder.isolation import ProcessCap, bubblewrap_prefix


class StudentError(Exception):
    """The student's code raised, hung, crashed or returned something unusable.

    ``kind`` is the exception type name, or one of "Timeout", "Crash" and
    "NotPlainData"; ``where`` is "file:line" inside the submission when known.
    """

    def __init__(self, kind, message, where=""):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, where


@dataclass(frozen=True)
class Limits:
    """Resource limits for the process that runs student code."""

    call_seconds: float = 60.0  # wall time of one request
    cpu_seconds: int = 600  # CPU time of the whole process
    memory_bytes: int = 4 * 1024**3  # address space
    file_bytes: int = 16 * 1024**2  # largest file the process may write
    open_files: int = 64
    processes: int = 32  # processes and threads at once, where the platform can cap them


def _object_request(target, args, kwargs, set_attrs, calls, get):
    return {
        "op": "object",
        "target": target,
        "args": list(args),
        "kwargs": kwargs,
        "set": set_attrs or {},
        "calls": [
            {"method": method, "args": list(margs), "kwargs": mkwargs}
            for method, margs, mkwargs in calls
        ],
        "get": list(get),
    }


class InProcessStudent:
    """Runs the student's functions in this process (used by notebook grade cells)."""

    def call(self, target, *args, **kwargs):
        return self._run({"op": "call", "target": target, "args": list(args), "kwargs": kwargs})

    def object(self, target, args=(), kwargs=None, set_attrs=None, calls=(), get=()):
        return self._run(_object_request(target, args, kwargs or {}, set_attrs, calls, get))

    def _run(self, request):
        from autograder import sandbox

        try:
            # A round trip through the wire format gives exactly what the sandbox would return.
            return wire.loads(wire.dumps(sandbox.run_request(wire.loads(wire.dumps(request)))))
        except wire.NotPlainData as exc:
            raise StudentError("NotPlainData", str(exc)) from None
        except Exception as exc:  # noqa: BLE001 -- the check turns it into feedback
            raise StudentError(type(exc).__name__, str(exc)) from None


class IsolatedStudent:
    """Runs the student's ``minidl`` in a child process; use as a context manager."""

    def __init__(self, submission, limits=None, hidden_paths=()):
        self.submission = os.path.abspath(submission)
        self.limits = limits or Limits()
        # Folders the student's process must not see (with bubblewrap): its own original
        # folder and whatever the caller adds, such as the other students' submissions.
        self.hidden_paths = (self.submission, *hidden_paths)
        self.process_cap = None
        self.request_id = 0
        self.workdir = None
        self.process = None
        self.replies = None

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="autograder-")
        source = os.path.join(self.submission, "minidl")
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(self.workdir, "minidl"), symlinks=False)
        return self

    def __exit__(self, *exc_info):
        self._stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def call(self, target, *args, **kwargs):
        return self._run({"op": "call", "target": target, "args": list(args), "kwargs": kwargs})

    def object(self, target, args=(), kwargs=None, set_attrs=None, calls=(), get=()):
        return self._run(_object_request(target, args, kwargs or {}, set_attrs, calls, get))

    def _confine(self):
        """Runs in the child between fork and exec."""
        resource.setrlimit(resource.RLIMIT_CPU, (self.limits.cpu_seconds,) * 2)
        resource.setrlimit(resource.RLIMIT_AS, (self.limits.memory_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limits.file_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.limits.open_files,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        self.process_cap.enter()

    def _start(self):
        read_fd, write_fd = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.process_cap = ProcessCap(self.limits.processes)
        command = [sys.executable, "-I", "-m", "autograder.sandbox", self.workdir, str(write_fd)]
        self.process = subprocess.Popen(
            bubblewrap_prefix(self.workdir, self.hidden_paths) + command,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_fd,),
            preexec_fn=self._confine,
            start_new_session=True,
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, "rb")

    def _stop(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process.stdin.close()
            self.replies.close()
            self.process = None
            self.process_cap.remove()

    def _read_reply(self):
        """One reply line; raise StudentError if the child hangs or dies first."""
        deadline = time.monotonic() + self.limits.call_seconds
        chunks = []
        fd = self.replies.fileno()
        while True:
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([fd], [], [], remaining)[0]
            if not ready:
                self._stop()
                raise StudentError(
                    "Timeout", f"your code ran for more than {self.limits.call_seconds:g} s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:  # the pipe closed: the process is exiting
                try:
                    code = self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = None
                self._stop()
                raise StudentError("Crash", _describe_exit(code))
            chunks.append(chunk)
            if chunk.endswith(b"\n") or sum(map(len, chunks)) > wire.MAX_MESSAGE_BYTES:
                return b"".join(chunks)

    def _run(self, request):
        if self.process is None:
            self._start()
        self.request_id += 1
        request = {**request, "id": self.request_id}
        try:
            self.process.stdin.write(wire.dumps(request))
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the child already died: reading the reply reports it
        line = self._read_reply()
        try:
            reply = wire.loads(line)
        except Exception:  # noqa: BLE001 -- anything unreadable is the student's process's fault
            self._stop()
            raise StudentError(
                "Crash", "the process running your code sent an unreadable reply") from None
        well_formed = (isinstance(reply, dict) and reply.get("id") == self.request_id
                       and len({"ok", "error"} & reply.keys()) == 1)
        if not well_formed:
            # Something other than the server wrote to the reply pipe: start afresh.
            self._stop()
            raise StudentError("Crash", "the process running your code sent an unreadable reply")
        if "error" in reply:
            error = reply["error"]
            raise StudentError(str(error.get("type")), str(error.get("message")),
                               str(error.get("where", "")))
        return reply["ok"]


def _describe_exit(code):
    if code is None:
        return "the process running your code closed its reply channel and did not exit"
    # A signal shows as -N from a direct child, and as 128 + N through bubblewrap.
    signal_number = -code if code < 0 else code - 128 if code > 128 else None
    if signal_number in set(signal.Signals):
        name = signal.Signals(signal_number).name
        reason = {
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (it wrote too much output to a file)",
            "SIGKILL": " (killed, often for using too much memory)",
        }.get(name, "")
        return f"the process running your code was stopped by {name}{reason}"
    return f"the process running your code exited with status {code} (did it call exit()?)"
