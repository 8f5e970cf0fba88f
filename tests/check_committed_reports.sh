#!/usr/bin/env bash
# Every committed report (docs/results/<name>/report.md) is what `qzo report` prints for its
# committed log (docs/results/<name>/<name>.h5), byte for byte; a results folder without its
# log fails. Table rows quoted in README.md and docs/results/*/README.md between
# `<!-- from docs/results/<name>/report.md -->` and `<!-- end -->` must each be a line of that
# report, so no quoted number is typed by hand. Usage: check_committed_reports.sh QZO_BINARY SOURCE_DIR
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

# Quoted rows: every non-empty line inside a from/end block is a line of the named report.
for doc in "$root"/README.md "$root"/docs/results/*/README.md; do
  [ -f "$doc" ] || continue
  source="" line_no=0
  while IFS= read -r line; do
    line_no=$((line_no + 1))
    if [[ "$line" =~ ^\<\!--\ from\ ([^ ]+)\ --\>$ ]]; then source="$root/${BASH_REMATCH[1]}"; continue; fi
    if [[ "$line" == "<!-- end -->" ]]; then source=""; continue; fi
    [ -n "$source" ] && [ -n "$line" ] || continue
    if [ ! -f "$source" ]; then
      echo "FAIL $doc:$line_no: quotes ${source#$root/}, which does not exist"; status=1
    elif ! grep -qxF -- "$line" "$source"; then
      echo "FAIL $doc:$line_no: not a line of ${source#$root/}: $line"; status=1
    fi
  done <"$doc"
done
exit $status
