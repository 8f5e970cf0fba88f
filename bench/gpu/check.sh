#!/usr/bin/env bash
# The GPU session's one call: build the kit, run the CUDA-vs-CPU parity tests, bench_gpu at
# Llama-2 7B and 13B shapes, the PyTorch reference, and print one combined table.
#
# From the session (run bench/gpu/pack.sh here first if build-gpu-kit/ is missing):
#   run(command="bench/gpu/check.sh", carry=["build-gpu-kit"], timeout_s=540)
# then give_back() unless rerunning at once. Expected ~6 min; machine start-up is extra.
#
# Every stage runs under `timeout` within an overall budget (CHECK_BUDGET_S, default 480 s, so
# that the run's 540 s leave room to copy $OUT back); a failing stage is recorded and the next
# one runs. Logs and summary.md go to $OUT (or build-gpu/check-out when $OUT is unset).
# Stages: configure, build (ninja -k 0), parity (qzo_parity_tests), bench_tiny (--vs-cpu:
# whole-model CUDA-vs-CPU losses), bench_7b, torch_7b, bench_13b, torch_13b.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-build-gpu/check-out}"
mkdir -p "$out/logs"
budget="${CHECK_BUDGET_S:-480}"
jobs="$(nproc 2>/dev/null || echo 8)"
t_start=$SECONDS
declare -a stage_rows=()

# run_stage NAME LIMIT_S CMD...: the command's output in $out/logs/NAME.log, its status kept.
run_stage() {
  local name="$1" limit="$2"
  shift 2
  local left=$((budget - (SECONDS - t_start)))
  if ((left < 15)); then
    stage_rows+=("| $name | skipped (budget spent) | 0 |")
    echo "== $name: skipped, ${left}s of the budget left"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit}s)"
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" >"$out/logs/$name.log" 2>&1
  rc=$?
  local took=$((SECONDS - t0)) status="ok"
  if ((rc == 124 || rc == 137)); then status="TIMED OUT"; elif ((rc != 0)); then status="FAILED (rc $rc)"; fi
  stage_rows+=("| $name | $status | $took |")
  echo "   $status in ${took}s"
  tail -n 4 "$out/logs/$name.log" | sed 's/^/   | /'
  return $rc
}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  echo "nvcc: $(nvcc --version 2>&1 | tail -n 1)"
  echo "cmake: $(cmake --version | head -n 1)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo 'n/a (not a git checkout)')"
} | tee "$out/logs/machine.log"

[[ -f build-gpu-kit/include/nlohmann/json.hpp ]] ||
  echo "warning: build-gpu-kit/ was not carried (run bench/gpu/pack.sh and carry [\"build-gpu-kit\"])"

# -k 0: a target that fails to compile does not stop the others; binaries of an earlier call
# on a warm machine are removed first so that a failed link cannot leave a stale one to run.
rm -f build-gpu/bench_gpu build-gpu/qzo_parity_tests
if run_stage configure 90 cmake -S bench/gpu -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES=90; then
  grep -E "qzo kit" "$out/logs/configure.log" | sed 's/^/   /'
  run_stage build 240 ninja -C build-gpu -k 0 -j "$jobs"
fi

if [[ -x build-gpu/qzo_parity_tests ]]; then
  run_stage parity 150 build-gpu/qzo_parity_tests --gtest_color=no
else
  stage_rows+=("| parity | not built (see configure.log, build.log) | 0 |")
fi

bench() {  # bench NAME LIMIT ARGS...
  local name="$1" limit="$2"
  shift 2
  if [[ -x build-gpu/bench_gpu ]]; then
    run_stage "$name" "$limit" build-gpu/bench_gpu "$@"
  else
    stage_rows+=("| $name | not built (see build.log) | 0 |")
  fi
}
torch_ref() {  # torch_ref NAME LIMIT MODELS
  run_stage "$1" "$2" python3 bench/gpu/torch_qzo_step.py --models "$3" --no-header
}

# A tiny model first: the whole-model CUDA-vs-CPU loss check, and a quick sign of life.
bench bench_tiny 60 --backend cuda --tiny --vs-cpu --no-header
# 7B next, both implementations, so that a short budget still yields a comparison.
bench bench_7b 150 --backend cuda --model 7b
torch_ref torch_7b 150 7b
bench bench_13b 180 --backend cuda --model 13b --no-header
torch_ref torch_13b 180 13b

# ---- the summary
summary="$out/summary.md"
{
  echo "# GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  sed 's/^/    /' "$out/logs/machine.log"
  echo
  echo "| stage | status | seconds |"
  echo "|---|---|---|"
  printf '%s\n' "${stage_rows[@]}"
  echo
  if [[ -f "$out/logs/build.log" ]] && grep -qE 'error|FAILED:' "$out/logs/build.log"; then
    echo "build errors (first 12 lines; logs/build.log):"
    grep -E 'error|FAILED:' "$out/logs/build.log" | head -n 12 | sed 's/^/    /'
    echo
  fi
  if [[ -f "$out/logs/parity.log" ]]; then
    echo "parity: $(grep -E '^\[  PASSED  \]|^\[  FAILED  \]|^\[  SKIPPED \] [0-9]' "$out/logs/parity.log" | tr '\n' ' ')"
    grep -E '^\[  FAILED  \] [A-Za-z]' "$out/logs/parity.log" | sed 's/^/    /'
    grep -m 1 -A 1 'Skipped$' "$out/logs/parity.log" | tail -n 1 | sed 's/^/    first skip: /'
    echo
  fi
  [[ -f "$out/logs/bench_tiny.log" ]] && grep -hE '^vs-cpu' "$out/logs/bench_tiny.log" && echo
  grep -hE '^# bench_gpu|^peak' "$out"/logs/bench_7b.log "$out"/logs/bench_13b.log 2>/dev/null | head -n 2
  grep -hE '^peak torch' "$out"/logs/torch_*.log 2>/dev/null | head -n 1
  echo
  echo "| model | impl | batch | fwd ms | step ms | step/fwd | fwd TFLOP/s | MFU | step tok/s | weights GB | trainable GB | activations GB | workspace GB | peak GB | steady GB | device GB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for log in bench_tiny bench_7b torch_7b bench_13b torch_13b; do
    [[ -f "$out/logs/$log.log" ]] && grep -hE '^\| (llama|tiny)' "$out/logs/$log.log"
  done
  echo
  echo "Goals: step/fwd <= 2.1; peak GB <= 4.5 (7B), <= 8 (13B)."
  for log in bench_tiny bench_7b torch_7b bench_13b torch_13b; do
    [[ -f "$out/logs/$log.log" ]] && grep -hE '^notes' "$out/logs/$log.log" | sed 's/^/- /'
  done
  echo
  echo "total: $((SECONDS - t_start)) s of a ${budget} s budget"
} >"$summary"
echo
cat "$summary"
