#!/usr/bin/env bash
# Runs the CUDA test suite with plain java and JUnit's console launcher, from a gpu-bundle folder
# (make gpu-bundle) on a host without Maven; results under $1 (default: ./results).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/results}
mkdir -p "$out"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true; } > "$out/gpu.txt"
cp=$(ls "$here"/lib/*.jar | grep -v junit-platform-console | tr '\n' ':')
java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m \
     -Delbo4j.gpu.required=true -Delbo4j.resources="$here/sm_90.resources" \
     -jar "$here/lib/junit-platform-console-standalone-1.11.4.jar" execute \
     -cp "$cp" --select-package dev.elbo4j.backend.cuda \
     --details=tree --reports-dir "$out/junit" 2>&1 | tee "$out/gpu-suite.txt"
