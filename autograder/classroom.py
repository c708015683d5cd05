"""Grading a whole class: one folder per student, graded in parallel, results written atomically.

Every submission is graded by ``grading.check_submission``, so its code runs in its own
sandboxed process; a worker pool runs several submissions at once. The CSV and the
feedback pages are written to a temporary file first and then renamed over the old one,
so an interrupted regrade never leaves a half-written or lost result behind.
"""
import csv
import html
import io
import json
import os
import tempfile
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from autograder import checks
from autograder.framework import Result, failed
from autograder.grading import (
    Report,
    check_submission,
    preflight_reference,
    preflight_sandbox,
    show_progress,
)
from autograder.isolation import Isolation, become_subreaper, children, choose, reap_orphans
from autograder.reference import Reference, cache_snapshot, seed_caches
from autograder.student import Limits


def parse_shard(text):
    """``"i/n"`` -> (i, n) with 0 <= i < n: this worker grades every n-th student from the i-th."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/n, for example 0/4, got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return index, count


def find_submissions(submissions_dir, assignment_id, shard=(0, 1)):
    """{student: folder} for each student folder under ``submissions_dir`` in this shard.

    A student's folder may hold the assignment directly (``DIR/STUDENT/minidl``) or in a
    sub-folder named after it, as nbgrader collects them (``DIR/STUDENT/ASSIGNMENT/minidl``).
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise ValueError(f"submissions folder {root} does not exist")
    found = {}
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        nested = student / assignment_id
        found[student.name] = nested if nested.is_dir() else student
    if not found:
        raise ValueError(f"no student folders in {root}")
    index, count = shard
    return {student: folder for number, (student, folder) in enumerate(found.items())
            if number % count == index}


def _start_worker(snapshot):
    """A pool worker starts with the references already computed."""
    seed_caches(snapshot)
    become_subreaper()


def _grade_in_worker(job, student, folder, first_part, progress_file):
    """Grade one student from ``first_part`` on, appending each result to ``progress_file``
    as it is made (one JSON line each, flushed), so a worker that dies loses nothing already
    graded; a line cut short by the death is ignored when read."""
    with open(progress_file, "a", encoding="utf-8") as progress:
        progress.write(json.dumps({"started": first_part}) + "\n")
        progress.flush()

        def tell(index, result):
            progress.write(json.dumps({"index": index, "result": asdict(result)}) + "\n")
            progress.flush()

        report = check_submission(job.assignment_id, folder, device=job.device, seed=job.seed,
                                  limits=job.limits, hidden_paths=job.hidden_paths,
                                  isolation_level=job.isolation_level,
                                  reference_seconds=job.reference_seconds,
                                  first_part=first_part, on_result=tell, batch=job.batch)
    return student, first_part, report.to_dict()


@dataclass(frozen=True)
class ClassJob:
    """What every worker needs to grade any student of the class the same way."""

    assignment_id: str
    device: str
    seed: int
    limits: Limits
    hidden_paths: tuple
    isolation_level: Isolation
    isolation_name: str
    reference_seconds: dict
    batch: str  # in the AUTOGRADER_SANDBOX variable of every sandbox process of the run


KILLED_THE_GRADER = ("your code stopped the grader's own process while this part ran (did it "
                     "kill its parent or other processes?); the part earns nothing")


