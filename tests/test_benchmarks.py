"""The benchmarks run end to end in their quick mode (a smoke test: no timing assertions)."""
import subprocess
import sys

import pytest

from autograder.layout import REPO


@pytest.mark.slow
def test_quick_benchmarks_write_a_results_file(tmp_path):
    out = tmp_path / "results.md"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "- CPU:" in text and "PyTorch" in text
    for heading in ("## MLP training step", "## Autodiff overhead",
                    "## Convolution forward and backward", "## Grading: autograder vs nbgrader",
                    "## Notebook execution times"):
        assert heading in text
    assert "| one solved submission |" in text and "| a1_linear (solved) |" in text
