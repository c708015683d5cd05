"""The child process that runs a student's code: ``python -I -m autograder.sandbox DIR FD``.

It puts the submission folder DIR first on ``sys.path``, then answers requests
read from stdin, one JSON line each, writing one reply line each to file
descriptor FD (a pipe that only the grader reads; the student's own prints go to
stdout and stderr, which the grader discards). A reply repeats the request's ``id`` and
holds either ``"ok": result`` or ``"error": {"type", "message", "where"}``.

Requests:

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
import os
import sys
import traceback

from autograder import wire


def resolve(target):
    """Import ``package.module.name`` and return the named attribute."""
    module_name, _, attribute = target.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def run_request(request):
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


def student_frame(exc, submission):
    """'file:line' of the innermost traceback frame inside the submission, if any."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename).startswith(submission):
            where = f"{os.path.relpath(frame.filename, submission)}:{frame.lineno}"
    return where


def serve(submission, reply_fd):
    sys.path.insert(0, submission)
    replies = os.fdopen(reply_fd, "wb", buffering=0)
    server_pid = os.getpid()
    for line in sys.stdin.buffer:
        request = wire.loads(line)
        try:
            reply = {"id": request["id"], "ok": run_request(request)}
        except BaseException as exc:  # noqa: BLE001 -- every failure is reported, never raised
            error = {
                "type": type(exc).__name__,
                "message": str(exc)[:2000],
                "where": student_frame(exc, submission),
            }
            reply = {"id": request["id"], "error": error}
        if os.getpid() != server_pid:
            os._exit(0)  # a process the student's code forked: only the server replies
        try:
            encoded = wire.dumps(reply)
        except wire.NotPlainData as exc:
            encoded = wire.dumps({"id": request["id"],
                                  "error": {"type": "NotPlainData", "message": str(exc)}})
        replies.write(encoded)


if __name__ == "__main__":
    serve(os.path.abspath(sys.argv[1]), int(sys.argv[2]))
