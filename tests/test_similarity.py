"""`autograder similarity`: copies rank above honest work, whatever the starter code shares."""
import difflib
import importlib.util
import re
import shutil
import subprocess
import textwrap
from itertools import combinations

import numpy as np
import pytest
from copydetect import compare_files

from autograder.similarity import compare_class, fingerprint, write_report
from minidl import linear as reference

STUB = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\('([\w.]+): write it.*\n",
                  re.MULTILINE)

# Three students' own solutions of a1_linear, written independently of the reference and of
# each other; a fourth honest student is the reference itself. bo writes loops, cy writes
# vectorized numpy in another style, dee solved only part of the assignment.
BO = {
    "softmax": """
        out = np.empty_like(scores)
        for row in range(scores.shape[0]):
            top = np.max(scores[row])
            e = np.exp(scores[row] - top)
            out[row] = e / np.sum(e)
        return out
    """,
    "softmax_loss_naive": """
        count, classes = scores.shape
        total_loss = 0.0
        grad = np.zeros_like(scores)
        for n in range(count):
            p = softmax(scores[n:n + 1])[0]
            total_loss -= np.log(p[y[n]])
            for c in range(classes):
                grad[n, c] = p[c] - (1.0 if c == y[n] else 0.0)
        return float(total_loss / count), grad / count
    """,
    "softmax_loss": """
        count = len(y)
        p = softmax(scores)
        picked = p[np.arange(count), y]
        value = -np.mean(np.log(picked))
        onehot = np.zeros_like(p)
        onehot[np.arange(count), y] = 1
        return float(value), (p - onehot) / count
    """,
    "hinge_loss_naive": """
        count = scores.shape[0]
        total = 0.0
        grad = np.zeros_like(scores)
        for n in range(count):
            correct = scores[n, y[n]]
            for c in range(scores.shape[1]):
                if c != y[n]:
                    gap = scores[n, c] - correct + margin
                    if gap > 0:
                        total += gap
                        grad[n, c] += 1
                        grad[n, y[n]] -= 1
        return float(total) / count, grad / count
    """,
    "hinge_loss": """
        count = scores.shape[0]
        idx = np.arange(count)
        correct = scores[idx, y].reshape(-1, 1)
        gaps = np.maximum(0, scores - correct + margin)
        gaps[idx, y] = 0
        mask = (gaps > 0).astype(scores.dtype)
        mask[idx, y] = -mask.sum(axis=1)
        return float(gaps.sum() / count), mask / count
    """,
    "l2_penalty": """
        return float(reg * (W ** 2).sum() / 2), W * reg
    """,
    "LinearClassifier.loss_and_grad": """
        loss_fn = self.LOSSES[self.loss]
        data, ds = loss_fn(X @ self.W + self.b, y)
        reg_loss, reg_grad = l2_penalty(self.W, self.reg)
        return data + reg_loss, {"W": X.T.dot(ds) + reg_grad, "b": np.sum(ds, axis=0)}
    """,
    "LinearClassifier.fit": """
        history = []
        n = len(X)
        for epoch in range(epochs):
            perm = rng.permutation(n)
            for i in range(0, n, batch_size):
                chosen = perm[i:i + batch_size]
                value, g = self.loss_and_grad(X[chosen], y[chosen])
                history.append(value)
                self.W = self.W - lr * g["W"]
                self.b = self.b - lr * g["b"]
        return history
    """,
    "LinearClassifier.predict": """
        return self.scores(X).argmax(axis=1)
    """,
    "LinearClassifier.predict_proba": """
        return softmax(self.scores(X))
    """,
}

