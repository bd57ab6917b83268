#!/usr/bin/env bash
# `make lab`: JupyterLab at the repository root, to run the chapters as notebooks.
#
# chapters/<part>/<slug>.md opens as a notebook (Jupytext); saving it rewrites the .md and its
# py:percent twin. The kernel is .venv's Python, where `lib` is installed. Nothing is fetched
# from the network, and nothing is written to ~/.jupyter or ~/.local: the configuration is
# tools/lab/ (see tools/lab/jupyter_server_config.py), Lab's writable state goes to
# $LAB_STATE_DIR (default _build/lab/state). Extra arguments go to jupyter-lab
# (e.g. --port=8890, --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -x "$root/.venv/bin/jupyter-lab" ] || {
  echo "lab: .venv has no JupyterLab; run 'make setup' first" >&2
  exit 2
}
state=${LAB_STATE_DIR:-$root/_build/lab/state}
mkdir -p "$state/runtime" "$state/config" "$state/data"
chmod 700 "$state/runtime"  # kernel connection files hold their keys
export LAB_STATE_DIR=$state
# Jupyter's per-user folders, inside the state folder: ~/.jupyter and ~/.local are neither
# read (no user config or extensions change the book's Lab) nor written.
export JUPYTER_CONFIG_DIR=$state/config JUPYTER_DATA_DIR=$state/data
export JUPYTER_RUNTIME_DIR=$state/runtime
# Chapters run single-threaded, as under `make` (the kernelspec sets the same).
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYDEVD_DISABLE_FILE_VALIDATION=1 PYTHONDONTWRITEBYTECODE=1
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)  # e.g. in a container
cat <<MSG
JupyterLab for this book: open the http://127.0.0.1:<port>/lab/...?token=... URL printed below.
In the file browser, open chapters/<part>/<slug>.md (it opens as a notebook), then
Run > Run All Cells. Stop the server with Ctrl-C twice.
MSG
# ${extra[@]+...}: an empty array under `set -u` in macOS's bash 3.2
exec "$root/.venv/bin/jupyter-lab" --config="$root/tools/lab/jupyter_server_config.py" \
  ${extra[@]+"${extra[@]}"} "$@"
