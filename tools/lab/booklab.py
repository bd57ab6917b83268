"""The book's pieces of JupyterLab's server (used by ``jupyter_server_config.py`` beside it).

- ``BookContents``: Jupytext's contents manager (``.md`` files open as notebooks; saving a
  chapter rewrites its ``.md`` and ``.py`` twin, per ``jupytext.toml``), except that a Markdown
  file that is not a chapter notebook (README, index, pages/...) is served *read-only* when it
  is opened as a notebook: saving it would add a Jupytext header to it, and Lab autosaves a
  notebook as soon as its kernel starts (which marks it modified). "Open With > Editor" still
  edits it as text.
- ``StateCheckpoints``: checkpoints under the state folder, not in ``.ipynb_checkpoints``
  beside the file (a checkpoint of a chapter is a MyST notebook too, and inside
  ``chapters/`` the twin check and the site tests would take it for a chapter).
- ``BookKernelSpecs``: only the book's kernel, ``kernels/python3`` here. Its ``argv[0]`` is
  ``python``, which jupyter_client replaces with the server's own interpreter
  (``.venv/bin/python``, where ``lib`` is installed); its display name is the one in the
  chapters' headers, so saving a chapter leaves its header unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_server.services.contents.filecheckpoints import AsyncFileCheckpoints
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class
from traitlets import Unicode, default

HERE = Path(__file__).resolve().parent


def is_chapter_notebook(os_path: str | os.PathLike) -> bool:
    """Whether a file is a MyST notebook (the rule of ``tools/check_twins.py``): front matter
    with Jupytext's ``format_name: myst``."""
    try:
        with open(os_path, encoding="utf8") as f:
            head = f.read(2000)
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith("---") and "format_name: myst" in head


class BookContents(build_async_jupytext_contents_manager_class(AsyncLargeFileManager)):
    """Jupytext's contents manager; Markdown that is not a chapter is read-only as a notebook."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        """The model of ``path``; ``writable`` is false for a non-chapter ``.md`` notebook."""
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if (
            model.get("type") == "notebook"
            and str(path).endswith(".md")
            and not is_chapter_notebook(self._get_os_path(path.strip("/")))
        ):
            model["writable"] = False
        return model


class StateCheckpoints(AsyncFileCheckpoints):
    """Checkpoints under ``<checkpoints_root>/<folder of the file>/``."""

    checkpoints_root = Unicode(config=True, help="Folder that holds every checkpoint.")

    def checkpoint_path(self, checkpoint_id, path):
        """Where the checkpoint of ``path`` (relative to the server's root) is kept."""
        if not self.checkpoints_root:
            raise ValueError("StateCheckpoints.checkpoints_root is not set")
        parent, _, name = path.strip("/").rpartition("/")
        basename, ext = os.path.splitext(name)
        cp_dir = Path(self.checkpoints_root, parent)
        with self.perm_to_403():
            cp_dir.mkdir(parents=True, exist_ok=True)
        return str(cp_dir / f"{basename}-{checkpoint_id}{ext}")


class BookKernelSpecs(KernelSpecManager):
    """Only the kernelspecs in ``tools/lab/kernels``."""

    @default("kernel_dirs")
    def _book_kernel_dirs(self):
        return [str(HERE / "kernels")]
