"""What keeps a student's process apart from everything else, at the level the platform allows.

Three levels, chosen automatically (``--isolation auto``) or by name:

- ``bwrap``: Linux where bubblewrap can create namespaces. New mount, PID, network, IPC and
  UTS namespaces: the file system is read-only; ``/tmp``, the course repository (solutions,
  gradebook), the class's submissions and the numerical libraries other than numpy are
  replaced by empty folders, except the Python environment and the ``autograder`` package;
  only the private copy is writable; the process sees and signals nothing outside.
- ``rlimits``: any POSIX system. The process runs as the grader's user with limits on CPU
  time, address space, file size and open files; the limits a platform lacks (macOS has no
  address-space limit) are skipped and named in the report.
- ``process``: Windows. A child process with time limits only.

At every level: a clean environment, a private working copy, its own session, wall-clock
limits, and, where a cgroup ``pids`` controller is writable (v1, or v2 with the controller
delegated), a cap on processes and threads that stops a fork bomb. On Linux the grader
becomes a child subreaper, so a process the student's code detaches is still found and
killed when its sandbox stops.
"""
import ctypes
import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import GraderError
from autograder.layout import IS_CHECKOUT, REPO

LEVELS = ("bwrap", "rlimits", "process")
CGROUP_ROOT = Path("/sys/fs/cgroup")

# Libraries a minidl must not use; at the bwrap level their folders are hidden from the child.
NUMERICAL_LIBRARIES = ("torch", "torchvision", "functorch", "triton", "tensorflow", "keras",
                       "jax", "jaxlib", "scipy", "sklearn", "cupy", "numba", "autograd",
                       "mxnet", "paddle", "theano", "pandas", "sympy")

# How to let bubblewrap create namespaces where it cannot: shown with its error.
BWRAP_FIX = ("run the container with the options that allow namespaces (for Docker: "
             "--security-opt seccomp=unconfined --security-opt apparmor=unconfined "
             "--cap-add SYS_ADMIN, or --privileged), or enable unprivileged user namespaces "
             "(sysctl kernel.unprivileged_userns_clone=1)")


@dataclass(frozen=True)
class Isolation:
    """The level chosen, and what the grader must say about it."""

    level: str
    warnings: tuple = field(default=())

    def describe(self, skipped_limits=()):
        """The level as every report names it, with any limit the platform lacked."""
        if self.level == "process":
            return "process (time limits only)"
        missing = list(skipped_limits)
        if ProcessCap.available() is None:
            missing.append("processes")
        return f"{self.level} (not capped: {', '.join(missing)})" if missing else self.level


def has_posix_limits():
    return importlib.util.find_spec("resource") is not None


