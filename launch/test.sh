#!/usr/bin/env bash
# Sets up (packages, npm data, build) and runs every test suite through ctest, then the unit
# suite once more under AddressSanitizer + UndefinedBehaviorSanitizer (a CPU-only build in
# build-asan/; QZO_SANITIZE=0 skips it; the MPI suites stay uninstrumented, as OpenMPI is).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
# One test at a time: two test processes of 2 OpenMP threads each on a 2-core machine turn
# millisecond tests of many tiny parallel regions into minutes (LoraGradient: 0.1 s alone,
# 290 s beside another), so parallel ctest is slower than serial here.
(cd build && OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --output-on-failure -j1)
if [ "${QZO_SANITIZE:-1}" = 1 ]; then
  sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  # -O1 -g1 (line tables: reports still name file and line) compiles 2.6x faster than
  # RelWithDebInfo's -O2 -g, which kept the whole run near CI's 20-minute budget.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE= -DQZO_CUDA=OFF \
    -DCMAKE_CXX_FLAGS="-O1 -g1 $sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  if ! cmake --build build-asan --target qzo_tests -j"$(nproc)" >build-asan/build.log 2>&1; then
    cat build-asan/build.log
    exit 1
  fi
  echo "test: the unit suite under ASan + UBSan"
  OMP_NUM_THREADS=2 build-asan/tests/qzo_tests --gtest_filter='-*Benchmark*' --gtest_brief=1
fi
