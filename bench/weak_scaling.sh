#!/usr/bin/env bash
# Weak scaling of data-parallel QZO: the per-rank batch and threads stay fixed while ranks
# are added, so ideal step time is flat. Prints ms/step, tokens/s and efficiency
# t(1 rank) / t(P ranks) from each run's summary.json.
#   bench/weak_scaling.sh [max_ranks=2] [per_rank_batch=8] [steps=60] [threads_per_rank=1] [perturbations=2]
# (perturbations per step: the quickstart's 2 by default; 1 halves the compute per step, so
# fixed costs weigh twice as much.)
set -euo pipefail
cd "$(dirname "$0")/.."
max=${1:-2} per_rank=${2:-8} steps=${3:-60} threads=${4:-1} perturbations=${5:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "%-6s %-8s %10s %12s %11s %14s\n" ranks batch "ms/step" "tokens/s" efficiency "bytes/step"
base=""
for ((np = 1; np <= max; np *= 2)); do
  launch/mpirun.sh -n "$np" -- train configs/quickstart.yaml --comm "$([ "$np" = 1 ] && echo local || echo mpi)" \
    --set optim.steps="$steps" --set optim.batch_size=$((per_rank * np)) --set threads="$threads" \
    --set method.n_perturbations="$perturbations" \
    --set task.n_dev=0 --set task.n_eval=16 --set eval.zero_shot=false --set log.interval=1000 \
    --set log.dir="$out" --set log.name="np$np" >/dev/null
  python3 - "$out/np$np/summary.json" "$np" "$per_rank" "${base:-0}" <<'PY' | tee -a "$out/table"
import json, sys
s = json.load(open(sys.argv[1])); np_, b, base = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ms = s["ms_per_step"]; eff = (base / ms) if base else 1.0
print(f"{np_:<6} {b*np_:<8} {ms:10.1f} {s['tokens_per_second']:12.0f} {eff:10.2f}x {s['bytes_reduced_per_step']:14.0f}")
PY
  [ -z "$base" ] && base=$(python3 -c "import json;print(json.load(open('$out/np1/summary.json'))['ms_per_step'])")
done
