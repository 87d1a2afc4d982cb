#!/usr/bin/env bash
# Rehearses the two prepared GPU calls without a GPU (make gpu-rehearsal; docs/GPU.md, "The GPU
# check"): each call's script runs end to end as the device tool would run it, from a copy of what
# the tool uploads (the repository's tracked and untracked-not-ignored files, .device and the call's
# bundle folders), with the packed JRE (not this machine's JDK), under `timeout 600`, against the CPU
# emulator of the device (build/emu: -Delbo4j.libcuda/cublas/kernels through JAVA_TOOL_OPTIONS, which
# every JVM of the calls reads, JMH's forks included) and with Debian's PyTorch on the CPU as the peer.
# compute-sanitizer is not installed here: rehearsal/compute-sanitizer stands in (it checks nothing).
#
# The emulator runs kernels about a thousand times slower than a GPU, so the rehearsal shrinks what
# the calls' settings let it shrink (the training run, the benchmark sizes; see REHEARSAL_* below):
# the scripts, paths, timeouts, budget, skips, summaries and packing are the same.
#
# Then it checks, outside the calls, which kernels of kernels/sm_90.resources the sanitizer subset
# (call1.sh's SANITIZE) launches (the emulator's launch trace), within COVERAGE_TIMEOUT_S.
#
# Usage: scripts/gpu-check/rehearse.sh [LOG_DIR] [CALLS]   (defaults: bench/results/gpu-rehearsal-<UTC date>,
#                                                          or with the next free letter after it; "1 2 coverage")
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
if [ -n "${1:-}" ]; then
  logs=$1
else
  # The day's folder, or the next free b, c, ...: an earlier rehearsal's committed logs are never overwritten.
  logs=bench/results/gpu-rehearsal-$(date -u +%Y%m%d)
  for s in "" b c d e f g h i j k l m n o p q r s t u v w x y z; do
    [ -e "$logs$s" ] || { logs=$logs$s; break; }
  done
  [ ! -e "$logs" ] || { echo "rehearse: every bench/results/gpu-rehearsal-$(date -u +%Y%m%d)* name is taken; give LOG_DIR" >&2; exit 2; }
fi
calls=${2:-1 2 coverage}
b=build/gpu-bundle
[ -d $b/core ] && [ -f .device/jre.txz ] || { echo "rehearse: make gpu-bundle first" >&2; exit 1; }
scripts/deps.sh torch            # Debian's python3-torch, the CPU peer (as make bench-cpu installs it)
scripts/build-emu.sh >/dev/null
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
scratch=$(mktemp -d /tmp/gpu-rehearsal.XXXXXX)
emu=$root/build/emu
sysjava=$(command -v java || true)

# The emulated device, for every JVM; the rehearsal's stand-ins first on PATH; Debian's PyTorch.
export JAVA_TOOL_OPTIONS="-Delbo4j.libcuda=$emu/libcuda.so.1 -Delbo4j.cublas=$emu/libcublas.so.13 -Delbo4j.kernels=$emu/emu.fatbin"
export LD_LIBRARY_PATH=$emu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Streams as a GPU runs them: each stream's work waits until the host waits for it (kernels/README.md,
# "Asynchronous streams"), so a host read the calls make without its wait fails here first.
export ELBO4J_EMU_ASYNC=${ELBO4J_EMU_ASYNC:-1}
export PATH=$root/scripts/gpu-check/rehearsal:$PATH
export PYTHON=${PYTHON:-/usr/bin/python3}
export JRE_DIR=$scratch/jre
# Emulator-sized settings (a GPU run sets none of these).
export TRAIN_ARGS=${REHEARSAL_TRAIN_ARGS:---train-limit 500 --test-limit 200 --eval-k 0}
export SIZES=small BATCHES=${REHEARSAL_BATCHES:-128} PEER_DEVICE=cpu TORCH_MODES=eager
export JMH_STEP=${REHEARSAL_JMH_STEP:--f 1 -wi 1 -w 1s -i 2 -r 1s} JMH_KERNEL=${REHEARSAL_JMH_KERNEL:--f 1 -wi 1 -w 200ms -i 1 -r 300ms}
export PEER_ARGS=${REHEARSAL_PEER_ARGS:---steps 20 --repeats 3 --warmup 5}

