"""The ``autograder`` command: release assignments and grade submissions."""
import argparse
import os
import sys
from pathlib import Path

from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS, REPO, STUDENT_EDITION

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
    for assignment_id in tqdm(assignment_ids, desc="release", unit="assignment",
                              disable=not sys.stderr.isatty()):
        if args.check:
            problems += release.check_release(assignment_id)
        else:
            release.release(assignment_id)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if args.check and not problems:
        print(f"up to date and free of solution code: {', '.join(assignment_ids)}")
    return 1 if problems else 0


def choose_isolation(args):
    """The isolation level, with a warning on stderr when it is below bwrap."""
    from autograder.isolation import choose

    chosen = choose(args.isolation)
    for warning in chosen.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return chosen


def check_command(args):
    from autograder.classroom import check_one
    from autograder.student import Limits

    submission = Path(args.submission or ASSIGNMENTS / args.assignment)
    if not submission.is_dir():
        raise ValueError(f"submission folder {submission} does not exist")
    report = check_one(args.assignment, submission, device=args.device, seed=args.seed,
                       limits=Limits(budget_seconds=args.budget),
                       isolation_level=choose_isolation(args), progress=not args.json)
    print(report.to_json() if args.json else report.to_table())
    if report.errors:
        return 2
    return 0 if report.all_passed else 1


def grade_command(args):
    from autograder import classroom, export
    from autograder.student import Limits

    if args.merge:
        reports = classroom.read_results(args.merge, args.assignment)
    elif args.submissions:
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
        previous, students = {}, None
        if args.only_errors:
            if not args.results:
                raise ValueError("--only-errors regrades the students whose results in "
                                 "--results DIR have a grader error: give --results DIR")
            previous = classroom.read_results(args.results, args.assignment)
            students = classroom.students_to_regrade(previous)
            if not students:
                print(f"no grader errors in {args.results}: nothing to regrade")
        regraded = {} if students == [] else classroom.grade_class(
            args.assignment, args.submissions, jobs=args.jobs, device=args.device,
            seed=args.seed, shard=classroom.parse_shard(args.shard),
            isolation_level=choose_isolation(args), students=students,
            limits=Limits(budget_seconds=args.budget))
        reports = {**previous, **regraded}
    else:
        raise ValueError("give --submissions DIR to grade, or --merge DIR to combine results")
    if args.results:
        classroom.write_results(args.results, reports)
    if args.csv:
        classroom.write_csv(args.csv, reports)
    if args.totals:
        export.write_totals(args.totals, reports)
    if args.canvas:
        export.write_canvas(args.canvas, reports, args.canvas_column or args.assignment)
    if args.feedback:
        classroom.write_feedback(args.feedback, reports)
    if args.gradebook:
        classroom.write_gradebook(args.gradebook, args.assignment, reports, args.submissions)
    width = max((len(student) for student in reports), default=0)
    for student, report in reports.items():
        flag = f"  grader error in {len(report.errors)} part(s)" if report.errors else ""
        print(f"{student:<{width}}  {report.score:>3}/{report.max_score}{flag}")
    regrade = classroom.students_to_regrade(reports)
    if regrade:
        print(f"error: the grader failed on some parts of {len(regrade)} submission(s), which "
              f"are not graded yet: {', '.join(regrade)}. Fix the cause named in their "
              "messages, then run the same command with --only-errors (and --results DIR) "
              "to regrade just them.", file=sys.stderr)
        return 2
    return 0


def edition_command(args):
    from autograder.edition import write_edition

    assignment_ids = args.assignments or list(ASSIGNMENT_MODULES)
    out = write_edition(assignment_ids, args.out)
    print(f"wrote the student edition with {', '.join(assignment_ids)} to {out}")
    return 0


def fetch_command(args):
    from autograder.layout import fetch

    folder = fetch(args.assignment, args.to)
    print(f"copied {args.assignment} to {folder}: open {args.assignment}.ipynb there")
    return 0


def similarity_command(args):
    from autograder import similarity

    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    pairs = similarity.write_report(args.assignment, args.submissions, args.out, top=args.top)
    for pair in pairs[:min(args.top, 10)]:
        print(f"{pair.score:>4.0%}  {pair.students[0]}  {pair.students[1]}")
    print(f"compared {len(pairs)} pairs; wrote the report to {args.out}")
    return 0


def status_command(args):
    from autograder import progress
    from autograder.student import Limits

    directory = args.directory or progress.default_directory()
    reports = progress.status(directory, device=args.device,
                              isolation_level=choose_isolation(args),
                              limits=Limits(budget_seconds=args.budget))
    print(progress.status_table(reports))
    return 2 if any(report.errors for report in reports.values()) else 0


def gradescope_command(args):
    from autograder import gradescope

    out = gradescope.build_bundle(args.assignment, args.out, budget=args.budget)
    print(f"wrote the Gradescope autograder of {args.assignment} to {out}: upload it as the "
          "assignment's autograder (zip file)")
    return 0


