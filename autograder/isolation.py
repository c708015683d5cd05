"""What keeps a student's process apart from everything else, using what the platform offers.

Always (any POSIX system): resource limits on CPU time, address space, file size, open
files and core dumps; a clean environment; a private working copy; its own session, so the
whole process group is killed at the end.

Where bubblewrap (``bwrap``) is installed (Debian/Ubuntu package ``bubblewrap``): new
mount, PID, network, IPC and UTS namespaces. The file system is read-only; ``/tmp``, the
course repository (solutions, gradebook), the class's submissions and the grader's output
folders are replaced by empty folders, except the Python environment and the
``autograder`` package, which are visible read-only; only the private copy is writable.

Where the cgroup v1 ``pids`` controller is writable (Linux, as root): a cap on the number
of processes and threads, which stops a fork bomb.
"""
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from autograder.layout import REPO

PIDS_CGROUP_ROOT = Path("/sys/fs/cgroup/pids")


def bubblewrap_prefix(workdir, hidden_paths=()):
    """The ``bwrap ...`` arguments that confine a command to ``workdir``, or [] without bwrap."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or os.environ.get("AUTOGRADER_NO_BWRAP"):
        return []
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    for path in sorted({Path(p).resolve() for p in (REPO, *hidden_paths)}):
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    # What the child needs to start Python and the sandbox module, read-only.
    for needed in (Path(sys.prefix).resolve(), REPO / "autograder"):
        args += ["--ro-bind", str(needed), str(needed)]
    args += ["--bind", str(workdir), str(workdir),
             "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--chdir", str(workdir), "--"]
    return args


class ProcessCap:
    """A cgroup that limits how many processes and threads a sandbox may have at once."""

    def __init__(self, limit):
        self.path = None
        if not os.access(PIDS_CGROUP_ROOT, os.W_OK):
            return
        path = PIDS_CGROUP_ROOT / f"autograder-{uuid.uuid4().hex}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
        except OSError:
            return
        self.path = path

    def enter(self):
        """Move the calling process into the cgroup (run in the child before exec)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self):
        """Delete the cgroup once its last process is gone (killed processes take a moment)."""
        if self.path is None:
            return
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.01)
