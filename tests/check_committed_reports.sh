#!/usr/bin/env bash
# Every committed report (docs/results/<name>/report.md) is what `qzo report` prints for its
# committed log (docs/results/<name>/<name>.h5), byte for byte, docs/results/memory/report.md
# what `qzo memory --report` prints for its committed records (docs/results/memory/records/),
# and docs/results/perplexity/report.md what `qzo quantize --report` prints for its records;
# a results folder without its log fails. Table rows quoted in README.md and docs/results/*/README.md between
# `<!-- from docs/results/<name>/report.md -->` and `<!-- end -->` must each be a line of that
# report, so no quoted number is typed by hand. Usage: check_committed_reports.sh QZO_BINARY SOURCE_DIR
set -euo pipefail
shopt -s nullglob
qzo=$1 root=$2
status=0 checked=0
diff_file=$(mktemp)
trap 'rm -f "$diff_file"' EXIT
# In a checkout, only the committed reports (a sweep still writing an untracked folder is not
# a result yet); elsewhere every report found.
reports=()
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while IFS= read -r f; do reports+=("$root/$f"); done < <(git -C "$root" ls-files 'docs/results/*/report.md')
else
  reports=("$root"/docs/results/*/report.md)
fi
for report in "${reports[@]}"; do
  dir=$(dirname "$report") name=$(basename "$(dirname "$report")")
  # A sweep's report comes from its HDF5 log; the memory report (docs/results/memory/) from
  # bench_memory_at_scale's JSON records.
  if [ "$name" = memory ] || [ "$name" = perplexity ]; then
    log="$dir/records"
    if [ "$name" = memory ]; then generate=(memory --report "$dir/records"); else generate=(quantize --report "$dir/records"); fi
    records=("$log"/*.json)
    [ ${#records[@]} -gt 0 ] || log="$dir/records/*.json"
  else
    log="$dir/$name.h5" generate=(report "$log")
  fi
  if [ ! -e "$log" ]; then
    echo "FAIL $report: no committed log $log"
    status=1
    continue
  fi
  if diff -u "$report" <("$qzo" "${generate[@]}") >"$diff_file"; then
    echo "ok   $report"
  else
    echo "FAIL $report differs from 'qzo ${generate[*]}':"
    head -40 "$diff_file"
    status=1
  fi
  checked=$((checked + 1))
done
echo "$checked committed reports checked"

# Quoted rows: every non-empty line inside a from/end block is a line of the named report.
for doc in "$root"/README.md "$root"/docs/results/*/README.md; do
  [ -f "$doc" ] || continue
  source="" line_no=0
  while IFS= read -r line || [ -n "$line" ]; do
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
