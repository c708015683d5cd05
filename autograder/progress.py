"""A student's progress: per assignment, the score, the parts passed and what to do next.

``autograder status`` grades every assignment folder it finds with the same sandbox as
``autograder check``; ``check.all()`` in a notebook runs one assignment's parts in the
kernel. The next thing to do is the first visible part not yet passed, with its message: a
hidden part's verdict waits for grading, so it never names what to do.
"""
from pathlib import Path

from autograder.layout import ASSIGNMENT_MODULES, ASSIGNMENTS

MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "hidden": "LATER"}


def next_step(assignment, results):
    """The first visible part that did not pass, as "part: message", or "done"."""
    outcomes = {result.name: result for result in results}
    for part in assignment.parts:
        result = outcomes[part.name]
        if part.visible and result.outcome in ("failed", "error"):
            return f"{part.name}: {result.message}"
    return "done"


def summary(results):
    """"score S/M, P/N parts passed", with the parts the grader could not grade."""
    score = sum(result.points for result in results)
    max_score = sum(result.max_points for result in results)
    passed = sum(result.outcome == "passed" for result in results)
    text = f"score {score}/{max_score}, {passed}/{len(results)} parts passed"
    errors = sum(result.grader_error for result in results)
    if errors:
        text += (f" ({errors} not graded: the grader failed, not your code; run it again "
                 "to grade them)")
    return text


def part_table(assignment, results):
    """One line per part: PASS/FAIL, name, points; then the summary and the next step."""
    width = max(len(part.name) for part in assignment.parts)
    lines = [f"{MARKS.get(result.outcome, result.outcome.upper()):<5} "
             f"{result.name:<{width}}  {result.points:>2}/{result.max_points}"
             for result in results]
    lines += ["", f"{assignment.id}: {summary(results)}",
              f"next: {next_step(assignment, results)}"]
    return "\n".join(lines)


def _is_assignment_folder(folder):
    return folder.name in ASSIGNMENT_MODULES and (folder / "minidl").is_dir()


def find_assignment_folders(directory):
    """{assignment: folder} for ``directory`` itself if it is an assignment folder, else for
    each assignment folder in it, in course order."""
    directory = Path(directory)
    if _is_assignment_folder(directory):
        return {directory.name: directory}
    return {assignment_id: directory / assignment_id for assignment_id in ASSIGNMENT_MODULES
            if _is_assignment_folder(directory / assignment_id)}


def default_directory():
    """The current folder where it holds assignment folders (as after ``autograder fetch``),
    else the course's assignments/."""
    return Path.cwd() if find_assignment_folders(Path.cwd()) else ASSIGNMENTS


def status(directory, device="auto", isolation_level=None, limits=None):
    """Grade every assignment folder under ``directory``; return {assignment: Report}."""
    from autograder.grading import check_submission, preflight_sandbox
    from autograder.isolation import become_subreaper, choose
    from autograder.student import Limits

    if not Path(directory).is_dir():
        raise ValueError(f"{directory} does not exist")
    folders = find_assignment_folders(directory)
    if not folders:
        known = ", ".join(ASSIGNMENT_MODULES)
        raise ValueError(f"no assignment folders in {directory} (folders named {known}, "
                         "each with its minidl/)")
    isolation_level = isolation_level or choose("auto")
    limits = limits or Limits()
    become_subreaper()
    preflight_sandbox(isolation_level, limits)
    return {assignment_id: check_submission(assignment_id, folder, device=device,
                                            isolation_level=isolation_level, limits=limits)
            for assignment_id, folder in folders.items()}


def status_table(reports):
    """One line per assignment: its summary, then the next thing to do."""
    from autograder import checks

    width = max(len(assignment_id) for assignment_id in reports)
    lines = []
    for assignment_id, report in reports.items():
        step = next_step(checks.load(assignment_id), report.results)
        lines.append(f"{assignment_id:<{width}}  {summary(report.results)}")
        lines.append(f"{'':<{width}}  next: {step}")
    isolation = ", ".join(sorted({report.isolation for report in reports.values()}))
    lines.append(f"\n(graded against PyTorch, your code isolated by {isolation})")
    return "\n".join(lines)