class ClassGrading:
    """Grades a class in a pool of worker processes and survives any worker dying.

    Each worker records every part's result as it ends. When a worker dies (a submission
    killed it, or killed the other workers), the pool is rebuilt for the students not yet
    started, and each student whose grading was under way is graded again alone, from the
    first part without a result. If a worker grading one student alone dies, that student's
    code did it: the part it was on fails, and grading goes on from the next part.
    """

    def __init__(self, job, submissions, jobs, bar, progress_dir):
        self.job, self.submissions, self.jobs, self.bar = job, submissions, jobs, bar
        self.progress_dir = Path(progress_dir)
        self.parts = checks.load(job.assignment_id).parts
        self.results = {student: {} for student in submissions}
        self.notes = {}
        # Numbered, not named: a student folder's name may be anything.
        self.progress_files = {student: self.progress_dir / f"{number}.jsonl"
                               for number, student in enumerate(submissions)}
        self.device_name = Reference(job.device).device_name

    def _pool(self, workers):
        return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                   initializer=_start_worker, initargs=(cache_snapshot(),))

    def _submit(self, pool, student, first_part):
        return pool.submit(_grade_in_worker, self.job, student, self.submissions[student],
                           first_part, self.progress_files[student])

    def _finished(self, future):
        student, first_part, data = future.result()
        report = Report.from_dict(data)
        for offset, result in enumerate(report.results):
            self.results[student][first_part + offset] = result
        self.notes[student] = report.notes

    def _read_progress(self, student):
        """Whether the student's grading started; take in the results recorded so far."""
        path = self.progress_files[student]
        if not path.exists():
            return False
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # cut short when its worker died
            if "index" in entry:
                self.results[student][entry["index"]] = Result(**entry["result"])
        return True

    def _next_part(self, student):
        done = self.results[student]
        return next((index for index in range(len(self.parts)) if index not in done),
                    len(self.parts))

    def run(self):
        waiting, under_way = list(self.submissions), []
        while waiting:
            with self._pool(self.jobs) as pool:
                futures = [self._submit(pool, student, 0) for student in waiting]
                try:
                    for future in as_completed(futures):
                        self._finished(future)
                        self.bar.update(1)
                except BrokenProcessPool:
                    pass
            unfinished = [student for student in waiting if student not in self.notes]
            started = [student for student in unfinished if self._read_progress(student)]
            under_way += started
            waiting = [student for student in unfinished if student not in started]
        for student in under_way:
            self._grade_alone(student)
            self.bar.update(1)
        return {student: self._report(student) for student in self.submissions}

    def _grade_alone(self, student):
        part = self._next_part(student)
        while part < len(self.parts):
            with self._pool(1) as pool:
                future = self._submit(pool, student, part)
                try:
                    self._finished(future)
                except BrokenProcessPool:
                    self._read_progress(student)
            part = self._next_part(student)
            if part < len(self.parts):
                self.results[student][part] = failed(self.parts[part], KILLED_THE_GRADER)

    def _report(self, student):
        results = [self.results[student][index] for index in range(len(self.parts))]
        return Report(self.job.assignment_id, self.device_name, results,
                      self.job.isolation_name, self.notes.get(student, []))


def grade_class(assignment_id, submissions_dir, jobs=1, device="auto", seed=0, limits=None,
                shard=(0, 1), progress=True, isolation_level=None, students=None, batch=None):
    """Grade every student folder (or only ``students``); return {student: Report} in
    student order. ``batch`` names the run's sandbox processes (a fresh name by default).

    First the preflight: one sandbox runs a known-good probe, and the reference solution is
    graded through the same path (GraderError if it does not earn full marks); this also
    computes the PyTorch references once, which every worker then starts with. At the bwrap
    level no student's process sees the submissions folder, so no other student's work.
    """
    submissions = find_submissions(submissions_dir, assignment_id, shard)
    if students is not None:
        submissions = {student: submissions[student] for student in students}
    limits, isolation_level, isolation_name, children_before = _prepare(limits,
                                                                        isolation_level)
    reference_seconds = preflight_reference(assignment_id, device, seed, limits,
                                            isolation_level)
    job = ClassJob(assignment_id, device, seed, limits, (Path(submissions_dir).resolve(),),
                   isolation_level, isolation_name, reference_seconds,
                   batch or uuid.uuid4().hex)
    return _grade_in_pool(job, submissions, jobs, progress, children_before)


def check_one(assignment_id, folder, device="auto", seed=0, limits=None, isolation_level=None,
              progress=False):
    """Grade one submission as ``autograder check`` does. Below the bwrap level the student's
    code can signal this process, so it is graded from a worker process: code that kills its
    parent or the grader's processes costs its part and no more. At the bwrap level it sees
    no other process, and is graded from here (a worker would only cost start-up time)."""
    limits, isolation_level, isolation_name, children_before = _prepare(limits,
                                                                        isolation_level)
    if isolation_level.level == "bwrap":
        return check_submission(assignment_id, folder, device=device, seed=seed, limits=limits,
                                progress=progress, isolation_level=isolation_level)
    job = ClassJob(assignment_id, device, seed, limits, (), isolation_level, isolation_name,
                   None, uuid.uuid4().hex)
    return _grade_in_pool(job, {"submission": Path(folder)}, 1, progress,
                          children_before)["submission"]


def _prepare(limits, isolation_level):
    """Before grading anything: the defaults, this process made the adopter of orphaned
    sandbox processes (with the children it has now, which are not theirs), and the
    preflight of the sandbox at the chosen level, which names it."""
    limits = limits or Limits()
    isolation_level = isolation_level or choose("auto")
    become_subreaper()
    children_before = set(children(os.getpid()))
    return limits, isolation_level, preflight_sandbox(isolation_level, limits), children_before


def _grade_in_pool(job, submissions, jobs, progress, children_before):
    with tqdm(total=len(submissions), desc=job.assignment_id, unit="student",
              disable=not show_progress(progress)) as bar, \
            tempfile.TemporaryDirectory(prefix="autograder-progress-") as progress_dir:
        reports = ClassGrading(job, submissions, jobs, bar, progress_dir).run()
    # Whatever a killed worker's sandbox left behind was adopted by this process.
    reap_orphans(keep=children_before | _resource_tracker())
    return reports


def _resource_tracker():
    """multiprocessing's own helper process, which must outlive the batch."""
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return {pid} if pid else set()


