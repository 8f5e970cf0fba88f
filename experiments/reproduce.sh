#!/usr/bin/env bash
# Reruns every committed experiment from scratch, in the order their choices depend on, into
# a fresh folder, and compares each regenerated report's metric tables with the committed one.
#   experiments/reproduce.sh [OUT_DIR]      # default runs/reproduce-<date>; about 3 hours on 2 cores
#   QZO_RANKS=4 experiments/reproduce.sh    # ranks per sweep (default 2)
# Scores are deterministic: at 2 ranks the same machine type reruns them bit for bit (another
# rank count changes the order of the loss reductions, so the last bits of d differ); step
# times and memory peaks are the machine's. The spam and fine-foods prompts (configs/tasks/)
# are the winners of the two prompt sweeps, chosen on dev (docs/tasks.md); the later sweeps
# use the committed prompt files, and the prompt sweeps' diffs show whether the rerun agrees.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/reproduce-$(date +%Y%m%d-%H%M%S)}
[ -e "$out" ] && { echo "reproduce: $out exists; name a new folder" >&2; exit 2; }
mkdir -p "$out"
launch/setup.sh
experiments=(prompt-spam prompt-fine-foods quickstart methods fine-foods ddc-ablation quantizer-ablation)
# The sweep files of each experiment's one log: the methods table's backprop baselines have
# their own file (its keys would rename methods.yaml's runs), logged into the same file.
sweeps_of() {
  case "$1" in
    methods) echo "methods methods-backprop" ;;
    quantizer-ablation) echo "quantizer-ablation quantizer-ablation-multiplicative" ;;
    *) echo "$1" ;;
  esac
}
for name in "${experiments[@]}"; do
  echo "reproduce: $name"
  for sweep in $(sweeps_of "$name"); do
    launch/mpirun.sh -n "${QZO_RANKS:-2}" -- sweep "experiments/$sweep.yaml" --out "$out/$name.h5" \
      --set log.dir="$out/runs" >>"$out/$name.log" 2>&1 || { tail -20 "$out/$name.log"; exit 1; }
  done
  build/qzo report "$out/$name.h5" --out "$out/$name.md"
  # The metric table only: times and memory are the machine's, not the result's.
  committed="docs/results/$name/report.md"
  if [ -f "$committed" ]; then
    if diff <(sed -n '/^## Final metric/,/^## /p' "$committed" | sed 1d) \
            <(sed -n '/^## Final metric/,/^## /p' "$out/$name.md" | sed 1d) >"$out/$name.diff"; then
      echo "reproduce: $name: metric table identical to $committed"
    else
      echo "reproduce: $name: metric table differs from $committed (see $out/$name.diff)"
    fi
  fi
done
# The perplexity table (docs/results/perplexity/): every quantizer of `qzo quantize --sweep` on
# the default model's held-out emails; perplexities are deterministic, seconds the machine's.
echo "reproduce: perplexity"
build/qzo quantize --model models/qzo-tiny --sweep --records "$out/perplexity/records" >"$out/perplexity.log" 2>&1 ||
  { tail -20 "$out/perplexity.log"; exit 1; }
build/qzo quantize --report "$out/perplexity/records" --out "$out/perplexity.md"
# The memory records (docs/results/memory/): one step each at Llama-2 7B/13B shapes on the CPU
# (MeZO's bf16 7B needs about 16 GB); the allocator's peaks are deterministic, RSS and seconds
# the machine's.
echo "reproduce: memory"
mkdir -p "$out/memory/records"
for shape_method in "7b qzo" "13b qzo" "7b mezo" "7b qlora" "13b qlora"; do
  read -r shape method <<<"$shape_method"
  build/bench_memory_at_scale --model "$shape" --method "$method" \
    --out "$out/memory/records/llama-2-$shape-$method.json" >>"$out/memory.log" 2>&1 || { tail -20 "$out/memory.log"; exit 1; }
done
build/qzo memory --report "$out/memory/records" --out "$out/memory.md"
echo "reproduce: logs, reports and diffs in $out"
