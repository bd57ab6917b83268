#!/usr/bin/env bash
# `make test`: every check, in order, failing fast; per-stage and total wall time.
# Each chapter is executed once: the nbval stage stores what it ran in the execution cache
# (conftest.py) and the book stage renders from it; KEXUE_EXPECT_CACHED=1 makes the build
# fail on any chapter it had to execute again (_ext/bookext.py).
set -uo pipefail
cd "$(dirname "$0")/.."
export STAGE_TIMES
STAGE_TIMES=$(mktemp)
start=$(date +%s)
for target in lint sync unit chapters book site; do
  expect=0; [ "$target" = book ] && expect=1
  KEXUE_EXPECT_CACHED=$expect make --no-print-directory "$target" || {
    echo "make test: stage '$target' failed (see above)."
    exit 1
  }
done
echo
echo "=== stage times (s)"
cat "$STAGE_TIMES"
echo "=== total: $(( $(date +%s) - start )) s"
rm -f "$STAGE_TIMES"