def _write_atomically(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", newline="") as file:
        file.write(text)
    # mkstemp makes the file private; give it the permissions any new file would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)


def students_to_regrade(reports):
    """The students with a part the grader could not grade."""
    return [student for student, report in reports.items() if report.errors]


def write_csv(path, reports):
    """One row per student: each part's points ("error" where the grader failed), the
    total, and whether the row is final; a row with a grader error has no total, so that it
    is never imported as a grade."""
    part_names = [result.name for result in next(iter(reports.values())).results]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", *part_names, "total", "max_score", "status"])
    for student, report in reports.items():
        points = {result.name: "error" if result.grader_error else result.points
                  for result in report.results}
        final = not report.errors
        writer.writerow([student, *(points[name] for name in part_names),
                         report.score if final else "", report.max_score,
                         "graded" if final else "grader error: regrade with --only-errors"])
    _write_atomically(path, buffer.getvalue())


def points_chart_svg(report):
    """An inline SVG bar chart of the points earned per graded function."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    earned, available = {}, {}
    for result in report.results:
        function = result.name.rsplit(".", 1)[0]
        earned[function] = earned.get(function, 0) + result.points
        available[function] = available.get(function, 0) + result.max_points
    names = list(available)[::-1]
    figure = Figure(figsize=(6, 0.35 * len(names) + 0.8))
    ax = figure.subplots()
    ax.barh(names, [available[n] for n in names], color="#eeeeee", label="available")
    ax.barh(names, [earned[n] for n in names], color="#3a7d44", label="earned")
    ax.set_xlabel("points")
    ax.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def feedback_html(student, report):
    """A self-contained HTML page with the student's score table and feedback."""
    rows = []
    classes = {"passed": "pass", "failed": "fail", "error": "error"}
    for result in report.results:
        points = ("not graded" if result.grader_error
                  else f"{result.points}/{result.max_points}")
        rows.append(
            f'<tr class="{classes[result.outcome]}"><td>{html.escape(result.name)}</td>'
            f"<td>{points}</td>"
            f"<td>{html.escape(result.message) or 'correct'}</td></tr>"
        )
    pending = ("" if not report.errors else
               f"<p class=\"error\">{len(report.errors)} part(s) could not be graded because "
               "the grader failed, not your code. They are not counted as zero and will be "
               "graded again.</p>")
    title = f"{html.escape(report.assignment)}: feedback for {html.escape(student)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.4em; text-align: left; vertical-align: top; }}
tr.fail td:nth-child(2) {{ color: #b00; font-weight: bold; }}
tr.pass td:nth-child(2) {{ color: #070; }}
tr.error td, p.error {{ color: #8a5a00; }}
</style></head><body>
<h1>{title}</h1>
<p>Score: <strong>{report.score}/{report.max_score}</strong>
(checked against PyTorch on {html.escape(report.device)};
your code isolated by {html.escape(report.isolation)})</p>
{pending}
{points_chart_svg(report)}
<table><tr><th>check</th><th>points</th><th>feedback</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def write_feedback(directory, reports):
    for student, report in reports.items():
        _write_atomically(Path(directory) / f"{student}.html", feedback_html(student, report))


def write_results(directory, reports):
    """One JSON file per student: what a shard hands over to the merge step."""
    for student, report in reports.items():
        _write_atomically(Path(directory) / f"{student}.json", report.to_json() + "\n")


def read_results(directory, assignment_id):
    """{student: Report} from the JSON files of ``write_results`` (every shard's)."""
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        raise ValueError(f"no results (*.json) in {directory}")
    reports = {}
    for path in paths:
        report = Report.from_dict(json.loads(path.read_text()))
        if report.assignment != assignment_id:
            raise ValueError(f"{path} holds results of {report.assignment}, not {assignment_id}")
        reports[path.stem] = report
    return reports


def write_gradebook(db_url, assignment_id, reports, submissions_dir):
    """Autograde each student's notebook into nbgrader's gradebook with these results.

    The submissions' own folders (under ``submissions_dir``) give the notebooks; the
    autograded notebooks are written to ``autograded/`` beside ``submissions_dir``, which is
    where the formgrader finds them when that folder is nbgrader's ``COURSE/submitted``.
    The assignment is registered from its committed release if the gradebook lacks it.
    Manual grades of written answers are kept; a part with a grader error gets no score and
    is flagged, until it is regraded. See ``autograder.gradebook``.
    """
    from autograder.gradebook import autograde

    if submissions_dir is None:
        raise ValueError("--gradebook needs --submissions DIR: the notebooks it autogrades")
    folders = find_submissions(submissions_dir, assignment_id)
    missing = sorted(set(reports) - set(folders))
    if missing:
        raise ValueError(f"no folder under {submissions_dir} for {', '.join(missing)}")
    autograde(db_url, assignment_id, reports, folders, Path(submissions_dir).resolve().parent)
