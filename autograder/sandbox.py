"""The child process that runs a student's code: ``autograder.sandbox`` run as ``__main__``
by ``python -I`` (see ``student.SANDBOX_BOOT``), with one argument, CONFIG.

CONFIG is a JSON object: ``submission`` (the private copy to put first on ``sys.path``),
``level`` (the isolation level), ``limits`` ({name: value} for the resource limits) and
``tainted`` ({module: message} for the minidl modules that import another library).

At start it keeps its standard output as the reply channel and points file descriptors 1
and 2 at the null device, so the student's prints go nowhere; applies the resource limits
the platform has; installs the numpy-only import guard; and sends one ``hello`` line
naming the limits it could not apply. Then it answers requests read from stdin, one JSON
line each, with one reply line each. A reply repeats the request's ``id`` and holds either
``"ok": result`` or ``"error": {"type", "message", "where"}``.

One request reaches the student's code:

- ``{"op": "call", "target": "minidl.linear.softmax", "args": [...], "kwargs": {...}}``
  calls a function and returns its result. A grader probe (``autograder.probes``) is called
  the same way; ``autograder.probes.drive`` builds an object and calls its methods.

The others control the process, and run none of the student's code themselves:

- ``{"op": "import", "modules": [...]}`` imports the student's modules, once, in the
  process every part starts from (to find a hang at import once); an import that raises is
  left for the calls to report.
- ``{"op": "part"}`` starts a part, so that each part sees the modules as imported and
  nothing an earlier part changed. Where ``os.fork`` exists the server forks: the new
  process (its own process group, killed if the server dies) replies ``{"forked": true,
  "pid": ...}`` and serves the part's calls, while the server waits for it to exit, kills
  what it left behind, and then writes an empty line and ``{"id": <the part request's id>,
  "ended": exit status}`` (a negative status is the signal that stopped it) and reads the
  next request. The grader must send nothing between the ``part`` request and its reply,
  since both processes share the request pipe; the server refuses to fork with a request
  read but not yet served. Without ``os.fork`` (Windows) the server copies the namespaces of
  the imported minidl modules and replies ``{"forked": false}``.
- ``{"op": "end"}`` ends the part: a forked part's process exits at once, without a reply
  (the server's ``ended`` line answers); without a fork the server puts the namespaces it
  copied back (``restore_namespaces``) and replies.

Only the process serving requests replies: a process the student's code forks stops when it
returns to the server's loop.

This module runs inside the student's process, so nothing here is trusted by
the grader: it only ever reads the plain data that comes back.
"""
import importlib
import json
import os
import signal
import sys
import traceback

from autograder import wire
from autograder.numpy_only import ALLOWED, message

# The resource limits, by the name a report uses for each.
RESOURCE_LIMITS = {
    "cpu_seconds": ("CPU time", "RLIMIT_CPU"),
    "memory_bytes": ("address space", "RLIMIT_AS"),
    "file_bytes": ("file size", "RLIMIT_FSIZE"),
    "open_files": ("open files", "RLIMIT_NOFILE"),
    "core_bytes": ("core dumps", "RLIMIT_CORE"),
}
LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def apply_limits(limits, resource_module):
    """Set each limit the platform has; return the names of those it lacks (macOS has no
    address-space limit: its ``setrlimit(RLIMIT_AS)`` raises ValueError)."""
    skipped = []
    for key, (name, constant) in RESOURCE_LIMITS.items():
        value = limits[key]
        try:
            _, hard = resource_module.getrlimit(getattr(resource_module, constant))
            if hard != resource_module.RLIM_INFINITY:
                value = min(value, hard)
            resource_module.setrlimit(getattr(resource_module, constant), (value, value))
        except (AttributeError, ValueError, OSError):
            skipped.append(name)
    return skipped


def prctl(option, value):
    """Linux's prctl(2); nothing elsewhere."""
    if LINUX:
        import ctypes

        try:
            ctypes.CDLL(None).prctl(option, value, 0, 0, 0)
        except (OSError, AttributeError):
            pass