PLANTED = '</pre><script>alert("stolen")</script>'
CY = {
    "softmax": f"""
        # Shift by the row maximum so that exp never overflows. {PLANTED}
        z = scores - np.amax(scores, axis=1)[:, np.newaxis]
        numer = np.exp(z)
        denom = numer.sum(axis=1)[:, np.newaxis]
        return numer / denom
    """,
    "softmax_loss_naive": """
        N, C = scores.shape
        dS = np.zeros(scores.shape, dtype=scores.dtype)
        L = 0.0
        i = 0
        while i < N:
            m = scores[i].max()
            logsum = m + np.log(sum(np.exp(scores[i, j] - m) for j in range(C)))
            L += logsum - scores[i, y[i]]
            for j in range(C):
                dS[i, j] = np.exp(scores[i, j] - logsum) - (j == y[i])
            i += 1
        return float(L / N), dS / N
    """,
    "softmax_loss": """
        N = scores.shape[0]
        # The log-sum-exp trick: the loss never takes log(0).
        m = scores.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(scores - m).sum(axis=1))
        L = np.mean(lse - np.take_along_axis(scores, y[:, None], axis=1)[:, 0])
        dS = np.exp(scores - lse[:, None])
        dS -= np.eye(scores.shape[1], dtype=scores.dtype)[y]
        return float(L), dS / N
    """,
    "hinge_loss_naive": """
        N, C = scores.shape
        L, dS = 0.0, np.zeros_like(scores)
        for i, label in enumerate(y):
            for j in set(range(C)) - {label}:
                v = margin + scores[i, j] - scores[i, label]
                if v <= 0:
                    continue
                L += v
                dS[i, j] += 1 / N
                dS[i, label] -= 1 / N
        return float(L / N), dS
    """,
    "hinge_loss": """
        N, C = scores.shape
        # Margins of the wrong classes only: the true class is masked out.
        wrong = np.ones((N, C), dtype=bool)
        wrong[np.arange(N), y] = False
        v = np.where(wrong, scores - np.take_along_axis(scores, y[:, None], axis=1) + margin, 0.0)
        hit = v > 0
        dS = hit / N - np.eye(C)[y] * hit.sum(axis=1, keepdims=True) / N
        return float(v[hit].sum() / N), dS.astype(scores.dtype)
    """,
    "l2_penalty": """
        half = 0.5 * reg
        return float(half * np.vdot(W, W)), reg * W
    """,
    "LinearClassifier.loss_and_grad": """
        S = X @ self.W + self.b
        L, dS = (softmax_loss if self.loss == "softmax" else hinge_loss)(S, y)
        R, dR = l2_penalty(self.W, self.reg)
        return L + R, {"W": np.einsum("nd,nc->dc", X, dS) + dR, "b": dS.sum(0)}
    """,
    "LinearClassifier.fit": """
        out = []
        for _ in range(epochs):
            idx = rng.permutation(len(y))
            for batch in np.array_split(idx, range(batch_size, len(y), batch_size)):
                L, g = self.loss_and_grad(X[batch], y[batch])
                out.append(L)
                self.W -= lr * g["W"]
                self.b -= lr * g["b"]
        return out
    """,
    "LinearClassifier.predict": """
        S = self.scores(X)
        return np.argmax(S, axis=-1)
    """,
    "LinearClassifier.predict_proba": """
        return softmax(self.scores(X))
    """,
}

DEE = {
    "softmax": """
        exps = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exps / exps.sum(axis=1, keepdims=True)
    """,
    "softmax_loss": """
        probabilities = softmax(scores)
        batch = scores.shape[0]
        correct = probabilities[range(batch), y]
        loss = np.sum(-np.log(correct)) / batch
        gradient = probabilities.copy()
        gradient[range(batch), y] -= 1
        gradient /= batch
        return float(loss), gradient
    """,
    "l2_penalty": """
        penalty = reg * np.sum(np.square(W)) / 2.0
        return float(penalty), reg * W
    """,
    "LinearClassifier.predict": """
        return np.argmax(X @ self.W + self.b, axis=1)
    """,
}

# fay takes cy's work, renames its variables and rewrites its comments.
RENAMED = {"z": "shifted_scores", "numer": "top", "denom": "bottom", "N": "n_rows",
           "C": "n_cols", "dS": "grad_scores", "L": "total", "m": "biggest", "lse": "log_norm",
           "v": "margins", "hit": "positive", "wrong": "keep", "R": "reg_term", "dR": "reg_grad",
           "S": "logits", "g": "gradients", "idx": "shuffled", "logsum": "log_total",
           "half": "factor", "label": "target"}


def disguise(body):
    body = re.sub(r"#.*", "# my own approach to this part", body)
    return re.sub(r"\b(" + "|".join(RENAMED) + r")\b", lambda name: RENAMED[name.group(0)], body)


def solve(starter, bodies):
    """The starter code with each stub named in ``bodies`` replaced by that body."""
    def fill(stub):
        indent, name = stub.groups()
        if name not in bodies:
            return stub.group(0)
        return textwrap.indent(textwrap.dedent(bodies[name]).strip() + "\n", indent)
    return STUB.sub(fill, starter)


@pytest.fixture(scope="module")
def starter(released_a1):
    return (released_a1 / "minidl" / "linear.py").read_text()


