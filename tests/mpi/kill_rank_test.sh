#!/usr/bin/env bash
# One rank SIGKILLed mid-run under mpirun (docs/faults.md): the job ends within 60 s with a
# message naming the rank, the last checkpoint stays a valid checkpoint (the rerun loads it),
# and the rerun ends with the state hash of an uninterrupted run.
# usage: kill_rank_test.sh MPIEXEC QZO_BINARY SOURCE_DIR
set -euo pipefail
mpiexec=$1 qzo=$2 src=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/qzo-kill-rank.XXXXXX")
trap 'rm -rf "$work"' EXIT

train() {  # train NAME: 2 ranks, 8 steps of batch 8, a checkpoint every 2 steps (timeout 90 s)
  local name=$1; shift
  timeout 90 "$mpiexec" -np 2 --oversubscribe -x QZO_TEST_KILL_RANK -x QZO_TEST_KILL_AFTER_STEP \
    "$qzo" train "$src/configs/quickstart.yaml" \
    --set "model.path=$src/models/qzo-tiny" --set optim.steps=8 --set method.n_perturbations=1 \
    --set optim.batch_size=8 --set task.n_train=64 --set task.n_dev=0 --set task.n_eval=8 \
    --set eval.zero_shot=false --set log.interval=1 --set log.checkpoint_interval=2 --set threads=1 \
    --set "log.dir=$work/runs" --set "log.name=$name" "$@"
}
state_hash() { sed -n 's/.*"state_hash": "\([0-9a-f]*\)".*/\1/p' "$work/runs/$1/summary.json"; }
fail() { echo "kill_rank_test: FAIL: $*" >&2; exit 1; }

export QZO_TEST_KILL_RANK= QZO_TEST_KILL_AFTER_STEP=
train straight > "$work/straight.out" 2>&1 || { cat "$work/straight.out"; fail "the uninterrupted run failed"; }
straight=$(state_hash straight)
[[ -n $straight ]] || fail "no state_hash in the uninterrupted run's summary.json"

# Rank 1 raises SIGKILL once step 5 is done; the checkpoint of step 4 is on disk.
start=$(date +%s)
set +e
QZO_TEST_KILL_RANK=1 QZO_TEST_KILL_AFTER_STEP=5 train killed > "$work/killed.out" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - start ))
cat "$work/killed.out"
(( status != 0 )) || fail "the job with a killed rank exited 0"
(( status != 124 )) || fail "the job with a killed rank still ran after 90 s"
(( elapsed <= 60 )) || fail "the job took ${elapsed} s to end (at most 60 s)"
grep -q "rank 1" "$work/killed.out" || fail "no message names rank 1"
grep -q "signal 9" "$work/killed.out" || fail "no message names the signal"
[[ -f $work/runs/killed/checkpoint.safetensors ]] || fail "no checkpoint left by the killed run"
[[ ! -e $work/runs/killed/summary.json ]] || fail "the killed run wrote a summary"

train killed > "$work/rerun.out" 2>&1 || { cat "$work/rerun.out"; fail "the rerun failed"; }
grep -q "resumed from .*checkpoint.safetensors at step 4" "$work/rerun.out" || { cat "$work/rerun.out"; fail "the rerun did not resume at step 4"; }
rerun=$(state_hash killed)
[[ $rerun == "$straight" ]] || fail "the rerun's state hash $rerun differs from the uninterrupted run's $straight"
echo "kill_rank_test: ok: job ended ${elapsed} s after start (exit $status), rerun resumed at step 4, state hash $rerun"
