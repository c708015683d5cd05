"""Which submissions of a class share code: pairs of students ranked by similarity.

Each student's files of the assignment's own ``minidl`` modules are fingerprinted with
copydetect: the code is tokenized, every name becomes ``V`` (``F`` for a function being
defined, ``O`` for a class) and every string ``S``, comments and spaces are dropped, and every
run of ``NOISE_THRESHOLD`` such characters is hashed. Renaming variables or rewording comments
therefore leaves a copy's fingerprints unchanged.

The released starter code (docstrings, signatures, helper code) is in every submission, so it
is left out twice over: the lines a student kept from it are blanked before fingerprinting,
so that no run of characters spans both the starter and the student's own code, and copydetect
drops every fingerprint that still occurs in the starter (starter code a student moved or
re-wrapped). What is left, and compared, is only what the students wrote.

The students' files are only read, never imported or run.
"""
import difflib
import html
import io
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from tqdm.auto import tqdm

from autograder.classroom import _write_atomically, find_submissions
from autograder.layout import ASSIGNMENTS, minidl_modules

# copydetect's default: the shortest match, in normalized characters, that counts as shared.
NOISE_THRESHOLD = 25
# A file larger than this is no hand-written module; it is left out rather than read.
MAX_FILE_BYTES = 1_000_000


@dataclass
class Submission:
    """One student's fingerprinted modules, and why any of them could not be compared."""
    student: str
    code: dict        # module -> its text ("" when missing)
    own_code: dict    # module -> the same with the lines kept from the starter blanked
    fingerprints: dict  # module -> CodeFingerprint, the starter's fingerprints removed
    problems: list


@dataclass
class Pair:
    """Two students and how much of each one's own code (beyond the starter) the other has."""
    students: tuple
    similarity: tuple   # (share of the first's code found in the second's, and the converse)
    slices: dict        # module -> (first's, second's) 2xK arrays of matching character ranges

    @property
    def score(self):
        return max(self.similarity)


def fingerprint(text, module, boilerplate=()):
    """copydetect's fingerprint of ``text``, one hash per position, ``boilerplate`` removed."""
    return CodeFingerprint(module, NOISE_THRESHOLD, 1, boilerplate=np.asarray(boilerplate),
                           language="python", fp=io.StringIO(text))


@dataclass
class Starter:
    """A module of the released starter code: its lines (stripped) and its fingerprints."""
    lines: list
    hashes: np.ndarray

    def own_code(self, text):
        """``text`` with every line kept from the starter blanked, so that only the student's
        own code is fingerprinted; every character keeps its position."""
        lines = text.splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, [line.strip() for line in lines], self.lines,
                                          autojunk=False)
        for block in matcher.get_matching_blocks():
            for number in range(block.a, block.a + block.size):
                content = lines[number].splitlines()[0]
                lines[number] = " " * len(content) + lines[number][len(content):]
        return "".join(lines)


def read_starter(assignment_id):
    """{module: Starter} for the assignment's own modules, as released."""
    released = ASSIGNMENTS / assignment_id / "minidl"
    starter = {}
    for module in minidl_modules(assignment_id)[1]:
        path = released / module
        if not path.is_file():
            raise ValueError(f"the starter code {path} is missing: run "
                             f"`autograder release {assignment_id}` first")
        text = path.read_text(encoding="utf-8")
        starter[module] = Starter([line.strip() for line in text.splitlines()], np.unique(
            np.array(list(fingerprint(text, module).hashes), dtype=np.int64)))
    return starter


def read_module(folder, module):
    """(text, problem): a student's module as text, or "" and why it could not be read."""
    path = Path(folder) / "minidl" / module
    if path.is_symlink():
        return "", f"minidl/{module} is a symbolic link: not followed"
    if not path.is_file():
        return "", f"no minidl/{module}"
    if path.stat().st_size > MAX_FILE_BYTES:
        return "", f"minidl/{module} is larger than {MAX_FILE_BYTES} bytes: not compared"
    return path.read_text(encoding="utf-8", errors="replace"), None


def read_submission(student, folder, starter):
    code, own_code, fingerprints, problems = {}, {}, {}, []
    for module, released in starter.items():
        text, problem = read_module(folder, module)
        if problem:
            problems.append(problem)
        code[module], own_code[module] = text, released.own_code(text)
        fingerprints[module] = fingerprint(own_code[module], module, released.hashes)
    return Submission(student, code, own_code, fingerprints, problems)


def compare(first, second):
    """The Pair of two Submissions, over all of the assignment's modules together."""
    overlap, coverage, slices = np.zeros(2), np.zeros(2), {}
    for module, mine in first.fingerprints.items():
        theirs = second.fingerprints[module]
        _, shares, (my_slices, their_slices) = compare_files(mine, theirs)
        sizes = np.array([mine.token_coverage, theirs.token_coverage])
        overlap += np.asarray(shares) * sizes
        coverage += sizes
        if len(my_slices):
            slices[module] = (my_slices, their_slices)
    similarity = np.divide(overlap, coverage, out=np.zeros(2), where=coverage > 0)
    return Pair((first.student, second.student), tuple(float(s) for s in similarity), slices)


