"""The README's Slurm job array, run on a one-node Slurm cluster started by the test.

The cluster is Debian's slurm-wlm and munge: munged, slurmctld and slurmd run from a
temporary folder with their own configuration, key, ports and state, so nothing of the
machine's own set-up is used or changed. Where they are missing or do not start, the test is
skipped with the reason.
"""
import csv
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.layout import REPO

pytestmark = pytest.mark.slow

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo")
START_TIMEOUT = 30  # seconds for the daemons to come up and the node to be idle
# A wrong softmax: without the max subtracted it overflows on large scores.
UNSTABLE_SOFTMAX = ("\ndef softmax_loss(scores, y):\n"
                    "    import numpy as np\n"
                    "    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)\n"
                    "    n = len(y)\n"
                    "    loss = -np.log(p[np.arange(n), y]).mean()\n"
                    "    p[np.arange(n), y] -= 1\n"
                    "    return loss, p / n\n")


@pytest.fixture(scope="module")
def small_class(tmp_path_factory, solved_a1, released_a1):
    """alice: solved (nbgrader layout); bob: untouched; carol: an unstable softmax."""
    root = tmp_path_factory.mktemp("class")
    shutil.copytree(solved_a1, root / "alice" / "a1_linear")
    shutil.copytree(released_a1, root / "bob")
    linear = shutil.copytree(solved_a1, root / "carol") / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + UNSTABLE_SOFTMAX)
    return root


def readme_job_array():
    """The README's batch script for the job array (the block after "a Slurm job array")."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("With a Slurm job array"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def replace_once(text, old, new):
    """``text`` with ``old`` replaced; fails if the README no longer has ``old``."""
    assert text.count(old) == 1, f"the README's job array lost {old!r}"
    return text.replace(old, new)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slurm_conf(folder, host, user):
    """A one-node cluster whose every file lives in ``folder``."""
    return "\n".join([
        "ClusterName=course",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        f"SlurmUser={user}",
        f"SlurmdUser={user}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={folder}/munge/socket",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "MpiDefault=none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "ReturnToService=2",
        f"StateSaveLocation={folder}/state",
        f"SlurmdSpoolDir={folder}/spool",
        f"SlurmctldPidFile={folder}/slurmctld.pid",
        f"SlurmdPidFile={folder}/slurmd.pid",
        f"SlurmctldLogFile={folder}/log/slurmctld.log",
        f"SlurmdLogFile={folder}/log/slurmd.log",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
        "PartitionName=course Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ""])


def logs(folder):
    return "\n".join(f"== {path.name}\n{path.read_text()[-800:]}"
                     for path in sorted((folder / "log").iterdir()))


@pytest.fixture
def cluster():
    """Start munged, slurmctld and slurmd; yield the environment that reaches them."""
    missing = [name for name in DAEMONS if shutil.which(name) is None
               and not Path("/usr/sbin", name).exists()]
    if missing:
        pytest.skip(f"Slurm is not installed (no {', '.join(missing)}): "
                    "apt-get install slurm-wlm munge")
    # A short path: munge's Unix socket path may have at most 107 characters.
    folder = Path(tempfile.mkdtemp(prefix="slurm-"))
    for sub in ("munge", "state", "spool", "log"):
        (folder / sub).mkdir(mode=0o700)
    key = os.open(folder / "munge" / "munge.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(key, os.urandom(128))
    os.close(key)
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host, pwd.getpwuid(os.getuid()).pw_name))
    env = dict(os.environ, SLURM_CONF=str(conf))

    def sbin(name):
        return shutil.which(name) or f"/usr/sbin/{name}"

    commands = [
        [sbin("munged"), "--foreground", "--force", f"--socket={folder}/munge/socket",
         f"--key-file={folder}/munge/munge.key", f"--pid-file={folder}/munge/munged.pid",
         f"--seed-file={folder}/munge/seed", f"--log-file={folder}/log/munged.log"],
        [sbin("slurmctld"), "-D", "-f", str(conf)],
        [sbin("slurmd"), "-D", "-f", str(conf), "-N", host],
    ]
    daemons = []
    try:
        for command in commands:
            with open(folder / "log" / f"{Path(command[0]).name}.out", "w") as out:
                daemons.append(subprocess.Popen(command, env=env, stdout=out,
                                                stderr=subprocess.STDOUT))
            time.sleep(1)  # munged's socket before slurmctld, slurmctld before slurmd
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            state = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env,
                                   capture_output=True, text=True).stdout.split()
            if state == ["idle"]:
                break
            stopped = [Path(d.args[0]).name for d in daemons if d.poll() is not None]
            if stopped or time.monotonic() > deadline:
                pytest.skip(f"the one-node Slurm did not start ({', '.join(stopped) or 'node'}"
                            f" {'exited' if stopped else 'not idle'} after "
                            f"{START_TIMEOUT} s):\n{logs(folder)}")
            time.sleep(0.5)
        yield env
    finally:
        for daemon in reversed(daemons):
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_readme_job_array_on_slurm_merges_to_the_single_run(cluster, small_class, tmp_path):
    results, merged, single = tmp_path / "results", tmp_path / "merged.csv", tmp_path / "single.csv"
    autograder = str(Path(sys.executable).parent / "autograder")
    # The README's script for this class: two tasks of one CPU, the references on the CPU.
    script = readme_job_array()
    script = replace_once(script, "--array=0-15", "--array=0-1")
    script = replace_once(script, "--cpus-per-task=8", "--cpus-per-task=1")
    script = replace_once(script, "\nautograder grade", f"\n{autograder} grade")
    script = replace_once(script, "/shared/submitted --jobs", f"{small_class} --jobs")
    script = replace_once(script, "--results /shared/results\n",
                          f"--results {results} --device cpu\n")
    (tmp_path / "grade.sh").write_text(script)
    done = subprocess.run(["sbatch", "--wait", f"--output={tmp_path}/task-%a.out", "grade.sh"],
                          cwd=tmp_path, env=cluster, capture_output=True, text=True,
                          timeout=600)
    outputs = {path.name: path.read_text() for path in sorted(tmp_path.glob("task-*.out"))}
    assert done.returncode == 0, (done.stdout, done.stderr, outputs)
    # Each task graded its share: every 2nd student, from the first and from the second.
    assert "alice" in outputs["task-0.out"] and "carol" in outputs["task-0.out"], outputs
    assert "bob" in outputs["task-1.out"] and "alice" not in outputs["task-1.out"], outputs
    assert sorted(path.stem for path in results.glob("*.json")) == ["alice", "bob", "carol"]

    done = subprocess.run([autograder, "grade", "a1_linear", "--merge", str(results),
                           "--csv", str(merged)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([autograder, "grade", "a1_linear", "--submissions", str(small_class),
                           "--csv", str(single), "--device", "cpu"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert merged.read_bytes() == single.read_bytes()
    # Not an equality of empty tables: the three students' scores differ as their code does.
    totals = {row["student"]: int(row["total"]) for row in csv.DictReader(single.open())}
    assert totals["alice"] == 35 and totals["bob"] == 0 and 0 < totals["carol"] < 35, totals