def bubblewrap_problem():
    """None if bubblewrap can create namespaces here, else (why not, in its own words, and
    the fix)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return ("bubblewrap (bwrap) is not installed",
                "install it (apt-get install bubblewrap, or your distribution's package)")
    return _try_bubblewrap(bwrap)


@functools.lru_cache
def _try_bubblewrap(bwrap):
    """Once per process for each bwrap found: can it create the namespaces we use?"""
    try:
        done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-all", "--die-with-parent", "--", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not be run ({error})", BWRAP_FIX
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return f"bwrap is installed but cannot create namespaces here ({said[0]})", BWRAP_FIX
    return None


def choose(requested="auto"):
    """The ``Isolation`` to grade with; GraderError if the requested level cannot work here."""
    if requested not in ("auto", *LEVELS):
        raise GraderError(f"--isolation must be auto, {', '.join(LEVELS)}; got {requested!r}")
    if requested == "process":
        return Isolation("process", ("grading with --isolation process: the student's code "
                                     "runs as your user with time limits only",))
    if not has_posix_limits():
        if requested != "auto":
            raise GraderError(f"--isolation {requested} needs a POSIX system; on Windows use "
                              "--isolation process (or auto)")
        return Isolation("process", ("this platform has no resource limits (Windows): the "
                                     "student's code runs as your user with time limits only; "
                                     "grade untrusted work on Linux with bubblewrap",))
    if requested in ("auto", "bwrap"):
        problem = bubblewrap_problem()
        if problem is None:
            return Isolation("bwrap")
        cause, fix = problem
        if requested == "bwrap":
            raise GraderError(f"--isolation bwrap: {cause}; {fix}, or grade with "
                              "--isolation rlimits")
        return Isolation("rlimits", (f"{cause}, so the student's code is isolated by rlimits "
                                     "only: it runs as your user and can read what you can "
                                     f"read; for untrusted work, {fix}",))
    return Isolation("rlimits", ("grading with --isolation rlimits: the student's code runs as "
                                 "your user and can read what you can read",))


def hidden_library_folders():
    """The installed folders of the numerical libraries a minidl must not use."""
    folders = []
    for name in NUMERICAL_LIBRARIES:
        spec = importlib.util.find_spec(name)  # a top-level lookup imports nothing
        for location in (spec.submodule_search_locations or []) if spec else []:
            folders.append(Path(location).resolve())
    return folders


def bubblewrap_prefix(workdir, hidden_paths=()):
    """The ``bwrap ...`` arguments that confine a command to ``workdir``."""
    args = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    # The checkout holds the solutions and the gradebook; an installed wheel has no checkout.
    course = (REPO,) if IS_CHECKOUT else ()
    hidden = sorted({Path(p).resolve() for p in (*course, *hidden_paths)})
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    # What the child needs to start Python and the sandbox module, read-only: the
    # environment, and every folder on this process's path (packages a .pth file adds)
    # that is not one of those hidden.
    needed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
              Path(__file__).resolve().parent}
    # A folder that holds a hidden one, or the temporary folder (other sandboxes' copies),
    # would show them again.
    covers = (*hidden, Path(tempfile.gettempdir()).resolve())
    for entry in sys.path:
        folder = Path(entry or ".").resolve()
        if folder.is_dir() and not any(folder.is_relative_to(h) for h in hidden) \
                and not any(c.is_relative_to(folder) for c in covers):
            needed.add(folder)
    for folder in sorted(needed):
        args += ["--ro-bind", str(folder), str(folder)]
    # Mounted after the environment, so these stay empty inside it.
    for folder in hidden_library_folders():
        args += ["--tmpfs", str(folder)]
    args += ["--bind", str(workdir), str(workdir),
             "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--chdir", str(workdir), "--"]
    return args


class ProcessCap:
    """A cgroup that limits how many processes and threads a sandbox may have at once.

    cgroup v1: a new group under the ``pids`` hierarchy. cgroup v2: a new group beside the
    grader's own, which needs the ``pids`` controller enabled for its parent's children.
    """

    root = CGROUP_ROOT
    own_cgroup = Path("/proc/self/cgroup")

    def __init__(self, limit):
        self.path = None
        parent = self.available()
        if parent is None:
            return
        path = parent / f"autograder-{uuid.uuid4().hex}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return
        self.path = path

    @classmethod
    def available(cls):
        """The folder to create capped groups in, or None where no pids cgroup is writable."""
        v1 = cls.root / "pids"
        if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
            return v1
        if not (cls.root / "cgroup.controllers").exists():
            return None
        try:
            own = cls.own_cgroup.read_text().splitlines()
        except OSError:
            return None
        relative = next((line[3:] for line in own if line.startswith("0::")), None)
        if relative is None:
            return None
        parent = (cls.root / relative.lstrip("/")).parent
        try:
            delegated = "pids" in (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            return None
        return parent if delegated and os.access(parent, os.W_OK) else None

    def enter(self):
        """Move the calling process into the cgroup (run in the child before exec)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def members(self):
        if self.path is None:
            return []
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self):
        """Kill what is left in the cgroup, then delete it (killed processes take a moment)."""
        if self.path is None:
            return
        for _ in range(100):
            for pid in self.members():
                kill(pid)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.01)


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def become_subreaper():
    """On Linux, adopt the orphans of our descendants, so a detached process is still ours."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass


def _parent_pids():
    """{pid: parent pid} of every process, read from /proc in one pass (Linux; {} elsewhere)."""
    parents = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return parents
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent pid follows it.
        parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return parents


def children(pid):
    """The pids whose parent is ``pid`` (Linux; [] elsewhere)."""
    return [child for child, parent in _parent_pids().items() if parent == pid]


def kill_tree(pid):
    """Kill ``pid`` and every descendant (found through /proc on Linux), repeating while a
    fork races the kill."""
    for _ in range(50):
        parents = _parent_pids()
        tree, frontier = [], [pid]
        while frontier:
            current = frontier.pop()
            tree.append(current)
            frontier.extend(child for child, parent in parents.items() if parent == current)
        for member in tree:
            kill(member)
        if not any(_exists(member) for member in tree[1:]):
            return
        time.sleep(0.01)


def reap_orphans(keep=()):
    """Kill every child of this process except ``keep`` (adopted orphans of sandboxes), and
    collect the dead."""
    for _ in range(50):
        orphans = [pid for pid in children(os.getpid()) if pid not in keep]
        for pid in orphans:
            kill_tree(pid)
        _collect_zombies(keep)
        if not orphans:
            return


def _collect_zombies(keep):
    for pid in children(os.getpid()):
        if pid in keep:
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _exists(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"
