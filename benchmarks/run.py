"""Run the benchmarks side by side and write a markdown results file.

    python benchmarks/run.py            # full run, results in benchmarks/results/results.md
    python benchmarks/run.py --quick    # small sizes, a smoke test (used by the tests),
                                        # results in benchmarks/results/quick.md

The full run's results file is committed; a quick run never overwrites it.
"""
import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

from tqdm.auto import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import BLAS_OVERRIDES, load_average, machine_description  # noqa: E402

BENCHMARKS = {
    "mlp": "MLP training step: minidl vs PyTorch vs numpy",
    "autodiff": "Autodiff overhead on small operations: minidl vs PyTorch eager",
    "conv": "Convolution forward and backward: minidl vs PyTorch",
    "grading": "Grading: autograder vs nbgrader (a1_linear)",
    "notebooks": "Notebook execution times",
}


def main(argv=None):
    if any(name in os.environ for name in BLAS_OVERRIDES):
        # OpenBLAS reads them once, when numpy loads: run the whole benchmark again in a
        # process without them (and so are the processes it starts).
        env = {key: value for key, value in os.environ.items() if key not in BLAS_OVERRIDES}
        argv = sys.argv[1:] if argv is None else argv
        return subprocess.run([sys.executable, __file__, *argv], env=env).returncode
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", choices=list(BENCHMARKS), action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--out", type=Path, help="the results file (default: "
                        "benchmarks/results/results.md, or quick.md for a quick run)")
    args = parser.parse_args(argv)
    args.out = args.out or HERE / "results" / ("quick.md" if args.quick else "results.md")
    chosen = args.only or list(BENCHMARKS)
    modules = {name: __import__(f"bench_{name}") for name in chosen}
    load_at_start = load_average()
    sections = [f"# Benchmark results ({'quick' if args.quick else 'full'} run, "
                f"{datetime.date.today()})", "", *machine_description()]
    header_end = len(sections)
    sections.append("")
    total_steps = sum(module.steps(args.quick) for module in modules.values())
    with tqdm(total=total_steps, unit="step") as bar:
        for name, module in modules.items():
            bar.set_description(name)
            sections += [f"## {BENCHMARKS[name]}", "", (module.__doc__ or "").strip(), ""]
            sections += module.run(args.quick, progress=lambda: bar.update(1))
            sections.append("")
    # Other processes share the CPUs: the load says how quiet the machine was.
    sections.insert(header_end, f"- load average (1, 5, 15 min): {load_at_start} at the "
                                f"start, {load_average()} at the end")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
