"""Run the benchmarks side by side and write a markdown results file.

    python benchmarks/run.py            # full run, results in benchmarks/results/results.md
    python benchmarks/run.py --quick    # small sizes, a smoke test (used by the tests)
"""
import argparse
import datetime
import sys
from pathlib import Path

from tqdm.auto import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import machine_description  # noqa: E402

BENCHMARKS = {
    "mlp": "MLP training step: minidl vs PyTorch vs numpy",
    "autodiff": "Autodiff overhead on small operations: minidl vs PyTorch eager",
    "grading": "Grading: autograder vs nbgrader (a1_linear)",
    "notebooks": "Notebook execution times",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", choices=list(BENCHMARKS), action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "results.md")
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHMARKS)
    modules = {name: __import__(f"bench_{name}") for name in chosen}
    sections = [f"# Benchmark results ({'quick' if args.quick else 'full'} run, "
                f"{datetime.date.today()})", "", *machine_description(), ""]
    total_steps = sum(module.steps(args.quick) for module in modules.values())
    with tqdm(total=total_steps, unit="step") as bar:
        for name, module in modules.items():
            bar.set_description(name)
            sections += [f"## {BENCHMARKS[name]}", "", (module.__doc__ or "").strip(), ""]
            sections += module.run(args.quick, progress=lambda: bar.update(1))
            sections.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(sections))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
