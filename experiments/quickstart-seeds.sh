#!/usr/bin/env bash
# QZO (int4 g32) vs MeZO (fp32) on spam, 3 seeds each, same 1000 eval emails; prints each
# run's summary line. Zero-shot is each run's "before" column (the same eval set).
#   experiments/quickstart-seeds.sh [runs_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/quickstart-seeds}
mpi=(mpirun --oversubscribe -np 2)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
for seed in 0 1 2; do
  "${mpi[@]}" build/qzo train configs/quickstart.yaml --set seed=$seed --set log.dir="$runs" | tail -4
  "${mpi[@]}" build/qzo train configs/quickstart.yaml --set seed=$seed --set log.dir="$runs" \
    --set method.name=mezo --set quant.method=none | tail -4
done