SHARED_CHECKS = ("_validate.py",)  # minidl's argument checks, which every module calls


def die_with_parent():
    """Linux: be killed when the process that started us dies (a fork forgets this)."""
    prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


def within(path, folder):
    return os.path.abspath(path).startswith(folder + os.sep)


def student_frame(exc, submission):
    """'file:line' of the innermost traceback frame inside the submission, if any, leaving
    out minidl's shared argument checks: the line to look at is the one that called them."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if within(frame.filename, submission) and os.path.basename(frame.filename) \
                not in SHARED_CHECKS:
            where = f"{os.path.relpath(frame.filename, submission)}:{frame.lineno}"
    return where


class ImportGuard:
    """Refuses tainted minidl modules, and any library but numpy and the standard library
    when the student's code asks for it (the grader's and numpy's own imports pass)."""

    def __init__(self, submission, tainted):
        self.submission, self.tainted = submission, tainted

    def importer(self):
        """'file:line' of the code that ran the import statement, if it is the student's."""
        frame = sys._getframe(2)
        machinery = os.path.dirname(importlib.__file__)
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                     or within(frame.f_code.co_filename, machinery)):
            frame = frame.f_back
        if frame is None or not within(frame.f_code.co_filename, self.submission):
            return None
        return f"{os.path.relpath(frame.f_code.co_filename, self.submission)}:{frame.f_lineno}"

    def find_spec(self, name, path=None, target=None):
        if name in self.tainted:
            raise ImportError(self.tainted[name])
        if name.partition(".")[0] in ALLOWED:
            return None
        where = self.importer()
        if where is not None:
            raise ImportError(message(where, name))
        return None


def selftest(matrix):
    """The known-good probe of the grader's preflight: proves the sandbox runs numpy."""
    import numpy as np

    return np.asarray(matrix) @ np.asarray(matrix).T


def run_request(request):
    """Serve a ``call``, the one request that runs the student's code (in-process too)."""
    if request["op"] != "call":
        raise ValueError(f"unknown op {request['op']!r}")
    return resolve(request["target"])(*request.get("args", []), **request.get("kwargs", {}))


def resolve(target):
    """Import ``package.module.name`` and return the named attribute."""
    module_name, _, attribute = target.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def import_modules(modules):
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 -- the calls that need it report it
            pass


def imported_minidl():
    """{name: module} of every entry of the ``minidl`` package in ``sys.modules`` (None
    where an import failed)."""
    return {name: module for name, module in list(sys.modules.items())
            if name == "minidl" or name.startswith("minidl.")}


def minidl_namespaces():
    """A copy of the module-level names of every imported minidl module: {module: names}."""
    return {module: dict(vars(module)) for module in imported_minidl().values()
            if module is not None}


def restore_namespaces(saved):
    """Give each module the names ``minidl_namespaces`` copied: a global a part rebound (a
    flag left off) gets its value back, and a name it added goes."""
    for module, names in saved.items():
        namespace = vars(module)
        for name in [name for name in namespace if name not in names]:
            del namespace[name]
        namespace.update(names)


def error_reply(request_id, exc, submission):
    return {"id": request_id, "error": {"type": type(exc).__name__,
                                        "message": str(exc)[:2000],
                                        "where": student_frame(exc, submission)}}


class Requests:
    """The request lines on a file descriptor, read with ``os.read`` so that the server knows
    what it has read ahead of the request it serves (a buffered reader would hide it, and a
    fork would then serve it twice)."""

    def __init__(self, fd):
        self.fd, self.pending = fd, bytearray()

    def __iter__(self):
        return self

    def __next__(self):
        searched = 0
        while (end := self.pending.find(b"\n", searched)) < 0:
            searched = len(self.pending)
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise StopIteration
            self.pending += chunk
        line = bytes(self.pending[:end + 1])
        del self.pending[:end + 1]
        return line