@pytest.fixture(scope="module")
def honest_code(starter, solved_a1):
    return {"ada": (solved_a1 / "minidl" / "linear.py").read_text(),
            "bo": solve(starter, BO), "cy": solve(starter, CY), "dee": solve(starter, DEE)}


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory, solved_a1, starter, honest_code):
    """Honest ada (the reference), bo, cy and dee (nbgrader's layout); eve copies bo's file;
    fay hands in cy's with the variables renamed and the comments rewritten."""
    root = tmp_path_factory.mktemp("class")
    code = {**honest_code, "eve": honest_code["bo"],
            "fay": solve(starter, {name: disguise(body) for name, body in CY.items()})}
    for student, text in code.items():
        folder = root / student / "a1_linear" if student == "dee" else root / student
        shutil.copytree(solved_a1, folder)
        (folder / "minidl" / "linear.py").write_text(text)
    return root


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_honest_students_really_solved_it(class_folder):
    """The honest solutions are genuine: each function a student wrote agrees with the
    reference, so their similarity is that of independent correct code."""
    rng = np.random.default_rng(0)
    scores, y, W = rng.normal(size=(7, 4)), rng.integers(0, 4, size=7), rng.normal(size=(3, 4))
    for student, solved in (("bo", BO), ("cy", CY), ("dee", DEE)):
        folder = class_folder / student / ("a1_linear" if student == "dee" else "")
        mine = load(folder / "minidl" / "linear.py", f"linear_of_{student}")
        for name in ("softmax_loss_naive", "softmax_loss", "hinge_loss_naive", "hinge_loss"):
            if name in solved:
                for got, want in zip(getattr(mine, name)(scores, y),
                                     getattr(reference, name)(scores, y), strict=True):
                    np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=f"{student} {name}")
        np.testing.assert_allclose(mine.softmax(scores), reference.softmax(scores), rtol=1e-12)
        np.testing.assert_allclose(mine.l2_penalty(W, 0.3)[0], reference.l2_penalty(W, 0.3)[0])
        if "LinearClassifier.fit" in solved:
            X, labels = rng.normal(size=(50, 3)), rng.integers(0, 4, size=50)
            ours, theirs = mine.LinearClassifier(3, 4), reference.LinearClassifier(3, 4)
            np.testing.assert_allclose(ours.fit(X, labels, batch_size=16, epochs=2),
                                       theirs.fit(X, labels, batch_size=16, epochs=2))


@pytest.fixture(scope="module")
def ranked(class_folder):
    pairs, submissions = compare_class("a1_linear", class_folder)
    return {frozenset(pair.students): pair for pair in pairs}, [pair.students for pair in pairs]


def test_copies_rank_above_every_honest_pair(ranked):
    by_students, order = ranked
    copies = [frozenset(("bo", "eve")), frozenset(("cy", "fay"))]
    assert {frozenset(students) for students in order[:2]} == set(copies)
    assert by_students[copies[0]].similarity == pytest.approx((1.0, 1.0))
    assert min(by_students[copies[1]].similarity) > 0.9
    honest = [pair for students, pair in by_students.items() if students not in copies]
    assert len(honest) == 13
    assert max(pair.score for pair in honest) < min(by_students[copy].score for copy in copies)


def test_the_shared_starter_code_makes_no_one_similar(ranked, honest_code):
    """The honest files are mostly the starter (docstrings, signatures, the classifier's
    set-up), so they look alike as text and to copydetect without the starter left out; with
    it left out they share little."""
    by_students, _ = ranked
    for first, second in combinations(honest_code, 2):
        texts = honest_code[first], honest_code[second]
        assert difflib.SequenceMatcher(None, *texts, autojunk=False).ratio() > 0.8
        _, with_starter, _ = compare_files(*(fingerprint(text, "linear.py") for text in texts))
        assert max(with_starter) > 0.5
        assert by_students[frozenset((first, second))].score < 0.3


def test_unchanged_starter_code_shares_nothing(tmp_path, released_a1):
    for student in ("gil", "hal"):
        shutil.copytree(released_a1, tmp_path / student)
    pairs, _ = compare_class("a1_linear", tmp_path)
    assert pairs[0].similarity == (0.0, 0.0) and pairs[0].slices == {}


def test_report_shows_the_copies_side_by_side_escaped(class_folder, tmp_path):
    out = tmp_path / "report.html"
    pairs = write_report("a1_linear", class_folder, out)
    page = out.read_text()
    top = page.index('id="pair-1"')
    first, second = pairs[0].students
    section = page[top:page.index('id="pair-2"')]
    assert f"{first} and {second}" in section and section.count("<pre>") == 2
    # eve's file is bo's: both sides are one highlighted region covering their own code.
    assert "<mark>" in section and "def softmax" in section
    # Only the students' own code is marked, never the starter's docstrings.
    assert not any("-------" in mark for mark in re.findall("<mark>(.*?)</mark>", page, re.S))
    assert "<script>" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(&quot;stolen&quot;)&lt;/script&gt;" in page
    assert page.index("<tr><td>") < top and list(tmp_path.iterdir()) == [out]


def test_command_line(class_folder, tmp_path):
    out = tmp_path / "similar.html"
    done = subprocess.run(["autograder", "similarity", "a1_linear", "--submissions",
                           str(class_folder), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {frozenset(line.split()[1:]) for line in done.stdout.splitlines()[:2]} == {
        frozenset(("bo", "eve")), frozenset(("cy", "fay"))}
    assert "fay" in out.read_text()


@pytest.mark.parametrize("problem", ["missing", "one student", "unknown assignment"])
def test_command_line_bad_input(problem, class_folder, tmp_path):
    submissions, assignment = tmp_path / "missing", "a1_linear"
    if problem == "one student":
        submissions = tmp_path / "class"
        shutil.copytree(class_folder / "ada", submissions / "ada")
    if problem == "unknown assignment":
        submissions, assignment = class_folder, "a9_nothing"
    done = subprocess.run(["autograder", "similarity", assignment, "--submissions",
                           str(submissions), "--out", str(tmp_path / "out.html")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "error:" in done.stderr
    assert not (tmp_path / "out.html").exists()
