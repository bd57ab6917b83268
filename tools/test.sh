#!/usr/bin/env bash
# `make test`: every check, in order, failing fast; per-stage and total wall time.
set -uo pipefail
cd "$(dirname "$0")/.."
export STAGE_TIMES
STAGE_TIMES=$(mktemp)
start=$(date +%s)
for target in lint sync unit chapters book site; do
  make --no-print-directory "$target" || {
    echo "make test: stage '$target' failed (see above)."
    exit 1
  }
done
echo
echo "=== stage times (s)"
cat "$STAGE_TIMES"
echo "=== total: $(( $(date +%s) - start )) s"
rm -f "$STAGE_TIMES"
