"""A lecture's widget works in a real browser: JupyterLab serves a copy of the lectures,
headless Chromium runs all cells of a lecture with a slider, moves the slider, and the
widget's output changes.

Needs Debian's chromium at /usr/bin/chromium (or the path in $CHROMIUM) and the `playwright`
package; no browser is downloaded. Screenshots and the server's log go to $TEST_ARTIFACTS
(default: test-artifacts/ in the repository, which git ignores).
"""
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.layout import REPO

LECTURES = REPO / "lectures"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / "test-artifacts"))
# Lectures the test prefers, in order; any other lecture with a slider will do.
PREFERRED = ["07_optimization.ipynb", "05_initialization.ipynb", "02_losses.ipynb"]
# A slider in code: FloatSlider(...), IntSlider(...), or interact's (min, max[, step]) tuples.
SLIDER_CODE = re.compile(r"\w*Slider\(|\b\w+\s*=\s*\(\s*-?[\d.]+(e-?\d+)?\s*,\s*-?[\d.]")

SERVER_START_S = 90
KERNEL_START_S = 90
RUN_ALL_S = 120
WIDGET_UPDATE_S = 60

pytestmark = pytest.mark.slow

# Settings of the throwaway JupyterLab: no news or update checks (they would show toasts
# and go online), and every cell attached to the page so all outputs can be read.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Whether the status bar names the kernel and says it is idle ("Python 3 (ipykernel) | Idle").
IDLE_JS = """() => {
    const bar = document.querySelector('.jp-StatusBar-Widget');
    return bar !== null && /\\|\\s*Idle\\b/.test(bar.innerText) && !/No Kernel/.test(bar.innerText);
}"""

# The text and images that a cell's output area shows, sliders and their readouts left out
# (the readout always changes with the slider; the test wants what the widget computes).
SNAPSHOT_JS = """area => {
    const copy = area.cloneNode(true);
    copy.querySelectorAll('.widget-slider, .widget-hslider, .widget-vslider, .widget-readout')
        .forEach(node => node.remove());
    const images = [...copy.querySelectorAll('img')].map(img => img.getAttribute('src'));
    return JSON.stringify([copy.textContent, images]);
}"""