def compare_class(assignment_id, submissions_dir):
    """(pairs ranked by score, highest first; {student: Submission}) for a whole class."""
    starter = read_starter(assignment_id)
    folders = find_submissions(submissions_dir, assignment_id)
    if len(folders) < 2:
        raise ValueError(f"{submissions_dir} holds {len(folders)} student folder(s): "
                         "a comparison needs at least two")
    submissions = {student: read_submission(student, folder, starter)
                   for student, folder in folders.items()}
    pairs = [compare(submissions[a], submissions[b]) for a, b in tqdm(
        list(combinations(submissions, 2)), desc="similarity", unit="pair",
        disable=not sys.stderr.isatty())]
    pairs.sort(key=lambda pair: (-pair.score, -min(pair.similarity), pair.students))
    return pairs, submissions


def highlight(text, own_code, slices):
    """``text`` escaped for HTML, with the student's own code in each character range of
    ``slices`` (2xK) marked; lines kept from the starter (blank in ``own_code``) never are."""
    marked = np.zeros(len(text), dtype=bool)
    for start, end in zip(*slices, strict=True):
        marked[int(start):int(end)] = True
    marked &= [not (line.strip() and not own.strip())
               for line, own in zip(text.splitlines(keepends=True),
                                    own_code.splitlines(keepends=True), strict=True)
               for _ in line]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], marked, [False]))))
    pieces, position = [], 0
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if not text[start:end].strip():
            continue
        pieces += [html.escape(text[position:start]),
                   f"<mark>{html.escape(text[start:end])}</mark>"]
        position = end
    pieces.append(html.escape(text[position:]))
    return "".join(pieces)


def percent(share):
    return f"{100 * share:.0f}%"


def pair_section(rank, pair, submissions):
    """One pair's scores and, for each module they share code in, both files side by side."""
    first, second = (html.escape(student) for student in pair.students)
    modules = []
    for module, both_slices in pair.slices.items():
        sides = []
        for student, slices in zip(pair.students, both_slices, strict=True):
            submission = submissions[student]
            code = highlight(submission.code[module], submission.own_code[module], slices)
            sides.append(f"<div><h4>{html.escape(student)}: minidl/{html.escape(module)}</h4>"
                         f"<pre>{code}</pre></div>")
        modules.append(f'<div class="sides">{"".join(sides)}</div>')
    return (f'<section id="pair-{rank}"><h3>{rank}. {first} and {second}: '
            f'{percent(pair.score)}</h3>'
            f"<p>{percent(pair.similarity[0])} of {first}'s own code is also in {second}'s; "
            f"{percent(pair.similarity[1])} of {second}'s is also in {first}'s. "
            f"Matching code is highlighted.</p>{''.join(modules)}</section>")


def report_html(assignment_id, pairs, submissions, top):
    """A self-contained HTML page: the ``top`` pairs ranked, with their matching code."""
    shown = [pair for pair in pairs[:top] if pair.slices]
    rows = "".join(
        f'<tr><td><a href="#pair-{rank}">{rank}</a></td>'
        f"<td>{html.escape(pair.students[0])}</td><td>{html.escape(pair.students[1])}</td>"
        f"<td>{percent(pair.score)}</td><td>{percent(pair.similarity[0])}</td>"
        f"<td>{percent(pair.similarity[1])}</td></tr>"
        for rank, pair in enumerate(shown, 1))
    problems = "".join(
        f"<li>{html.escape(submission.student)}: {html.escape('; '.join(submission.problems))}"
        "</li>" for submission in submissions.values() if submission.problems)
    problems = f"<h2>Files not compared</h2><ul>{problems}</ul>" if problems else ""
    modules = ", ".join(f"minidl/{module}" for module in next(iter(submissions.values())).code)
    sections = "".join(pair_section(rank, pair, submissions)
                       for rank, pair in enumerate(shown, 1))
    title = f"{html.escape(assignment_id)}: similar submissions"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }}
.sides {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
pre {{ background: #f6f6f6; padding: 0.5em; max-height: 40em; overflow: auto;
       font-size: 0.8em; }}
mark {{ background: #ffd27f; }}
</style></head><body>
<h1>{title}</h1>
<p>{len(submissions)} students, {len(pairs)} pairs compared on {html.escape(modules)}, with
the released starter code left out. A pair's score is the larger of the two shares: the part
of one student's own code that is also in the other's, names, strings and comments aside.
A high score is a reason to read the code, not a verdict. Pairs with no shared code are not
listed.</p>
{problems}
<h2>Pairs, most similar first</h2>
<table><tr><th>rank</th><th>student</th><th>student</th><th>score</th>
<th>first in second</th><th>second in first</th></tr>{rows}</table>
{sections}
</body></html>
"""


def write_report(assignment_id, submissions_dir, out, top=50):
    """Compare a class and write the report to ``out`` atomically; return the ranked pairs."""
    pairs, submissions = compare_class(assignment_id, submissions_dir)
    _write_atomically(out, report_html(assignment_id, pairs, submissions, top))
    return pairs
