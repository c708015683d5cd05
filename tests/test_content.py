"""What the course's text says: one gradient-check convention everywhere, in the words a reader
sees (the markdown) and in the code the notebooks run."""
import re

import nbformat
import pytest

from autograder.layout import REPO

# Every notebook that teaches or uses the numerical gradient check.
GRADIENT_CHECK_NOTEBOOKS = [
    "lectures/03_backpropagation.ipynb",
    "solutions/a1_linear/a1_linear.ipynb",
    "solutions/a2_backprop/a2_backprop.ipynb",
    "assignments/a1_linear/a1_linear.ipynb",
    "assignments/a2_backprop/a2_backprop.ipynb",
]
CONVENTION_START = "**The gradient-check convention**"
# The floor of rel_error's denominator in the library contract (COURSE_SPEC section 4).
SPEC_FLOOR = 12
POWER = r"\$?\s*(?:\d(?:\.\d+)?\s*\\times\s*)?10\^\{-(\d+)\}"
# "above 1e-4", "more than 1e-4", "1e-4 or more": a threshold, in a sentence about bugs.
THRESHOLD = re.compile(r"(?:above|over|exceeds?|beyond|more than)\s+(?:about\s+|the\s+|roughly\s+)?"
                       + POWER + r"|10\^\{-(\d+)\}\$?\s+or\s+(?:more|above|larger)")
# In a sentence about float32's best step, the powers of ten that may appear: the machine
# epsilon (1e-7), the best step (about 5e-3) and the best error (about 1e-5).
FLOAT32_ALLOWED = {"7", "3", "5"}


def notebook_text(relative):
    notebook = nbformat.read(REPO / relative, as_version=4)
    markdown = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    return markdown, code


def sentences(markdown):
    return re.split(r"(?<=[.!?])\s+(?=[A-Z*(>$])|\n\s*\n", markdown)


def convention(markdown):
    """The paragraph that states the convention: its bold title, its display formula and the
    text after the formula up to the next blank line."""
    start = markdown.find(CONVENTION_START)
    if start < 0:
        return None
    paragraph = markdown[start:]
    closing = paragraph.find("$$", paragraph.find("$$") + 2)
    end = paragraph.find("\n\n", closing + len("$$\n\n"))
    return paragraph if end < 0 else paragraph[:end]


def thresholds(text):
    """Bug thresholds stated in the sentences of `text` that speak of a bug or a wrong
    gradient."""
    found = []
    for sentence in sentences(text):
        if re.search(r"\bbug|\bwrong", sentence):
            found += [a or b for a, b in THRESHOLD.findall(sentence)]
    return found


def floors(markdown, code):
    """Floors of relative-error denominators: \\max(...10^{-k}...) in the prose, and
    np.maximum(..., 1e-k) next to an abs() in the code."""
    found = []
    for line in markdown.splitlines():
        if "\\max(" in line:
            found += re.findall(r"10\^\{-(\d+)\}", line)
    for line in code.splitlines():
        if "maximum(" in line and "abs(" in line:
            found += re.findall(r"\b1e-(\d+)\b", line)
    return found


@pytest.mark.parametrize("relative", GRADIENT_CHECK_NOTEBOOKS)
def test_notebook_states_the_convention_in_the_same_words(relative):
    reference, _ = notebook_text(GRADIENT_CHECK_NOTEBOOKS[0])
    markdown, _ = notebook_text(relative)
    stated = convention(markdown)
    assert stated is not None, f"{relative} does not state {CONVENTION_START}"
    assert stated == convention(reference), (
        f"{relative} words the gradient-check convention differently from the lecture")
    assert thresholds(stated) == ["4"] and floors(stated, "") == [str(SPEC_FLOOR)]


@pytest.mark.parametrize("relative", GRADIENT_CHECK_NOTEBOOKS)
def test_no_sentence_states_another_bug_threshold(relative):
    markdown, _ = notebook_text(relative)
    stated = set(thresholds(markdown))
    assert stated == {"4"}, f"{relative} gives bug thresholds 1e-{sorted(stated)}"


@pytest.mark.parametrize("relative", GRADIENT_CHECK_NOTEBOOKS)
def test_every_denominator_floor_is_the_specs(relative):
    markdown, code = notebook_text(relative)
    found = floors(markdown, code)
    assert found, f"{relative} states no floor for the relative error"
    assert set(found) == {str(SPEC_FLOOR)}, f"{relative} uses floors 1e-{sorted(set(found))}"


@pytest.mark.parametrize("relative", GRADIENT_CHECK_NOTEBOOKS)
def test_float32_best_error_is_given_once_the_same_way(relative):
    markdown, _ = notebook_text(relative)
    for sentence in sentences(markdown):
        if "float32" in sentence and "best" in sentence:
            powers = set(re.findall(r"10\^\{-(\d+)\}", sentence))
            assert powers <= FLOAT32_ALLOWED, (
                f"{relative}: a sentence on float32's best step gives 1e-{sorted(powers)}: "
                f"{sentence!r}")


def test_the_rules_catch_the_statements_they_are_meant_to():
    # Statements of other conventions, as a notebook might word them.
    assert thresholds(r"A relative error of $10^{-2}$ or more means the gradient is wrong.") \
        == ["2"]
    assert thresholds(r"An error above about $10^{-3}$ signals a bug.") == ["3"]
    assert floors(r"$\max(|a_k| + |n_k|, 10^{-8})$", "") == ["8"]
    assert floors("", "scale = np.maximum(np.abs(a) + np.abs(b), 1e-8)") == ["8"]
    assert thresholds("Normalizing with 1e-5 is fine.") == []


