# The two commands a reader needs (see README):
#   make book   set up .venv if needed, build the website into _build/html
#   make test   set up .venv if needed, then lint, twin sync, lib tests, every chapter
#               under nbval, the book build with warnings as errors, and browser tests of
#               the built site and of JupyterLab (skipped, with a reason, when Chromium is
#               not installed)
#   make lab    JupyterLab to run the chapters as notebooks (see README)
# Other targets: make chapter CH=chapters/<part>/<slug>.md (one chapter's checks alone),
#                make lint, make unit, make chapters, make sync, make site,
#                make bench [QUICK=1] [STORE=1] (benchmark table -> _build/bench.json; STORE=1
#                also data/benchmarks.json, the copy the status page shows),
#                make mutate MODULE=lib/<part>/<module>.py (mutation testing -> data/mutation.json),
#                make lab (JupyterLab on the chapters), make lock (refresh constraints.txt),
#                make clean (keeps the execution cache), make distclean (removes all of _build).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Chapters run single-threaded: on 2 cores, small torch ops are ~25x slower with 2 threads.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PYTHONDONTWRITEBYTECODE := 1

NBVAL := -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=300
STAGE := bash tools/stage.sh

.PHONY: book test lint sync unit chapters site build chapter clean distclean setup lock bench \
	mutate lab

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
		-c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# The chapters the execution cache lacks are executed first, two at a time (tools/prefill.py);
# the build then renders every chapter from the cache (under make test: nothing to prefill).
book: $(STAMP)
	@$(STAGE) "book build" bash -c '$(BIN)/python tools/prefill.py && \
		$(BIN)/jupyter-book build . --warningiserror --keep-going'
	@echo "Built: open $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	@bash tools/test.sh

lint: $(STAMP)
	@$(STAGE) "ruff" $(BIN)/ruff check lib tests chapters tools _ext benchmarks conftest.py

sync: $(STAMP)
	@$(STAGE) "twin sync" $(BIN)/python tools/check_twins.py

unit: $(STAMP)
	@$(STAGE) "lib tests" bash tools/pytest.sh tests --ignore=tests/site -n 2

chapters: $(STAMP)
	@$(STAGE) "chapters (nbval)" bash tools/pytest.sh chapters $(NBVAL) -n 2 --dist loadfile

site: $(STAMP)
	@$(STAGE) "site (browser)" bash tools/pytest.sh tests/site -p no:cacheprovider -rs -n 2

build: book

chapter: $(STAMP)
	@test -n "$(CH)" || { echo "usage: make chapter CH=chapters/<part>/<slug>.md"; exit 2; }
	@$(STAGE) "$(CH)" bash tools/pytest.sh $(CH) $(NBVAL)

# The execution cache (_build/.jupyter_cache) survives `make clean`: its keys are exact
# (_ext/execkey.py), so it is never stale, and re-executing 38 chapters costs minutes.
clean:
	@find _build -mindepth 1 -maxdepth 1 ! -name .jupyter_cache ! -name .jupyter_cache.lock \
		-exec rm -rf {} + 2>/dev/null || true

distclean:
	rm -rf _build

lock:
	bash tools/lock.sh

lab: $(STAMP)
	@bash tools/lab.sh

mutate: $(STAMP)
	@test -n "$(MODULE)" || { echo "usage: make mutate MODULE=lib/<part>/<module>.py"; exit 2; }
	@$(BIN)/python tools/mutate.py $(MODULE)

bench: $(STAMP)
	@$(BIN)/python tools/bench.py $(if $(QUICK),--quick,) $(if $(STORE),--store,)
