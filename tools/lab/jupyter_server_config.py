"""JupyterLab configuration for ``make lab`` (``tools/lab.sh`` passes it with ``--config``).

What a reader gets, all of it from this folder and the repository's ``.venv``:

- the server at the repository root, on 127.0.0.1 only, opening on ``chapters/``;
- ``chapters/<part>/<slug>.md`` opens as a notebook (Jupytext: ``settings/overrides.json``
  makes it the default viewer of Markdown); saving it rewrites the ``.md`` and its ``.py``
  twin (the pairing in ``jupytext.toml``); other Markdown opens read-only (``booklab.py``);
- one kernel, "Python 3": this server's own interpreter (``.venv/bin/python``, where ``lib``
  is installed), single-threaded like the chapters under ``make``;
- no network: no news feed, no update check, no PyPI extension manager;
- nothing written to ``~/.jupyter`` or ``~/.local`` and no ``.ipynb_checkpoints`` in the
  tree: Lab's writable state (user settings, workspaces, checkpoints, notebook-trust
  database) lives under ``$LAB_STATE_DIR`` (``tools/lab.sh`` defaults it to
  ``_build/lab/state``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STATE = Path(os.environ.get("LAB_STATE_DIR") or ROOT / "_build" / "lab" / "state")
sys.path.insert(0, str(HERE))

from booklab import BookContents, BookKernelSpecs, StateCheckpoints  # noqa: E402

c = get_config()  # noqa: F821 - injected by traitlets when it loads this file

# Where and what to serve.
c.ServerApp.root_dir = str(ROOT)
c.ServerApp.ip = "127.0.0.1"
c.LabApp.default_url = "/lab/tree/chapters"
c.ServerApp.contents_manager_class = BookContents

# Lab settings: defaults from settings/overrides.json; the reader's own changes, workspaces,
# checkpoints and the trust database under STATE.
c.LabApp.app_settings_dir = str(HERE / "settings")
c.LabApp.user_settings_dir = str(STATE / "user-settings")
c.LabApp.workspaces_dir = str(STATE / "workspaces")
c.ContentsManager.checkpoints_class = StateCheckpoints
c.StateCheckpoints.checkpoints_root = str(STATE / "checkpoints")
c.NotebookNotary.db_file = str(STATE / "nbsignatures.db")
c.NotebookNotary.secret_file = str(STATE / "notebook_secret")

# Offline: nothing fetched from the network at run time.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

# The kernel.
c.ServerApp.kernel_spec_manager_class = BookKernelSpecs
c.KernelSpecManager.ensure_native_kernel = False
c.MappingKernelManager.default_kernel_name = "python3"
