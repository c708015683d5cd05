"""The ``autograder`` command: release assignments and grade submissions."""
import argparse
import os
import sys
from pathlib import Path

from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, REPO

DEFAULT_GRADEBOOK = f"sqlite:///{REPO / 'gradebook.db'}"


def release_command(args):
    from tqdm.auto import tqdm

    from autograder import release

    if args.solved:
        if len(args.assignments) != 1 or args.out is None:
            raise SystemExit("--solved needs exactly one ASSIGNMENT and --out DIR")
        out = release.write_solved(args.assignments[0], args.out)
        print(f"wrote the solved submission of {args.assignments[0]} to {out}")
        return 0
    assignment_ids = args.assignments or list(ASSIGNMENT_MODULES)
    problems = []
    for assignment_id in tqdm(assignment_ids, desc="release", unit="assignment"):
        if args.check:
            problems += release.check_release(assignment_id)
        else:
            release.release(assignment_id)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if args.check and not problems:
        print(f"up to date and free of solution code: {', '.join(assignment_ids)}")
    return 1 if problems else 0


def check_command(args):
    from autograder.grading import check_submission

    submission = Path(args.submission or ASSIGNMENTS / args.assignment)
    if not submission.is_dir():
        raise SystemExit(f"error: submission folder {submission} does not exist")
    report = check_submission(args.assignment, submission, device=args.device, seed=args.seed,
                              progress=not args.json)
    print(report.to_json() if args.json else report.to_table())
    return 0


def grade_command(args):
    from autograder import classroom

    if args.merge:
        reports = classroom.read_results(args.merge, args.assignment)
    elif args.submissions:
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
        reports = classroom.grade_class(args.assignment, args.submissions, jobs=args.jobs,
                                        device=args.device, seed=args.seed,
                                        shard=classroom.parse_shard(args.shard))
    else:
        raise ValueError("give --submissions DIR to grade, or --merge DIR to combine results")
    if args.results:
        classroom.write_results(args.results, reports)
    if args.csv:
        classroom.write_csv(args.csv, reports)
    if args.feedback:
        classroom.write_feedback(args.feedback, reports)
    if args.gradebook:
        classroom.write_gradebook(args.gradebook, args.assignment, reports)
    width = max((len(student) for student in reports), default=0)
    for student, report in reports.items():
        print(f"{student:<{width}}  {report.score:>3}/{report.max_score}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Release the course's assignments and grade submissions against PyTorch.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="regenerate assignments/ from solutions/",
        description="Regenerate assignments/ASSIGNMENT from solutions/ (nbgrader "
                    "generate_assignment, plus stubs for the solution regions of minidl/*.py).")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="assignments to release (default: all)")
    release.add_argument("--check", action="store_true",
                         help="change nothing; fail if assignments/ is stale or leaks a solution")
    release.add_argument("--solved", action="store_true",
                         help="write the folder a student would submit with everything solved")
    release.add_argument("--out", type=Path, help="output folder for --solved")
    release.set_defaults(run=release_command)

    check = commands.add_parser(
        "check", help="grade one submission folder",
        description="Grade one submission folder with every visible and hidden check; "
                    "the student's code runs in a separate, limited process.")
    check.add_argument("assignment", metavar="ASSIGNMENT", choices=list(ASSIGNMENT_MODULES))
    check.add_argument("--submission", type=Path,
                       help="the notebook and minidl/ folder (default: assignments/ASSIGNMENT)")
    check.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where PyTorch computes the references (default: CUDA if present)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    check.set_defaults(run=check_command)

    grade = commands.add_parser(
        "grade", help="grade a whole class",
        description="Grade every student folder under --submissions (DIR/STUDENT/ or "
                    "DIR/STUDENT/ASSIGNMENT/), each in its own sandboxed process, in parallel.")
    grade.add_argument("assignment", metavar="ASSIGNMENT", choices=list(ASSIGNMENT_MODULES))
    grade.add_argument("--submissions", type=Path, help="folder with one sub-folder per student")
    grade.add_argument("--shard", default="0/1", metavar="I/N",
                       help="grade only every N-th student from the I-th (0-based), e.g. one task "
                            "of a Slurm job array or a Kubernetes indexed Job (default: 0/1)")
    grade.add_argument("--results", type=Path,
                       help="write one JSON result per student here (what --merge reads)")
    grade.add_argument("--merge", type=Path, metavar="DIR",
                       help="grade nothing: combine the JSON results of every shard from DIR")
    grade.add_argument("--gradebook", nargs="?", const=DEFAULT_GRADEBOOK, metavar="URL",
                       help="record the scores in nbgrader's gradebook (default URL: "
                            "gradebook.db at the top of the course)")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="submissions graded at once (default: the number of CPUs)")
    grade.add_argument("--csv", type=Path, help="write the scores to this CSV file")
    grade.add_argument("--feedback", type=Path, help="write one HTML page per student here")
    grade.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where PyTorch computes the references (default: CUDA if present)")
    grade.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    grade.set_defaults(run=grade_command)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from autograder.release import ReleaseError

    try:
        return args.run(args)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
