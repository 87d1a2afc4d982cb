#!/usr/bin/env bash
# Compiles kernels/*.cu into one fatbin, build/kernels/elbo4j.fatbin: SASS for sm_80, sm_86,
# sm_89 and sm_90 plus PTX for compute_90 (JIT-compiled by the driver on newer GPUs). The CUDA
# backend loads it from the classpath (dev/elbo4j/kernels/elbo4j.fatbin); no GPU is needed to
# build it.
#
# Usage: scripts/build-kernels.sh            build the fatbin (warnings are errors)
#        scripts/build-kernels.sh --each     also compile every .cu alone (self-contained, warning-free)
#        scripts/build-kernels.sh --verbose  also print ptxas register / spill reports
#        scripts/build-kernels.sh --selftest also build and run kernels/test/*.cu on the host (no GPU):
#                                            the generator of common.cuh against Random123 and Java
#
# The same compile writes ptxas's sm_90 resource usage of every entry point (registers per thread,
# static shared memory, local memory) to kernels/sm_90.resources, a committed table: the CPU
# emulator (scripts/build-emu.sh) holds every launch to it and answers cuFuncGetAttribute and
# cuOccupancyMaxActiveBlocksPerMultiprocessor from it, and bench/traffic.py takes occupancy from it.
# A kernel change that moves a figure shows up in `git diff`.
# Environment: NVCC (the compiler; default: nvcc on PATH, else $CUDA_HOME/bin/nvcc,
#              /usr/local/cuda/bin/nvcc).
#
# Without nvcc it says so and exits 0, writing nothing: the CPU backend builds and runs without
# kernels, and the CUDA backend then reports that this build has none.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src="$root/kernels"
out_dir="$root/build/kernels"
out="$out_dir/elbo4j.fatbin"

each=0
verbose=0
selftest=0
for arg in "$@"; do
  case "$arg" in
    --each) each=1 ;;
    --verbose) verbose=1 ;;
    --selftest) selftest=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-kernels: unknown option '$arg' (known: --each, --verbose, --selftest)" >&2; exit 2 ;;
  esac
done

nvcc="${NVCC:-}"
if [ -z "$nvcc" ]; then
  for c in "$(command -v nvcc 2>/dev/null || true)" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc; do
    if [ -n "$c" ] && [ -x "$c" ]; then nvcc="$c"; break; fi
  done
fi
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
  if [ -n "$nvcc" ]; then
    echo "build-kernels: NVCC=$nvcc is not an executable; skipping the CUDA kernels." >&2
  else
    echo "build-kernels: nvcc not found (set NVCC, CUDA_HOME or PATH); skipping the CUDA kernels." >&2
  fi
  echo "build-kernels: the CPU backend is unaffected; the CUDA backend will report that this build has no kernels." >&2
  exit 0
fi

gencode=(
  -gencode arch=compute_80,code=sm_80
  -gencode arch=compute_86,code=sm_86
  -gencode arch=compute_89,code=sm_89
  -gencode "arch=compute_90,code=[sm_90,compute_90]"
)
# -O3 -lineinfo: full optimisation with source lines for Nsight Compute and compute-sanitizer.
# No --use_fast_math: the kernels rely on IEEE division, square root and denormals for parity
# with the Java reference. -Werror all-warnings: a warning fails the build.
flags=(-O3 -lineinfo --std=c++17 -Werror all-warnings "-I$src")
if [ "$verbose" = 1 ]; then flags+=(-Xptxas -v); fi

sources=()
while IFS= read -r f; do sources+=("$f"); done < <(cd "$src" && ls -1 *.cu | LC_ALL=C sort)
if [ "${#sources[@]}" -eq 0 ]; then
  echo "build-kernels: no kernels/*.cu found" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$selftest" = 1 ]; then
  for t in "$src"/test/*.cu; do
    [ -e "$t" ] || continue
    exe="$tmp/$(basename "${t%.cu}")"
    "$nvcc" --std=c++17 -O2 -Werror all-warnings -arch=sm_80 "-I$src" "$t" -o "$exe"
    "$exe"
  done
fi

if [ "$each" = 1 ]; then
  for f in "${sources[@]}"; do
    "$nvcc" -cubin "${flags[@]}" -arch=sm_90 "$src/$f" -o "$tmp/${f%.cu}.cubin"
    echo "build-kernels: $f compiles alone, no warnings"
  done
fi

# One translation unit (nvcc -fatbin takes a single input): a file that includes every .cu, kept
# outside the repository. Entry points are extern "C" and prefixed elbo4j_, helpers are static.
unit="$tmp/elbo4j_kernels.cu"
for f in "${sources[@]}"; do echo "#include \"$src/$f\""; done > "$unit"

mkdir -p "$out_dir"
start=$(date +%s%N)
"$nvcc" -fatbin "${flags[@]}" --resource-usage "${gencode[@]}" "$unit" -o "$tmp/elbo4j.fatbin" 2> "$tmp/ptxas.log" \
  || { cat "$tmp/ptxas.log" >&2; exit 1; }
if [ "$verbose" = 1 ]; then cat "$tmp/ptxas.log"; fi
mv "$tmp/elbo4j.fatbin" "$out"
# ptxas prints, per entry point and target: "Compiling entry function 'NAME' for 'sm_90'", then
# "N bytes stack frame, ...", then "Used R registers, ..., S bytes smem, ...". Keep sm_90's.
awk '
  /Compiling entry function/ { match($0, /\047[^\047]+\047 for \047sm_[0-9]+\047/); split(substr($0, RSTART, RLENGTH), q, "\047");
                               name = q[2]; arch = q[4]; stack = 0; next }
  /bytes stack frame/        { stack = $1; next }
  /Used [0-9]+ registers/ && arch == "sm_90" && name != "" {
      regs = 0; smem = 0
      for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^registers/) regs = $i; if ($(i+2) ~ /^smem/) smem = $i }
      print name "\t" regs "\t" smem "\t" stack; name = "" }
' "$tmp/ptxas.log" | LC_ALL=C sort > "$tmp/resources"
if [ ! -s "$tmp/resources" ]; then echo "build-kernels: no sm_90 resource usage in ptxas's report" >&2; exit 1; fi
{
  echo "# sm_90 resource usage of every kernels/*.cu entry point, from ptxas (scripts/build-kernels.sh; do not edit)."
  echo "# $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/nvcc \1/p')"
  printf '# kernel\tregisters/thread\tstatic shared bytes\tlocal (stack) bytes/thread\n'
  cat "$tmp/resources"
} > "$src/sm_90.resources"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'build-kernels: %s (%s bytes from %s files in %d.%d s, %s)\n' "${out#"$root"/}" "$(stat -c %s "$out")" \
  "${#sources[@]}" $((ms / 1000)) $((ms % 1000 / 100)) "$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/nvcc \1/p')"
