#!/usr/bin/env bash
# Runs the GPU test suite (package dev.elbo4j.backend.cuda: CudaParityTest, AutoencoderParityTest,
# CudaRbmParityTest, CudaTrainingParityTest, InteropParityTest, ...) on the CPU emulator of a CUDA
# device (scripts/build-emu.sh; kernels/README.md, "Emulated device"): no GPU and no nvcc needed. The
# backend opens build/emu/libcuda.so.1 and build/emu/libcublas.so.13 instead of the system's, loads
# the header-only build/emu/emu.fatbin (the emulator runs its own g++ build of kernels/*.cu), and
# -Delbo4j.gpu.required=true makes a backend that fails to open a failure rather than a skip.
#
# Usage: scripts/test-emu.sh [TEST]   TEST: a surefire -Dtest pattern over the core and CLI modules (default: the
#                                     whole package dev.elbo4j.backend.cuda and CudaCliEmuTest, the CLI on the device),
#                                     e.g. CudaParityTest or 'CudaParityTest#adam*'
# The device names itself "elbo4j CPU emulator (not a GPU)" in every backend description.
# Kernels' transcendentals return glibc's result moved by up to CUDA's documented ulp error
# (kernels/emu/cuda_math_emu.h); ELBO4J_EMU_MATH=glibc for glibc's own, ELBO4J_EMU_MATH_SCALE=8 for 8 times the error.
# ELBO4J_EMU_RACE=1: the race-checking build (build/emu-race/, scripts/build-emu.sh --race) instead; a
# race in a kernel fails its launch (CUDA_ERROR_LAUNCH_FAILED, the two accesses on stderr). Slower.
# ELBO4J_EMU_REVERSE=1: blocks, threads between barriers and a graph's ready branches in reverse order.
# ELBO4J_EMU_ASYNC=1: each stream's work queued until the host waits for it (kernels/README.md,
# "Asynchronous streams"). The summary line names the modes set.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
emu=build/emu
race=0
if [ -n "${ELBO4J_EMU_RACE:-}" ] && [ "${ELBO4J_EMU_RACE}" != 0 ]; then
  emu=build/emu-race
  race=1
  scripts/build-emu.sh --race --selftest  # the checker's own cases: both schedules
else
  scripts/build-emu.sh --selftest  # the grid runner and the capture graph: both schedules
fi
test=${1:-'dev.elbo4j.backend.cuda.**,CudaCliEmuTest'}
# JCuda's JNI libraries (JCudaParityTest, InteropParityTest) find libcuda.so.1 by soname.
marker=$(mktemp)
coverage=$(mktemp)
trap 'rm -f "$marker" "$coverage"' EXIT
[ "$race" = 0 ] || export ELBO4J_EMU_RACE_LOG="$coverage"  # the race build appends "kernel launches accesses" at each JVM's exit
status=0
LD_LIBRARY_PATH="$root/$emu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" scripts/mvn.sh -q -o verify -pl java/core,java/cli \
  -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
  -Delbo4j.libcuda="$root/$emu/libcuda.so.1" -Delbo4j.cublas="$root/$emu/libcublas.so.13" \
  -Delbo4j.cublaslt.library="$root/$emu/libcublasLt.so.13" \
  -Delbo4j.kernels="$root/$emu/emu.fatbin" -Delbo4j.gpu.required=true || status=$?
modes=()
on() { [ -n "${1:-}" ] && [ "$1" != 0 ]; }
on "${ELBO4J_EMU_REVERSE:-}" && modes+=("reverse order")
on "${ELBO4J_EMU_ASYNC:-}" && modes+=("asynchronous streams")
label="emulated device"
[ ${#modes[@]} = 0 ] || label="$label ($(IFS=,; echo "${modes[*]}" | sed 's/,/, /g'))"
scripts/test-summary.sh --newer "$marker" "$label:"
if [ "$race" = 1 ]; then
  all=$(grep -c EMU_KERNEL "$emu/src/emu_registry.inc")
  awk -v all="$all" '{ l[$1] += $2; a[$1] += $3 } END {
      n = 0; L = 0; A = 0; for (k in l) { n++; L += l[k]; A += a[k] }
      printf "race checker: %d launches of %d of the %d kernels, %.0f accesses checked\n", L, n, all, A }' "$coverage"
  missed=$(cut -d' ' -f1 "$coverage" | sort -u | comm -13 - <(sed -nE 's/.*EMU_KERNEL\(([A-Za-z0-9_]+),.*/\1/p' "$emu/src/emu_registry.inc" | sort))
  [ -z "$missed" ] || echo "race checker: not launched: $(echo $missed)"
fi
exit $status
