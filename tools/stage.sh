#!/usr/bin/env bash
# Run one stage of the checks, print its wall time, fail loudly with its name.
# usage: tools/stage.sh "stage name" command [args...]
set -uo pipefail
name=$1; shift
echo "=== ${name}: $*"
start=$(date +%s.%N)
"$@"
rc=$?
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
if [ $rc -ne 0 ]; then
  echo "=== ${name}: FAILED (exit ${rc}) after ${secs} s"
  exit $rc
fi
echo "=== ${name}: ok in ${secs} s"
echo "${name}	${secs}" >> "${STAGE_TIMES:-/dev/null}"
