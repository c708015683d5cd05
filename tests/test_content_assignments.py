"""What assignments 3 to 5 ask of students: derivations they do themselves (numbers on a tiny
example, checked in the notebook, before a collapsed hint) and written questions graded by
hand, some of them about the student's own runs."""
import re

import nbformat
import numpy as np
import pytest
import torch

from autograder import checks
from autograder.layout import REPO

ASSIGNMENTS = ["a3_autodiff", "a4_init_norm", "a5_optim"]


def cells(assignment_id, folder="solutions"):
    path = REPO / folder / assignment_id / f"{assignment_id}.ipynb"
    return nbformat.read(path, as_version=4).cells


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def written_questions(notebook_cells):
    """(question, answer) cell pairs of the questions graded by hand."""
    pairs = []
    for index, cell in enumerate(notebook_cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
            pairs.append((notebook_cells[index - 1], cell))
    return pairs


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_four_written_questions_graded_by_hand_with_model_answers(assignment_id):
    pairs = written_questions(cells(assignment_id))
    assert len(pairs) >= 4
    ids = [grade_id(cell) for pair in pairs for cell in pair]
    assert len(ids) == len(set(ids)), f"{assignment_id}: grade_ids repeat"
    for question, answer in pairs:
        asked, graded = question.metadata["nbgrader"], answer.metadata["nbgrader"]
        assert asked["locked"] and not asked["grade"] and not asked["solution"]
        assert graded["grade_id"] == asked["grade_id"] + "-answer" and graded["points"] > 0
        points = re.match(r"\*\*Q\d \((\d+) points?\)\.\*\*", question.source)
        assert points and int(points.group(1)) == graded["points"], question.source[:40]
        assert len(answer.source.split()) >= 60, f"{graded['grade_id']}: no model answer"
    # The introduction announces as many questions as there are.
    intro = cells(assignment_id)[1].source
    words = {4: "Four", 5: "Five", 6: "Six"}
    assert f"{words[len(pairs)]} written questions" in intro


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_at_least_two_questions_ask_about_the_students_own_run(assignment_id):
    pairs = written_questions(cells(assignment_id))
    # A question on the student's run has a model answer from the reference run; one on the
    # student's own derivation refers to it.
    own = [question for question, answer in pairs
           if answer.source.startswith("*A model answer for the reference run")
           or "you derived" in question.source]
    assert len(own) >= 2, f"{assignment_id}: fewer than two questions about the student's run"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_the_release_keeps_the_questions_and_drops_the_model_answers(assignment_id):
    released = written_questions(cells(assignment_id, folder="assignments"))
    solved = written_questions(cells(assignment_id))
    assert [q.source for q, _ in released] == [q.source for q, _ in solved]
    for (_, answer), (_, model) in zip(released, solved, strict=True):
        assert answer.source != model.source and len(answer.source.split()) < 20


def by_hand_cell(assignment_id, folder="solutions"):
    notebook_cells = cells(assignment_id, folder)
    index = [i for i, cell in enumerate(notebook_cells)
             if grade_id(cell) == "batchnorm-backward-by-hand"]
    assert len(index) == 1
    return notebook_cells, index[0]


def test_batchnorm_backward_numbers_come_before_a_self_check_and_then_the_hint():
    notebook_cells, index = by_hand_cell("a4_init_norm")
    assert notebook_cells[index].metadata["nbgrader"]["solution"]
    following = notebook_cells[index + 1:index + 5]
    checks = [i for i, cell in enumerate(following) if cell.cell_type == "code"
              and "compare_with_autograd(" in cell.source
              and "def compare_with_autograd" not in cell.source]
    hints = [i for i, cell in enumerate(following) if cell.cell_type == "markdown"
             and cell.source.startswith("<details><summary>Hint")]
    assert checks and hints and checks[0] < hints[0]
    # The self-check never prints autograd's numbers.
    check = following[checks[0]].source
    assert "print(" not in check


def test_batchnorm_backward_formula_is_printed_only_inside_the_hint():
    formula = r"N g_i - \sum_k g_k - \hat x_i \sum_k g_k \hat x_k"
    holders = [cell.source for cell in cells("a4_init_norm")
               if cell.cell_type == "markdown" and formula in cell.source]
    assert len(holders) == 1
    hint = holders[0]
    assert hint.startswith("<details><summary>Hint") and hint.find(formula) < hint.find(
        "</details>")


def test_the_reference_numbers_are_those_derived_by_hand():
    # x = [0, 0, 2, 2]: mu = 1, var = 1, x_hat = [-1, -1, 1, 1]; dout = [1, 0, 0, 0], gamma = 1.
    # dx = (4 dout - sum(dout) - x_hat * sum(dout * x_hat)) / 4, dgamma = -1, dbeta = 1.
    by_hand_dx = [0.5, -0.5, 0.0, 0.0]
    notebook_cells, index = by_hand_cell("a4_init_norm")
    namespace = {"np": np}
    exec(notebook_cells[index].source, namespace)
    assert np.allclose(namespace["my_batchnorm_dx"], by_hand_dx)
    assert np.allclose(namespace["my_batchnorm_dgamma_dbeta"], [-1.0, 1.0])
    # PyTorch agrees with the hand derivation, to the check's tolerance (eps = 1e-5).
    x = torch.tensor([[0.0], [0.0], [2.0], [2.0]], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.batch_norm(x, None, None, training=True)
    (out[:, 0] * torch.tensor([1.0, 0, 0, 0], dtype=torch.float64)).sum().backward()
    assert np.allclose(x.grad[:, 0].numpy(), by_hand_dx, atol=1e-4)


def test_the_released_numbers_cell_has_no_answer():
    notebook_cells, index = by_hand_cell("a4_init_norm", folder="assignments")
    source = notebook_cells[index].source
    assert "0.5" not in source and "-1.0, 1.0" not in source
    assert "NotImplementedError" in source or "YOUR CODE HERE" in source


def test_a3_extension_example_sits_with_its_text():
    notebook_cells = cells("a3_autodiff")
    index = [i for i, cell in enumerate(notebook_cells) if "class Sin(autograd.Op)" in cell.source]
    assert len(index) == 1
    text = notebook_cells[index[0] - 1]
    assert text.cell_type == "markdown" and text.source.startswith("**Extending the engine**")


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_grade_cells_run_the_parts_in_the_order_of_the_grading_configuration(assignment_id):
    called = [name for cell in cells(assignment_id) if cell.cell_type == "code"
              for name in re.findall(r'^check\("([^"]+)"\)', cell.source, re.MULTILINE)]
    assert called == [part.name for part in checks.load(assignment_id).parts]


def test_a3_does_not_call_reverse_mode_flat():
    text = "\n".join(cell.source for cell in cells("a3_autodiff") if cell.cell_type == "markdown")
    assert "stays flat" not in text
    assert "its cost does grow" in text
