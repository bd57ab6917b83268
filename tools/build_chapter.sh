#!/usr/bin/env bash
# Build the site for ONE chapter (plus the landing page) with warnings as errors, into
# _build/one/<slug>/_build/html, so a chapter can be checked in isolation from the others.
# usage: tools/build_chapter.sh chapters/<part>/<slug>.md
set -euo pipefail
cd "$(dirname "$0")/.."
ch=${1:?usage: tools/build_chapter.sh chapters/<part>/<slug>.md}
[ -f "$ch" ] || { echo "no such chapter: $ch"; exit 2; }
slug=$(basename "$ch" .md)
out=_build/one/$slug
mkdir -p "$out"
toc=$out/_toc.yml
cat > "$toc" <<TOC
format: jb-book
root: index
parts:
  - caption: Chapter
    chapters:
      - file: ${ch%.md}
  - caption: About the checks
    chapters:
      - file: pages/ledger
      - file: pages/source-numbers
      - file: pages/errata
      - file: pages/status
      - file: pages/references
TOC
.venv/bin/jupyter-book build . --toc "$toc" --path-output "$out" --warningiserror --keep-going
echo "Built: $out/_build/html/${ch%.md}.html"