def add_isolation_options(command):
    command.add_argument("--isolation", choices=("auto", "bwrap", "rlimits", "process"),
                         default="auto",
                         help="how the student's code is isolated: bwrap (Linux namespaces), "
                              "rlimits (resource limits), process (time limits only); auto "
                              "takes the strongest that works here")
    command.add_argument("--budget", type=float, default=900.0, metavar="SECONDS",
                         help="wall time one submission may take in all; the parts left when "
                              "it runs out fail (default: 900)")


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
    add_isolation_options(check)
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
                            "gradebook.db at the top of the course) and write the autograded "
                            "notebooks for the formgrader to autograded/ beside --submissions "
                            "(which --merge then needs too)")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="submissions graded at once (default: the number of CPUs)")
    grade.add_argument("--csv", type=Path, help="write the scores to this CSV file")
    grade.add_argument("--totals", type=Path, metavar="FILE",
                       help="write one row per student (score, max_score, status) to this CSV")
    grade.add_argument("--canvas", type=Path, metavar="FILE",
                       help="write the scores as a Canvas gradebook import (CSV)")
    grade.add_argument("--canvas-column", metavar="NAME",
                       help="the Canvas assignment column: 'NAME (ID)' as in a Canvas export "
                            "updates that assignment (default: ASSIGNMENT, which Canvas adds "
                            "as a new assignment)")
    grade.add_argument("--feedback", type=Path, help="write one HTML page per student here")
    grade.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where PyTorch computes the references (default: CUDA if present)")
    grade.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    grade.add_argument("--only-errors", action="store_true",
                       help="regrade only the students whose results in --results DIR have a "
                            "grader error; every other result is kept as it is")
    add_isolation_options(grade)
    grade.set_defaults(run=grade_command)

    similarity = commands.add_parser(
        "similarity", help="rank pairs of submissions by code similarity",
        description="Compare the minidl modules of every pair of student folders under "
                    "--submissions (DIR/STUDENT/ or DIR/STUDENT/ASSIGNMENT/) with copydetect, "
                    "the released starter code left out, and write an HTML report of the "
                    "pairs ranked, with the matching code side by side. The students' code "
                    "is only read, never run.")
    similarity.add_argument("assignment", metavar="ASSIGNMENT", choices=list(ASSIGNMENT_MODULES))
    similarity.add_argument("--submissions", type=Path, required=True, metavar="DIR",
                            help="folder with one sub-folder per student")
    similarity.add_argument("--out", type=Path, required=True, metavar="FILE.html",
                            help="the HTML report to write")
    similarity.add_argument("--top", type=int, default=50, metavar="N",
                            help="how many of the most similar pairs the report shows "
                                 "(default: 50)")
    similarity.set_defaults(run=similarity_command)

    gradescope = commands.add_parser(
        "gradescope", help="build a Gradescope autograder bundle",
        description="Write a Gradescope autograder (zip) for ASSIGNMENT: setup.sh installs "
                    "what grading needs, and run_autograder grades each upload with the same "
                    "checks and isolation as `autograder check`, writing results.json with "
                    "one test per check part (hidden parts shown once grades are published).")
    gradescope.add_argument("assignment", metavar="ASSIGNMENT", choices=list(ASSIGNMENT_MODULES))
    gradescope.add_argument("--out", type=Path, required=True, metavar="FILE.zip",
                            help="the bundle to write")
    gradescope.add_argument("--budget", type=float, default=480.0, metavar="SECONDS",
                            help="wall time one upload may take, below Gradescope's own "
                                 "limit (default: 480)")
    gradescope.set_defaults(run=gradescope_command)

    status = commands.add_parser(
        "status", help="your progress over every assignment folder",
        description="Grade every assignment folder found in DIR (or DIR itself, if it is one) "
                    "with every visible and hidden check, the code isolated as by `autograder "
                    "check`, and show for each its score, the parts passed and the next thing "
                    "to do: the first visible part not passed, with its message, or done.")
    status.add_argument("directory", nargs="?", type=Path, metavar="DIR",
                        help="where the assignment folders are (default: here, if it holds "
                             "any, else the course's assignments/)")
    status.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where PyTorch computes the references (default: CUDA if present)")
    add_isolation_options(status)
    status.set_defaults(run=status_command)

    edition = commands.add_parser(
        "edition", help="write the student edition of the course",
        description="Write the repository to give students: the lectures, course/, the "
                    "releases of the assignments named and the autograder, without solutions/, "
                    "solution regions or the code of hidden checks (which are listed by name "
                    "and points and graded after submission). Give only the assignments "
                    "released so far: a later release ships the earlier ones' solutions.")
    edition.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="assignments to include (default: all)")
    edition.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="the folder to write (must not exist or be empty)")
    edition.set_defaults(run=edition_command)

    fetch = commands.add_parser(
        "fetch", help="copy an assignment folder out of the installed course",
        description="Copy the released folder of ASSIGNMENT (its notebook and minidl/) out of "
                    "the installed course into the current directory, or into DIR; an "
                    "existing folder is never overwritten. For a pip-installed course, as on "
                    "Colab or JupyterHub.")
    fetch.add_argument("assignment", metavar="ASSIGNMENT", choices=list(ASSIGNMENT_MODULES))
    fetch.add_argument("--to", type=Path, metavar="DIR",
                       help="where to put the assignment folder (default: here)")
    fetch.set_defaults(run=fetch_command)
    return parser


# Commands that need the solutions or the hidden checks, which a student edition leaves out.
FULL_COURSE_COMMANDS = ("release", "grade", "similarity", "gradescope", "edition")


def main(argv=None):
    args = build_parser().parse_args(argv)
    from autograder.errors import GraderError, ReleaseError

    if STUDENT_EDITION and args.command in FULL_COURSE_COMMANDS:
        print(f"error: `autograder {args.command}` is for the full course repository, which "
              "holds the solutions and hidden checks; this is the student edition: use "
              "`autograder check` and `autograder fetch`", file=sys.stderr)
        return 2

    try:
        return args.run(args)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except GraderError as error:
        print(f"grader error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
