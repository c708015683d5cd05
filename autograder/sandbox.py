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

Requests:

- ``{"op": "import", "modules": [...]}`` imports the student's modules (to find a hang at
  import once); an import that raises is left for the calls to report.
- ``{"op": "call", "target": "minidl.linear.softmax", "args": [...], "kwargs": {...}}``
  calls a function and returns its result.
- ``{"op": "object", "target": "minidl.linear.LinearClassifier", "args", "kwargs",
  "set": {attr: value}, "calls": [{"method", "args", "kwargs"}], "get": [attr, ...]}``
  builds an object, sets attributes, calls methods in order and returns
  ``{"results": [...], "attrs": {...}}``.

This module runs inside the student's process, so nothing here is trusted by
the grader: it only ever reads the plain data that comes back.
"""
import importlib
import json
import os
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


def die_with_parent():
    """Linux: be killed when the grader's process that started us dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def within(path, folder):
    return os.path.abspath(path).startswith(folder + os.sep)


def student_frame(exc, submission):
    """'file:line' of the innermost traceback frame inside the submission, if any."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if within(frame.filename, submission):
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
    if request["op"] == "import":
        for module in request["modules"]:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 -- the calls that need it report it
                pass
        return None
    target = resolve(request["target"])
    args, kwargs = request.get("args", []), request.get("kwargs", {})
    if request["op"] == "call":
        return target(*args, **kwargs)
    if request["op"] == "object":
        instance = target(*args, **kwargs)
        for name, value in request.get("set", {}).items():
            setattr(instance, name, value)
        results = [
            getattr(instance, call["method"])(*call.get("args", []), **call.get("kwargs", {}))
            for call in request.get("calls", [])
        ]
        attrs = {name: getattr(instance, name) for name in request.get("get", [])}
        return {"results": results, "attrs": attrs}
    raise ValueError(f"unknown op {request['op']!r}")


def resolve(target):
    """Import ``package.module.name`` and return the named attribute."""
    module_name, _, attribute = target.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def error_reply(request_id, exc, submission):
    return {"id": request_id, "error": {"type": type(exc).__name__,
                                        "message": str(exc)[:2000],
                                        "where": student_frame(exc, submission)}}


def serve(submission, replies):
    server_pid = os.getpid()
    for line in sys.stdin.buffer:
        request = wire.loads(line)
        try:
            reply = {"id": request["id"], "ok": run_request(request)}
        except BaseException as exc:  # noqa: BLE001 -- every failure is reported, never raised
            reply = error_reply(request["id"], exc, submission)
        if os.getpid() != server_pid:
            os._exit(0)  # a process the student's code forked: only the server replies
        try:
            encoded = wire.dumps(reply)
        except wire.NotPlainData as exc:
            encoded = wire.dumps({"id": request["id"], "error": {
                "type": "NotPlainData", "message": str(exc), "where": ""}})
        replies.write(encoded)


def main(config):
    submission = os.path.abspath(config["submission"])
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_WRONLY)
    skipped = []
    if config["level"] != "process":
        import resource

        skipped = apply_limits(config["limits"], resource)
        die_with_parent()
    sys.meta_path.insert(0, ImportGuard(submission, config["tainted"]))
    sys.path.insert(0, submission)
    os.chdir(submission)
    replies.write(wire.dumps({"hello": {"pid": os.getpid(), "skipped": skipped}}))
    # From here on only the student's code writes to stdout and stderr: discard it.
    os.dup2(null, 1)
    os.dup2(null, 2)
    serve(submission, replies)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