def processes_with_parent(pid):
    """The pids whose parent is ``pid``, from /proc (Linux)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry))
    return found


def kill_leftovers(part):
    """Kill what a part's process left: its process group, and on Linux every other child
    of the server (a process the part detached was adopted by the server, a subreaper)."""
    try:
        os.killpg(part, signal.SIGKILL)
    except OSError:
        pass
    while LINUX:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child left
        if pid == 0:  # some still run: kill them, and wait for one to go
            for child in processes_with_parent(os.getpid()):
                try:
                    os.kill(child, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return


class Server:
    """Serves the requests of one sandbox; see the module's docstring for the protocol."""

    def __init__(self, submission, requests, replies):
        self.submission, self.requests, self.replies = submission, requests, replies
        self.pid = os.getpid()  # the process that replies
        self.in_forked_part = False
        self.saved = None  # the minidl namespaces at the start of a part, without a fork

    def serve(self):
        for line in self.requests:
            request = wire.loads(line)
            op = request.get("op")
            if op == "part":
                self.begin_part(request["id"])
            elif op == "end" and self.in_forked_part:
                os._exit(0)
            elif op == "end":
                self.reply(request["id"], self.restore)
            elif op == "import":
                self.reply(request["id"], import_modules, request["modules"])
            else:
                self.reply(request["id"], run_request, request)

    def reply(self, request_id, work, *args):
        """Reply with what ``work(*args)`` returns, or with the exception it raises."""
        try:
            reply = {"id": request_id, "ok": work(*args)}
        except BaseException as exc:  # noqa: BLE001 -- every failure is reported, never raised
            reply = error_reply(request_id, exc, self.submission)
        if os.getpid() != self.pid:
            os._exit(0)  # a process the student's code forked: only the server replies
        try:
            encoded = wire.dumps(reply)
        except wire.NotPlainData as exc:
            encoded = wire.dumps({"id": request_id, "error": {
                "type": "NotPlainData", "message": str(exc), "where": ""}})
        self.replies.write(encoded)

    def restore(self):
        if self.saved is not None:
            restore_namespaces(self.saved)
            self.saved = None

    def begin_part(self, request_id):
        if not hasattr(os, "fork"):
            self.restore()
            self.saved = minidl_namespaces()
            self.reply(request_id, lambda: {"forked": False})
            return
        if self.requests.pending:
            self.replies.write(wire.dumps(error_reply(request_id, RuntimeError(
                "a request arrived before the part's process answered: both processes "
                "would have read it"), self.submission)))
            return
        try:
            part = os.fork()
        except OSError as exc:  # no process left under the cap
            self.replies.write(wire.dumps(error_reply(request_id, exc, self.submission)))
            return
        if part == 0:
            server = self.pid
            self.pid, self.in_forked_part = os.getpid(), True
            os.setpgid(0, 0)
            die_with_parent()
            if os.getppid() != server:  # the server died before the line above
                os._exit(0)
            self.reply(request_id, lambda: {"forked": True, "pid": self.pid})
            return  # this process now serves the part's requests
        _, status = os.waitpid(part, 0)
        kill_leftovers(part)
        self.replies.write(b"\n" + wire.dumps({"id": request_id,
                                               "ended": os.waitstatus_to_exitcode(status)}))


def main(config):
    submission = os.path.abspath(config["submission"])
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_WRONLY)
    skipped = []
    if config["level"] != "process":
        import resource

        skipped = apply_limits(config["limits"], resource)
        die_with_parent()
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # a process a part detaches is ours to kill
    sys.meta_path.insert(0, ImportGuard(submission, config["tainted"]))
    sys.path.insert(0, submission)
    os.chdir(submission)
    replies.write(wire.dumps({"hello": {"pid": os.getpid(), "skipped": skipped}}))
    # From here on only the student's code writes to stdout and stderr: discard it.
    os.dup2(null, 1)
    os.dup2(null, 2)
    Server(submission, Requests(sys.stdin.fileno()), replies).serve()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
