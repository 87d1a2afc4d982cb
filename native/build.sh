#!/usr/bin/env bash
# Builds build/native/libelbo4j.so: the C ABI of native/include/elbo4j.h with the kernels it
# launches (kernels/latent.cu, kernels/likelihood.cu, included by native/src/elbo4j_capi.cu), for
# the fatbin's targets (SASS sm_80/86/89/90, PTX compute_90). The CUDA runtime is linked statically
# (nvcc's default, libcudart_static.a), so the library needs only libcuda.so.1 (the driver) at run
# time. Without nvcc it says so and exits 0, as scripts/build-kernels.sh does.
#
# Environment: NVCC (default: nvcc on PATH, else $CUDA_HOME/bin/nvcc, /usr/local/cuda/bin/nvcc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/native"

nvcc="${NVCC:-}"
if [ -z "$nvcc" ]; then
  for c in "$(command -v nvcc 2>/dev/null || true)" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc; do
    if [ -n "$c" ] && [ -x "$c" ]; then nvcc="$c"; break; fi
  done
fi
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
  echo "build-native: nvcc not found (set NVCC, CUDA_HOME or PATH); skipping libelbo4j.so." >&2
  exit 0
fi

mkdir -p "$out"
start=$(date +%s)
"$nvcc" -shared -Xcompiler -fPIC -Xcompiler -fvisibility=hidden -O3 -lineinfo --std=c++17 -Werror all-warnings \
  -cudart static \
  -I"$root/native/include" -I"$root/kernels" \
  -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
  -gencode arch=compute_89,code=sm_89 -gencode "arch=compute_90,code=[sm_90,compute_90]" \
  -Xlinker -soname=libelbo4j.so -Xlinker -z,noexecstack \
  "$root/native/src/elbo4j_capi.cu" -o "$out/libelbo4j.so.tmp"
mv "$out/libelbo4j.so.tmp" "$out/libelbo4j.so"
echo "build-native: $out/libelbo4j.so ($(stat -c %s "$out/libelbo4j.so") bytes, $(( $(date +%s) - start )) s, $("$nvcc" --version | tail -1))"
