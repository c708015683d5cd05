"""Timing helpers shared by the benchmarks: medians of repeated runs, machine description."""
import os
import platform
import statistics
import subprocess
import sys
import time


def median_seconds(function, repeats, warmup=1):
    """Median wall time of ``function()`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_command(command, cwd=None, env=None):
    """Run a command, fail loudly if it fails, and return its wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def machine_description():
    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- numpy {numpy.__version__}, PyTorch {torch.__version__} "
        f"({torch.get_num_threads()} threads), CUDA available: {torch.cuda.is_available()}",
        f"- command: {' '.join([os.path.basename(sys.executable), *sys.argv])}",
    ]
