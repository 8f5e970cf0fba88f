#!/usr/bin/env bash
# Every committed report (docs/results/<name>/report.md) is what `qzo report` prints for its
# committed log (docs/results/<name>/<name>.h5), byte for byte; a results folder without its
# log fails. Usage: check_committed_reports.sh QZO_BINARY SOURCE_DIR
set -euo pipefail
qzo=$1 root=$2
status=0 checked=0
for report in "$root"/docs/results/*/report.md; do
  dir=$(dirname "$report") name=$(basename "$(dirname "$report")")
  log="$dir/$name.h5"
  if [ ! -f "$log" ]; then
    echo "FAIL $report: no committed log $log"
    status=1
    continue
  fi
  if diff -u "$report" <("$qzo" report "$log") >/tmp/qzo-report-$$.diff; then
    echo "ok   $report"
  else
    echo "FAIL $report differs from 'qzo report $log':"
    head -40 /tmp/qzo-report-$$.diff
    status=1
  fi
  checked=$((checked + 1))
  rm -f /tmp/qzo-report-$$.diff
done
echo "$checked committed reports checked"
exit $status
