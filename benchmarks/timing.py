"""Timing helpers shared by the benchmarks: medians of repeated runs, machine description."""
import os
import platform
import statistics
import subprocess
import sys
import time

# Variables that make OpenBLAS use other kernels than it would detect for the CPU. Some
# development machines set them; users' machines do not, so the benchmarks run without them.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


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


def interleaved_medians(functions, repeats, rounds=5):
    """Median wall time of one call of each function of ``functions`` (a dict of name ->
    function), over ``repeats`` calls of each.

    The calls are made in ``rounds`` rounds, and each round runs every function in turn,
    ``repeats // rounds`` times in a row: a change in the machine's load during the run
    then affects them all alike. The first call of each run in a row is not counted: it
    waits for the thread pools that the previous library leaves spinning, and warms up
    the caches."""
    per_round = max(1, repeats // rounds)
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            function()
            for _ in range(per_round):
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
        *blas_description(),
        f"- command: {' '.join([os.path.basename(sys.executable), *sys.argv])}",
    ]


def load_average():
    """The load averages over 1, 5 and 15 minutes, as text."""
    return ", ".join(f"{load:.1f}" for load in os.getloadavg())


def blas_description():
    """The matrix-product libraries that did the timed work, and the kernels they chose."""
    import torch
    from threadpoolctl import threadpool_info

    numpy_blas = "; ".join(
        f"{lib['internal_api']} {lib['version']}, {lib.get('architecture', '?')} kernels, "
        f"{lib['num_threads']} threads" for lib in threadpool_info()
        if lib["user_api"] == "blas")
    torch_blas = "MKL" if torch.backends.mkl.is_available() else "not MKL"
    overrides = [f"{name}={os.environ[name]}" for name in BLAS_OVERRIDES if name in os.environ]
    return [
        f"- numpy's BLAS (threadpoolctl): {numpy_blas or 'none found'}",
        f"- PyTorch's BLAS: {torch_blas}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}",
        f"- OpenBLAS kernel override: "
        f"{', '.join(overrides) or 'none (the kernels OpenBLAS detects for this CPU)'}",
    ]
