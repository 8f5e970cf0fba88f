#!/usr/bin/env bash
# Packs what the GPU machine lacks and the kit needs into build-gpu-kit/ (git-ignored, carried
# to the device with run's carry: ["build-gpu-kit"]): nlohmann-json's headers and GoogleTest's
# sources (built there by bench/gpu/CMakeLists.txt). Run here, where nlohmann-json3-dev and
# googletest are installed. Fails if the result would not fit the 64 MiB carry limit.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kit="$root/build-gpu-kit"
nlohmann=/usr/include/nlohmann
gtest=/usr/src/googletest/googletest

for need in "$nlohmann/json.hpp" "$gtest/src/gtest-all.cc" "$gtest/include/gtest/gtest.h"; do
  [[ -e "$need" ]] || { echo "pack.sh: $need not found (apt-get install nlohmann-json3-dev googletest)" >&2; exit 1; }
done

rm -rf "$kit"
mkdir -p "$kit/include" "$kit/googletest"
cp -r "$nlohmann" "$kit/include/"
# gtest-all.cc includes every src/*.cc; the headers are under include/.
cp -r "$gtest/include" "$gtest/src" "$kit/googletest/"
cp /usr/share/doc/googletest/copyright "$kit/googletest/COPYRIGHT" 2>/dev/null || true
cp /usr/share/doc/nlohmann-json3-dev/copyright "$kit/include/nlohmann/COPYRIGHT" 2>/dev/null || true

bytes=$(du -sb "$kit" | cut -f1)
limit=$((64 * 1024 * 1024))
if (( bytes > limit )); then
  echo "pack.sh: $kit is $bytes bytes, over the 64 MiB carry limit" >&2
  exit 1
fi
echo "pack.sh: $kit ready ($((bytes / 1024)) KiB: include/nlohmann, googletest/{include,src})"