# The gradients students derive in a1 and a2: each printed formula sits inside a collapsed hint.
DERIVED_FORMULAS = {
    "a1_linear": [r"p_{ik} - \mathbb{1}[k = y_i]", r"\mathbb{1}[s_{ij} - s_{i,y_i} + \Delta > 0]"],
    "a2_backprop": [r"dx = G\,W^\top", r"\sigma(x)\,(1 - \sigma(x))", r"1 - \tanh^2(x)"],
}


# The cells where students enter numbers from their own derivation on a tiny example.
NUMBERS_BY_HAND = {"softmax-gradient-by-hand", "hinge-gradient-by-hand",
                   "linear-backward-by-hand", "activations-backward-by-hand"}


def assignment_cells(assignment_id):
    path = REPO / "solutions" / assignment_id / f"{assignment_id}.ipynb"
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("assignment_id", sorted(DERIVED_FORMULAS))
def test_derivations_sit_behind_collapsed_hints(assignment_id):
    cells = assignment_cells(assignment_id)
    for formula in DERIVED_FORMULAS[assignment_id]:
        holders = [cell.source for cell in cells
                   if cell.cell_type == "markdown" and formula in cell.source]
        assert holders, f"{assignment_id}: the hint with {formula!r} is missing"
        for source in holders:
            hint = source.find("<details><summary>Hint")
            assert 0 <= hint < source.find(formula) < source.find("</details>"), (
                f"{assignment_id}: {formula!r} is printed outside a collapsed hint")


@pytest.mark.parametrize("assignment_id", sorted(DERIVED_FORMULAS))
def test_each_hint_comes_after_the_students_numbers_and_their_self_check(assignment_id):
    cells = assignment_cells(assignment_id)
    by_hand = [index for index, cell in enumerate(cells)
               if cell.metadata.get("nbgrader", {}).get("grade_id") in NUMBERS_BY_HAND]
    assert len(by_hand) == 2, f"{assignment_id}: a derivation's numbers cell is missing"
    for index in by_hand:
        assert cells[index].metadata["nbgrader"]["solution"], "the numbers are the student's"
        following = cells[index + 1:index + 5]
        checks = [i for i, cell in enumerate(following)
                  if cell.cell_type == "code" and "compare_with_autograd(" in cell.source
                  and "def compare_with_autograd" not in cell.source]
        hints = [i for i, cell in enumerate(following)
                 if cell.cell_type == "markdown" and "<details><summary>Hint" in cell.source]
        assert checks and hints and checks[0] < hints[0], (
            f"{assignment_id}: {cells[index].metadata['nbgrader']['grade_id']} is not followed "
            "by a self-check and then a hint")


@pytest.mark.parametrize("assignment_id", sorted(DERIVED_FORMULAS))
def test_four_written_questions_graded_by_hand(assignment_id):
    cells = assignment_cells(assignment_id)
    answers = [index for index, cell in enumerate(cells)
               if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")
               and cell.metadata["nbgrader"].get("solution")]
    assert len(answers) >= 4
    for index in answers:
        question = cells[index - 1].metadata.get("nbgrader", {})
        answer = cells[index].metadata["nbgrader"]
        assert question.get("locked") and not question.get("grade")
        assert answer["grade_id"] == question["grade_id"] + "-answer" and answer["points"] > 0


EXERCISE_LECTURES = ["01_linear_classifiers", "02_losses", "03_backpropagation",
                     "04_automatic_differentiation", "05_initialization", "06_normalization",
                     "07_optimization", "08_generalization", "09_convolutional_networks"]
# A self-checked exercise asks either for a number, `exercise_N = None` checked by
# `check_exercise(...)`, or for a function whose body is `raise NotImplementedError`, run
# against a reference by `self_check(...)`.
CHECK_CALL = re.compile(r"^(?:check_exercise|self_check)\(", re.MULTILINE)
EMPTY_ANSWER = re.compile(r"exercise_\d+ = None|def \w+\([^)]*\):\n(?:\s*#.*\n)*"
                          r"\s*raise NotImplementedError")


@pytest.mark.parametrize("name", EXERCISE_LECTURES)
def test_lecture_ends_with_three_to_six_exercises_some_checked_some_open(name):
    cells = nbformat.read(REPO / "lectures" / f"{name}.ipynb", as_version=4).cells
    starts = [i for i, cell in enumerate(cells) if cell.source.startswith("## Exercises")]
    assert starts, f"{name} has no exercises section"
    section = cells[starts[-1]:]
    statements = [cell for cell in section if cell.cell_type == "markdown"
                  and re.match(r"\*\*Exercise \d", cell.source)]
    assert 3 <= len(statements) <= 6
    checked = [cell for cell in section if cell.cell_type == "code"
               and CHECK_CALL.search(cell.source)]
    opened = [cell for cell in statements if "(open)" in cell.source]
    assert checked and opened and len(checked) + len(opened) == len(statements)
    # An answer is never one click away: the student's cell starts empty.
    answers = [cell for cell in section if cell.cell_type == "code"
               and EMPTY_ANSWER.match(cell.source)]
    assert len(answers) == len(checked)


def test_an_empty_answer_is_told_from_a_written_one():
    assert EMPTY_ANSWER.match("exercise_2 = None  # the length of the second step")
    assert EMPTY_ANSWER.match("def size(n, k):\n    # why\n    raise NotImplementedError('x')")
    assert not EMPTY_ANSWER.match("exercise_2 = 0.5")
    assert not EMPTY_ANSWER.match("def size(n, k):\n    return n - k + 1")
