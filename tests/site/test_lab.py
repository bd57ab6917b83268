"""JupyterLab as ``make lab`` gives it to a reader (``tools/lab.sh`` with ``tools/lab/``).

A chapter opens from the file browser as a notebook, runs to the end in the book's kernel and
shows its claims table with every claim passing; the page fetches nothing from outside the
server; running the chapter writes nothing into the repository (the test's own user setting
turns autosave off, and checkpoints go to the state folder). Saving, tested on a copy of a
chapter, rewrites the ``.md`` and its ``.py`` twin. Screenshots: ``_build/lab/``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jupytext
import psutil
import pytest
from jupytext.config import load_jupytext_config
from playwright.sync_api import expect

from tests.site.conftest import ROOT

CHAPTER = "chapters/numbertheory/rational-points.md"  # ~10 s of kernel time, no torch
SHOTS = ROOT / "_build" / "lab"


class Lab:
    """A ``tools/lab.sh`` server on a free local port, its state in a temporary folder."""

    def __init__(self, state: Path, *args: str):
        self.state, self.token = state, secrets.token_hex(16)
        # The test's one user setting: no autosave (running the chapter must not save it).
        docmanager = state / "user-settings" / "@jupyterlab" / "docmanager-extension"
        docmanager.mkdir(parents=True)
        (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "LAB_STATE_DIR": str(state), "IPYTHONDIR": str(state / "ipython")}
        self.log = state / "lab.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                ["bash", str(ROOT / "tools" / "lab.sh"), "--no-browser", f"--port={port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}", *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        req = urllib.request.Request(
            self.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        return json.loads(text) if text else None

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"tools/lab.sh exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)  # polling a starting server
        pytest.fail(f"JupyterLab not up after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Shut the server down (its kernels with it); kill what is left, by pid."""
        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        try:
            self.api("/api/shutdown", method="POST")
            self.proc.wait(timeout=20)
        except Exception:  # noqa: BLE001 - whatever failed, the processes below are ended
            pass
        for p in [psutil.Process(self.proc.pid), *family] if self.proc.poll() is None else family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab-state"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def fingerprint() -> dict:
    """What running the chapter must not change: its part's files (the only ones Lab could
    write), git's view of them, and the absence of .ipynb_checkpoints under chapters/."""
    part = (ROOT / CHAPTER).parent
    out = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
           for p in part.rglob("*") if p.is_file()}
    out["checkpoints"] = sorted(str(p) for p in (ROOT / "chapters").rglob(".ipynb_checkpoints"))
    if shutil.which("git"):
        out["git"] = subprocess.run(["git", "status", "--porcelain", "--", str(part)], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout
    return out


def test_contents_api_serves_the_chapter_as_a_notebook(lab):
    model = lab.api(f"/api/contents/{CHAPTER}?content=1")
    assert (model["type"], model["format"], model["writable"]) == ("notebook", "json", True)
    expected = jupytext.read(ROOT / CHAPTER, config=load_jupytext_config(str(ROOT / "chapters")))
    got = model["content"]["cells"]
    assert [(c["cell_type"], c["source"]) for c in got] == [
        (c.cell_type, c.source) for c in expected.cells]
    # Other Markdown opens as a notebook too, read-only: saving would add a Jupytext header.
    assert lab.api("/api/contents/README.md?content=0")["writable"] is False
    # One kernel, named as in the chapters' headers; the default viewer of .md is Jupytext's.
    specs = lab.api("/api/kernelspecs")
    assert (specs["default"], list(specs["kernelspecs"])) == ("python3", ["python3"])
    assert specs["kernelspecs"]["python3"]["spec"]["display_name"] == (
        expected.metadata["kernelspec"]["display_name"])
    schema = lab.api("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")["schema"]
    assert schema["properties"]["defaultViewers"]["default"]["markdown"] == "Jupytext Notebook"
    # Offline: no news feed, no update check.
    assert lab.api("/lab/api/news") == {"news": []}
    assert lab.api("/lab/api/update") == {"notification": None}


def test_saving_rewrites_the_md_and_its_py_twin(tmp_path):
    """What Lab's save (a PUT of the notebook) runs: the server's contents manager, here on a
    copy of a chapter (the repository is never written). That the server uses this class is
    checked above (README is read-only)."""
    sys.path.insert(0, str(ROOT / "tools" / "lab"))
    from booklab import BookContents

    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    md, py = tmp_path / CHAPTER, (tmp_path / CHAPTER).with_suffix(".py")
    md.parent.mkdir(parents=True)
    shutil.copy(ROOT / CHAPTER, md)
    shutil.copy((ROOT / CHAPTER).with_suffix(".py"), py)
    contents = BookContents(root_dir=str(tmp_path))
    model = asyncio.run(contents.get(CHAPTER))
    nb = model["content"]
    before = md.read_text(), py.read_text()
    asyncio.run(contents.save({"type": "notebook", "content": nb}, CHAPTER))
    assert (md.read_text(), py.read_text()) == before  # a save round-trips exactly
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    line = first.source.splitlines()[-1]
    first.source += " Edited in Lab."
    asyncio.run(contents.save({"type": "notebook", "content": nb}, CHAPTER))
    assert md.read_text() == before[0].replace(f"\n{line}\n", f"\n{line} Edited in Lab.\n", 1)
    assert py.read_text() == before[1].replace(f"\n# {line}\n", f"\n# {line} Edited in Lab.\n", 1)


def test_chapter_opens_as_a_notebook_and_runs_to_the_end(lab, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = fingerprint()
    folder, name = Path(CHAPTER).parent.as_posix(), Path(CHAPTER).name
    try:
        page.goto(f"{lab.url}/lab/tree/{folder}?token={lab.token}")
        page.locator(".jp-DirListing-content").get_by_text(name, exact=True).dblclick()
        panel = page.locator(".jp-NotebookPanel:visible")
        panel.locator(".jp-CodeCell").first.wait_for(timeout=30_000)  # a notebook, not a text editor
        assert page.locator(".lm-TabBar-tab.jp-mod-current").inner_text().strip() == name
        assert page.locator(".jp-FileEditor:visible").count() == 0
        # The chapter's kernel, started and idle (the indicator is "idle" before it too).
        expect(panel.locator(".jp-KernelName")).to_have_text("Python 3", timeout=60_000)
        panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
        # jupyterlab-myst renders the MyST directives (the source says ":::{prf:theorem}").
        expect(panel.locator(".jp-MarkdownCell").first).to_contain_text("Theorem 1")
        page.screenshot(path=str(SHOTS / "lab-open.png"))
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        table = panel.locator("table.claims-table")  # the last cell: ch.table()
        table.wait_for(state="attached", timeout=90_000)
        panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)
        table.scroll_into_view_if_needed()
        rows = table.locator("tbody tr")
        n = rows.count()
        assert n > 0 and table.locator("tbody tr.claim-pass").count() == n, table.inner_text()
        assert rows.locator("td:last-child").all_inner_texts() == ["✓"] * n
        page.screenshot(path=str(SHOTS / "lab-chapter.png"))
    except Exception:
        page.screenshot(path=str(SHOTS / "lab-failure.png"))
        raise
    assert kernel_facts(lab) == {"prefix": str(ROOT / ".venv"), "lib": str(ROOT / "lib" / "__init__.py"),
                                 "threads": "1"}
    outside = [u for u in page.log.requests if not u.startswith(lab.url + "/")]
    assert not outside, f"requests outside the local server: {outside}"
    assert (page.log.console_errors, page.log.failed) == ([], [])
    assert fingerprint() == before, "running the chapter changed the repository"
    assert list((lab.state / "checkpoints").rglob("rational-points-checkpoint.md"))


def kernel_facts(lab) -> dict:
    """Ask the chapter's kernel (over its connection file) what Python and lib it runs."""
    from jupyter_client import BlockingKernelClient

    (session,) = lab.api("/api/sessions")
    client = BlockingKernelClient(
        connection_file=str(lab.state / "runtime" / f"kernel-{session['kernel']['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    out: list[str] = []
    try:
        client.wait_for_ready(timeout=30)
        code = ("import json, os, sys, lib; print(json.dumps({'prefix': sys.prefix, "
                "'lib': lib.__file__, 'threads': os.environ.get('OMP_NUM_THREADS')}))")
        client.execute_interactive(code, timeout=30, output_hook=lambda m: out.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
    finally:
        client.stop_channels()
    return json.loads("".join(out))