# upload CALL PARTS...: the device tool's copy of the working tree for one call.
upload() {
  local dir=$scratch/tree-$1; shift
  mkdir -p "$dir"
  git ls-files -z -co --exclude-standard | xargs -0 -r sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' _ \
    | tar --null -T - -cf - | tar -xf - -C "$dir"
  cp -a .device "$dir/"
  mkdir -p "$dir/$b"
  for p in "$@"; do cp -a "$b/$p" "$dir/$b/"; done
  echo "$dir"
}

{
  echo "# gpu-check rehearsal, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cat $b/core/COMMIT)"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); no GPU"
  echo "# emulated device: $JAVA_TOOL_OPTIONS"
  echo "# system java (not used by the calls): ${sysjava:-none} ($(java -version 2>&1 | head -1))"
  echo "# PyTorch peer: $("$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())' 2>&1 | tail -1)"
  echo "# settings for the emulator: TRAIN_ARGS='$TRAIN_ARGS' SIZES=$SIZES BATCHES=$BATCHES PEER_DEVICE=$PEER_DEVICE TORCH_MODES=$TORCH_MODES JMH_STEP='$JMH_STEP' JMH_KERNEL='$JMH_KERNEL' PEER_ARGS='$PEER_ARGS'"
  scripts/gpu-check/size.sh $b
} | tee "$logs/rehearsal.txt"

for call in $calls; do
  case $call in
    1) parts="core check" ;;
    2) parts="core bench" ;;
    coverage) continue ;;
    *) echo "rehearse: unknown call $call" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2086
  tree=$(upload "$call" $parts)
  out=$scratch/out-$call && mkdir -p "$out"
  echo "== call $call: cd <upload> && timeout 600 bash $b/core/gpu-check/call$call.sh  (carry: .device $parts; $(du -sb "$tree" | awk '{ printf "%.1f MiB", $1 / 1048576 }') uploaded)" | tee -a "$logs/rehearsal.txt"
  t0=$(date +%s.%N)
  set +e
  (cd "$tree" && OUT=$out GPU_CHECK_WORK=$scratch/work-$call timeout 600 bash "$b/core/gpu-check/call$call.sh") > "$logs/call$call-stdout.txt" 2>&1
  rc=$?
  set -e
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "call $call: exit $rc, wall ${wall} s (limit 600); files back: $(ls "$out" | tr '\n' ' ')" | tee -a "$logs/rehearsal.txt"
  rm -rf "$logs/call$call" && tar xzf "$out/call$call-results.tar.gz" -C "$logs"
done

if [[ " $calls " == *" coverage "* ]]; then
  # The sanitizer subset on the emulator, with its launch trace, under COVERAGE_TIMEOUT_S (900).
  sel=$(sed -n '/^SANITIZE=(/,/^)/p' scripts/gpu-check/call1.sh | sed '1d;$d')
  echo "== coverage: call1.sh's SANITIZE selection, every launch traced" | tee -a "$logs/rehearsal.txt"
  t0=$(date +%s)
  set +e
  tar xJf .device/jre.txz -C "$scratch" 2>/dev/null
  eval "args=($sel)"
  ELBO4J_EMU_TRACE=1 JAVA=$scratch/jre/bin/java timeout "${COVERAGE_TIMEOUT_S:-900}" bash $b/check/run-gpu-tests.sh "$scratch/coverage" "${args[@]}" > "$scratch/coverage.log" 2>&1
  rc=$?
  set -e
  grep -oE 'elbo4j-emu: elbo4j_[A-Za-z0-9_]+' "$scratch/coverage.log" | sed 's/elbo4j-emu: //' | sort | uniq -c | sort -rn > "$logs/coverage-launches.txt"
  awk -F'\t' '!/^#/ && NF > 1 { print $1 }' kernels/sm_90.resources | sort -u > "$scratch/all-kernels"
  missing=$(awk '{ print $2 }' "$logs/coverage-launches.txt" | sort -u | comm -13 - "$scratch/all-kernels" | tr '\n' ' ')
  {
    echo "coverage run: exit $rc, $(( $(date +%s) - t0 )) s; $(junit_line=$(grep -E 'tests (successful|failed)' "$scratch/coverage.log" | tr -s ' ' | tr '\n' ' '); echo "$junit_line")"
    echo "kernels launched: $(wc -l < "$logs/coverage-launches.txt") of $(wc -l < "$scratch/all-kernels") in kernels/sm_90.resources; launches $(awk '{ s += $1 } END { print s }' "$logs/coverage-launches.txt")"
    echo "never launched by the subset: ${missing:-none}"
  } | tee -a "$logs/rehearsal.txt"
fi
rm -rf "$scratch"