def lecture_with_slider(lectures):
    """(name, cell index) of a lecture and its cell tagged "widget" that makes a slider, or
    None."""
    names = sorted(path.name for path in lectures.glob("*.ipynb"))
    names.sort(key=lambda name: PREFERRED.index(name) if name in PREFERRED else len(PREFERRED))
    for name in names:
        notebook = nbformat.read(lectures / name, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if "widget" in cell.metadata.get("tags", []) and SLIDER_CODE.search(cell.source):
                return name, index
    return None


# The local server is reached directly, whatever proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url, process, log, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with DIRECT.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer in {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process):
    """Stop the server; on SIGTERM it shuts its kernels down before it exits."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab whose root is a temporary copy of lectures/ and course/:
    running the notebooks there leaves the repository untouched. Yields (base URL, token,
    lecture name, index of its widget cell)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not LECTURES.is_dir():
        pytest.skip("there is no lectures/ folder yet")
    found = lecture_with_slider(LECTURES)
    if found is None:
        pytest.fail("no lecture has a slider in its cell tagged 'widget'")

    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(LECTURES, root / "lectures", ignore=ignore)
    shutil.copytree(REPO / "course", root / "course", ignore=ignore)
    for relative, values in LAB_SETTINGS.items():
        path = home / "settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ,
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_CONFIG_DIR=str(home / "config"),
               IPYTHONDIR=str(home / "ipython"))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyterlab.log"
    port, token = free_port(), secrets.token_hex(16)
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base}/api/status?token={token}", process, log, SERVER_START_S)
        yield base, token, *found
    finally:
        stop(process)


def test_moving_a_lecture_slider_changes_the_widget_output(lab):
    from playwright.sync_api import sync_playwright

    base, token, name, cell = lab
    stem = Path(name).stem
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--disable-dev-shm-usage", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            run_lecture_and_move_slider(page, f"{base}/lab/tree/lectures/{name}?token={token}",
                                        stem, cell)
        except Exception:
            (ARTIFACTS / f"{stem}-page-errors.txt").write_text("\n".join(errors))
            with contextlib.suppress(Exception):  # keep the first error if the page is gone
                page.screenshot(path=str(ARTIFACTS / f"{stem}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def run_lecture_and_move_slider(page, url, stem, cell):
    page.goto(url)
    panel = page.locator(".jp-NotebookPanel").first
    panel.wait_for(state="visible", timeout=KERNEL_START_S * 1000)
    # A notebook that names no kernel makes JupyterLab ask for one: take the one it offers.
    page.wait_for_function(f"() => ({IDLE_JS})() || document.querySelector('.jp-Dialog')",
                           timeout=KERNEL_START_S * 1000)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        dialog.locator(".jp-mod-accept").first.click()
    wait_for_idle_kernel(page, KERNEL_START_S)

    # Run > Run All Cells, as a student does.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    # Every code cell has run when none of the prompts is waiting or running ("[ ]:", "[*]:").
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=RUN_ALL_S * 1000)
    failures = panel.locator("[data-mime-type='application/vnd.jupyter.error']")
    if failures.count():
        pytest.fail(f"{stem} raised while running:\n{failures.first.inner_text()[-2000:]}")

    # The slider of the cell tagged "widget" (or, should that cell show none, the first).
    tagged = panel.locator(".jp-Notebook .jp-Cell").nth(cell).locator(".jp-Cell-outputArea")
    any_area = panel.locator(".jp-Cell-outputArea", has=page.locator(".widget-slider")).first
    any_area.wait_for(state="visible", timeout=WIDGET_UPDATE_S * 1000)
    area = tagged if tagged.locator(".widget-slider").count() else any_area
    slider = area.locator(".widget-slider").first
    area.scroll_into_view_if_needed()
    before = settled_snapshot(page, area, WIDGET_UPDATE_S)
    text, images = json.loads(before)
    assert text.strip() or images, "the widget shows nothing besides its slider"
    area.screenshot(path=str(ARTIFACTS / f"{stem}-before.png"))

    readout = slider.locator(".widget-readout")
    value_before = readout.inner_text()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):  # left if it starts at its right end
        for _ in range(5):
            handle.press(key)
        if readout.inner_text() != value_before:
            break
    assert readout.inner_text() != value_before, "the slider did not move"

    page.wait_for_function(f"([area, before]) => ({SNAPSHOT_JS})(area) !== before",
                           arg=[area.element_handle(), before], timeout=WIDGET_UPDATE_S * 1000)
    after = settled_snapshot(page, area, WIDGET_UPDATE_S)
    area.screenshot(path=str(ARTIFACTS / f"{stem}-after.png"))
    page.screenshot(path=str(ARTIFACTS / f"{stem}-notebook.png"), full_page=True)
    assert after != before, "moving the slider did not change the widget's output"


def wait_for_idle_kernel(page, timeout):
    """Until the status bar names the kernel and says it is idle ("Python 3 | Idle"). (The
    toolbar's indicator says idle earlier, while the status bar still says "Initializing".)"""
    page.wait_for_function(IDLE_JS, timeout=timeout * 1000)


def settled_snapshot(page, area, timeout, quiet=1.0):
    """The output area's snapshot once the kernel is idle, its images have loaded and it has
    not changed for QUIET seconds (a widget's callback writes its output in pieces)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        wait_for_idle_kernel(page, timeout)
        loaded = area.evaluate("area => [...area.querySelectorAll('img')]"
                               ".every(img => img.complete && img.naturalWidth > 0)")
        current = area.evaluate(SNAPSHOT_JS) if loaded else None
        if current != last:
            last, since = current, time.monotonic()
        elif current is not None and time.monotonic() - since >= quiet:
            return current
        page.wait_for_timeout(200)
    pytest.fail(f"the widget's output did not settle within {timeout} s")
