#!/usr/bin/env bash
# pytest with its normal summary; exit 5 ("no tests collected") is reported, not fatal,
# so an empty folder (e.g. a part with no chapters yet) does not fail the run.
set -uo pipefail
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest: no tests collected in: $*  (exit 5 treated as success)"
  exit 0
fi
exit $rc
