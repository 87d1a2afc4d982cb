#!/usr/bin/env bash
# elbo4j's GPU benchmarks and the PyTorch peer, side by side, in one command (issue 4).
#
# Runs from a gpu-bundle folder (make gpu-bundle, then `scripts/run-gpu-bench.sh --stage
# build/gpu-bundle` unless the Makefile does it) with plain `java` on PATH (the packed JRE) and
# python3 + PyTorch, on a host without Maven or git; bench/bench-gpu.sh runs the same script from a
# checkout. Everything it measures goes to OUT (first argument; default ./results beside the script):
#
#   RESULTS.md    the tables: every configuration's samples/s, elbo4j's ratio to each PyTorch mode,
#                 the kernels' GB/s and % of the measured copy bandwidth, the step's % of roofline,
#                 host bytes allocated per step, and the issue's targets (MET / MISSED)
#   bench.log     everything the runs printed (JMH, the peer, the machine)
#   kernels.json  JMH: CopyBenchmark, GemmLimitBenchmark and the kernel benchmarks (-p device=cuda)
#   step.json     JMH: TrainStepBenchmark, every round (each record has "round")
#   torch.jsonl   the peer, every round and precision (each line has "round")
#   gc.json       JMH -prof gc of TrainStepBenchmark: gc.alloc.rate.norm = host bytes per step
#
# Order, so that a run cut short still has the essentials: the two limits (copy, large GEMM);
# round 1 (elbo4j's step, then the peer's eager and graph modes in FP32 and in TF32); the
# allocation run; the kernel suite; the peer's compile mode (its compile time is the unknown, so it
# gets what is left, split between the precisions, and is paired with round 1); then more rounds
# of elbo4j + eager/graph while BUDGET_S allows (rounds alternate elbo4j and PyTorch, as
# bench-cpu.sh does, and each ratio is taken within a round). Every peer process has a timeout;
# what it printed before is kept.
#
# A second call for more rounds only: SKIP=gc,kernels,compile MAX_ROUNDS=3 (the kernel suite is then
# not re-measured; the limits always are, since the roofline needs them).
# Settings (environment): DEVICE (cuda; cpu is a dry run of the plumbing), PEER_DEVICE (the peer's
# device; default DEVICE), SIZES (full | small: the limit and kernel sizes; default small on the
# CPU, full on CUDA; small on the emulated device is scripts/gpu-check/rehearse.sh's), BUDGET_S (540: the
# device tool's commands end at 600 s), MAX_ROUNDS (3), BATCHES (128,1024,8192), PRECISIONS
# ("fp32 tf32"), STEP_MODES (eager,graph), DENSE (hand,lt: the dense layers on the hand-written
# bias/activation kernels and on cuBLASLt's fused epilogues; cpu: hand), TORCH_MODES (eager,graph,compile: compile last, since
# its compile time is the unknown), SKIP (any of gc,kernels,compile), PEER_ARGS, JMH_STEP, JMH_KERNEL, JAVA, PYTHON; the paths
# BENCH_CP (class path with the bench jar, its libraries and the core jar), PEER (pytorch_vae.py),
# TRAFFIC (traffic.py), COMMIT (file holding the commit the bundle was built from).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# --stage DIR, from a checkout after `make gpu-bundle`: puts into the bundle what this script needs
# there (itself, the bench jar and its libraries, bench/traffic.py, the peer, the commit).
if [ "${1:-}" = --stage ]; then
  set -e
  dir=${2:?usage: scripts/run-gpu-bench.sh --stage build/gpu-bundle}
  root=$(cd "$here/.." && pwd)
  jar=$root/bench/target/elbo4j-bench-0.1.0-SNAPSHOT.jar
  [ -f "$jar" ] || { echo "run-gpu-bench --stage: $jar missing: make build first" >&2; exit 1; }
  mkdir -p "$dir/lib"
  cp "$jar" "$dir/lib/"
  for f in "$root"/bench/target/lib/*.jar; do
    case $(basename "$f") in
      elbo4j-*) [ -e "$dir/lib/$(basename "$f")" ] || [ -e "$dir/../core/lib/$(basename "$f")" ] || cp "$f" "$dir/lib/" ;;   # the bundle's own core jar wins
      *) cp "$f" "$dir/lib/" ;;
    esac
  done
  install -m 755 "$root/scripts/run-gpu-bench.sh" "$dir/run-gpu-bench.sh"
  cp "$root/bench/traffic.py" "$dir/traffic.py"
  cp "$root/kernels/sm_90.resources" "$dir/sm_90.resources"   # the performance model's occupancy
  cp "${PEER:-$root/../shared/peers/pytorch_vae.py}" "$dir/pytorch_vae.py"
  { git -C "$root" rev-parse --short HEAD | tr -d '\n'; git -C "$root" diff --quiet || printf '+dirty'; echo; } > "$dir/COMMIT" 2>/dev/null \
    || echo unknown > "$dir/COMMIT"
  echo "run-gpu-bench --stage: $dir ready ($(du -sh "$dir" | cut -f1); commit $(cat "$dir/COMMIT"))"
  exit 0
fi

out=${1:-$here/results}
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)
budget=${BUDGET_S:-540}
device=${DEVICE:-cuda}
peer_device=${PEER_DEVICE:-$device}
sizes=${SIZES:-$([ "$device" = cpu ] && echo small || echo full)}
batches=${BATCHES:-128,1024,8192}
max_rounds=${MAX_ROUNDS:-3}
java=${JAVA:-java}
py=${PYTHON:-python3}
# In build/gpu-bundle/bench the core jar is the one in ../core/lib (make gpu-bundle).
cp=${BENCH_CP:-$(ls "$here"/lib/*.jar "$here"/../core/lib/elbo4j-core-*.jar 2>/dev/null | grep -v junit-platform-console | tr '\n' ':')}
peer=${PEER:-$here/pytorch_vae.py}
traffic=${TRAFFIC:-$here/traffic.py}
if [ "$device" = cpu ]; then
  precisions=${PRECISIONS:-fp32}; step_modes=${STEP_MODES:-eager}; torch_modes=${TORCH_MODES:-eager}; dense=${DENSE:-hand}
else
  precisions=${PRECISIONS:-fp32 tf32}; step_modes=${STEP_MODES:-eager,graph}; torch_modes=${TORCH_MODES:-eager,graph,compile}
  dense=${DENSE:-hand,lt}
fi
jmh_step=${JMH_STEP:--f 1 -wi 3 -w 500ms -i 4 -r 500ms}
jmh_kernel=${JMH_KERNEL:--f 1 -wi 2 -w 200ms -i 3 -r 300ms}
peer_args=${PEER_ARGS:---steps 100 --repeats 5 --warmup 20}
log=$out/bench.log
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export PYTHONUNBUFFERED=1

for f in "$peer" "$traffic"; do [ -f "$f" ] || { echo "run-gpu-bench: $f not found (set PEER= / TRAFFIC=)" >&2; exit 1; }; done
echo "$cp" | grep -q 'elbo4j-bench' || { echo "run-gpu-bench: no elbo4j-bench jar on the class path ($cp); set BENCH_CP=" >&2; exit 1; }
: > "$log"

skip() { echo ",${SKIP:-}," | grep -q ",$1,"; }   # SKIP=gc,kernels,compile leaves phases out (e.g. a second call for more rounds)
elapsed() { echo $(( $(date +%s) - start )); }
left() { echo $(( budget - $(elapsed) )); }
say() { echo "[$(elapsed)s] $*" | tee -a "$log"; }

jmh() { # json-file args...: one JMH run into the log; a failed benchmark (no GPU, ...) does not stop the rest
  local json=$1; shift
  local limit=$(( $(left) + 30 )); [ $limit -lt 30 ] && limit=30
  timeout "$limit" "$java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$cp" \
    org.openjdk.jmh.Main "$@" -rf json -rff "$json" >>"$log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || say "JMH exited with $rc ($*)$([ $rc -eq 124 ] && echo ': timed out')"
}

merge() { # out.json files...: concatenate JMH result arrays, tagging each record with "round" when given as file:round
  "$py" - "$@" <<'PY'
import json, os, sys
out, recs = sys.argv[1], []
for arg in sys.argv[2:]:
    path, _, rnd = arg.partition("::")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        continue
    for r in json.load(open(path)):
        if rnd:
            r["round"] = int(rnd)
        recs.append(r)
json.dump(recs, open(out, "w"), indent=1)
PY
}

commit=unknown
if [ -n "${COMMIT:-}" ] && [ -f "$COMMIT" ]; then commit=$(cat "$COMMIT")
elif [ -f "$here/COMMIT" ]; then commit=$(cat "$here/COMMIT")
elif git -C "$here" rev-parse HEAD >/dev/null 2>&1; then
  commit=$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet 2>/dev/null || echo '+dirty')
fi
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory --format=csv,noheader 2>/dev/null || echo "no nvidia-smi")
{
  echo "# elbo4j bench-gpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $commit"
  echo "# device: $device (sizes: $sizes; PyTorch peer on $peer_device); GPU (name, driver, memory, max SM / memory clock): $gpu"
  echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "# java: $("$java" -version 2>&1 | head -1); python: $("$py" -c 'import torch,sys; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 | tail -1)"
  echo "# settings: BATCHES=$batches PRECISIONS='$precisions' STEP_MODES=$step_modes DENSE=$dense TORCH_MODES=$torch_modes MAX_ROUNDS=$max_rounds BUDGET_S=$budget"
  echo "# JMH step: $jmh_step; JMH kernels: $jmh_kernel; peer: $peer_args"
} | tee "$tmp/header.txt" >>"$log"
cat "$tmp/header.txt"
command -v nvidia-smi >/dev/null && nvidia-smi >>"$log" 2>&1

publish() { # (re)writes OUT from what has been measured so far, so a run cut short still leaves results
  merge "$out/kernels.json" "${kjson[@]}"
  merge "$out/step.json" "${sjson[@]}"
  [ -f "$tmp/gc.json" ] && merge "$out/gc.json" "$tmp/gc.json"
  cp "$tmp/torch.jsonl" "$out/torch.jsonl"
  {
    echo "# elbo4j on $device: training step and kernels against PyTorch"
    echo
    echo '```'
    cat "$tmp/header.txt"
    echo "# command: scripts/run-gpu-bench.sh (bench/bench-gpu.sh); $1"
    echo '```'
    echo
    "$py" "$traffic" report "$out"
    echo
    echo "Raw: kernels.json, step.json, gc.json (JMH), torch.jsonl (peer), bench.log, beside this file."
    echo "Counts: bench/traffic.py, docs/PERFORMANCE.md."
  } > "$out/RESULTS.md" 2>>"$log"
}

# ---- the limits ---------------------------------------------------------------------------------
kjson=()
if [ "$sizes" = small ]; then
  limit_sets=("\\.CopyBenchmark\\. -p mib=64" "\\.GemmLimitBenchmark\\. -p n=1024 -p precision=fp32")
  kernel_sets=("\\.LatentBenchmark\\. -p rows=1024,65536"
               "\\.LikelihoodBenchmark\\. -p rows=1024,8192"
               "\\.OptimBenchmark\\. -p n=652824"
               "\\.DataBenchmark\\. -p rows=1024 -p binarize=none"
               "\\.BiasActivationBenchmark\\. -p rows=1024"
               "\\.GemmBenchmark\\. -p gemm=step -p batch=128,1024 -p precision=fp32")
else
  limit_sets=("\\.CopyBenchmark\\. -p mib=1024" "\\.GemmLimitBenchmark\\. -p n=8192 -p precision=${precisions// /,}")
  kernel_sets=("\\.LatentBenchmark\\. -p rows=128,8192,1048576"
               "\\.LikelihoodBenchmark\\. -p rows=128,8192,131072"
               "\\.OptimBenchmark\\."
               "\\.DataBenchmark\\. -p rows=8192,262144"
               "\\.BiasActivationBenchmark\\. -p rows=8192"
               "\\.GemmBenchmark\\. -p gemm=step -p batch=$batches -p precision=${precisions// /,}"
               "\\.GemmBenchmark\\. -p gemm=fc1.fwd,fc4.fwd,fc4.dW,fc4.dX,fc1.dW -p batch=8192 -p precision=fp32")
fi
i=0
for s in "${limit_sets[@]}"; do
  i=$((i + 1)); say "limits: $s"
  # shellcheck disable=SC2086
  jmh "$tmp/limit-$i.json" $s -p device="$device" $jmh_kernel
  kjson+=("$tmp/limit-$i.json")
done

# ---- rounds ---------------------------------------------------------------------------------------
sjson=(); : > "$tmp/torch.jsonl"
peer() { # round precision modes max-seconds: one peer process, its lines tagged with the round
  local r=$1 p=$2 modes=$3 limit=$(( $(left) - 60 ))
  [ $limit -gt "$4" ] && limit=$4
  if [ $limit -lt 20 ]; then say "round $r: PyTorch $p $modes skipped: budget"; return; fi
  say "round $r: PyTorch $p, modes $modes (timeout ${limit}s)"
  # shellcheck disable=SC2086
  timeout "$limit" "$py" "$peer" --device "$peer_device" --modes "$modes" --batches "$batches" --precision "$p" \
      $peer_args >"$tmp/torch.part" 2>>"$log"
  local rc=$?; [ $rc -eq 0 ] || say "round $r: PyTorch $p $modes exited with $rc (124: timed out; what it printed is kept)"
  "$py" -c 'import json,sys
for l in open(sys.argv[1]):
    if l.startswith("{"): print(json.dumps({**json.loads(l), "round": int(sys.argv[2])}))' "$tmp/torch.part" "$r" \
      | tee -a "$tmp/torch.jsonl" >>"$log"
}
# torch.compile compiles for minutes at worst: it runs in its own phase after the kernels, paired with round 1.
fast_modes=$(echo ",$torch_modes," | sed 's/,compile,/,/; s/^,//; s/,$//')
echo ",$torch_modes," | grep -q ',compile,' && compile=1 || compile=0
round() { # n
  local r=$1 t0; t0=$(date +%s)
  say "round $r: elbo4j TrainStepBenchmark (batch $batches; precision $precisions; mode $step_modes)"
  # shellcheck disable=SC2086
  jmh "$tmp/step-$r.json" '\.TrainStepBenchmark\.' -p device="$device" -p batch="$batches" \
      -p precision="${precisions// /,}" -p mode="$step_modes" -p dense="$dense" $jmh_step
  sjson+=("$tmp/step-$r.json::$r")
  if [ -n "$fast_modes" ]; then for p in $precisions; do peer "$r" "$p" "$fast_modes" 150; done; fi
  round_s=$(( $(date +%s) - t0 ))
  say "round $r took ${round_s}s"
}

round 1
publish "partial: after round 1, $(elapsed) s"

# ---- host allocation per step -------------------------------------------------------------------
if skip gc; then
  say "allocation run skipped: SKIP"
elif [ "$(left)" -gt 60 ]; then
  say "allocation: TrainStepBenchmark -prof gc"
  # shellcheck disable=SC2086
  jmh "$tmp/gc.json" '\.TrainStepBenchmark\.' -p device="$device" -p batch="$batches" -p precision=fp32 -p dense=hand \
      -p mode="$step_modes" -prof gc ${JMH_GC:--f 1 -wi 3 -w 500ms -i 3 -r 500ms}
else
  say "allocation run skipped: budget"
fi
publish "partial: after the allocation run, $(elapsed) s"

# ---- the kernel suite ---------------------------------------------------------------------------
i=0
for s in "${kernel_sets[@]}"; do
  i=$((i + 1))
  if skip kernels; then say "kernels: $s skipped: SKIP"; continue; fi
  if [ "$(left)" -lt 45 ]; then say "kernels: $s skipped: budget"; continue; fi
  say "kernels: $s"
  # shellcheck disable=SC2086
  jmh "$tmp/kernel-$i.json" $s -p device="$device" $jmh_kernel
  kjson+=("$tmp/kernel-$i.json")
done
publish "partial: after the kernels, $(elapsed) s"

# ---- torch.compile, paired with round 1 ---------------------------------------------------------
if [ $compile = 1 ] && skip compile; then
  say "torch.compile skipped: SKIP"
elif [ $compile = 1 ]; then
  n=$(echo $precisions | wc -w)
  for p in $precisions; do
    peer 1 "$p" compile $(( ($(left) - 60) / n )); n=$((n - 1))
  done
  publish "partial: after torch.compile, $(elapsed) s"
fi

# ---- more rounds while the budget lasts ---------------------------------------------------------
r=1
while [ $r -lt "$max_rounds" ] && [ "$(left)" -gt $(( round_s + 30 )) ]; do
  r=$((r + 1)); round $r
done
[ $r -lt "$max_rounds" ] && say "stopped after $r round(s): the next would not fit BUDGET_S=$budget"

# ---- results ------------------------------------------------------------------------------------
publish "$r round(s), $(elapsed) s"
grep -E '(<failure>|^java\.lang\.[A-Za-z]*(Exception|Error))' "$log" | sort | uniq -c | head -20 | sed 's/^/failures in the log: /'
cat "$out/RESULTS.md"
say "run-gpu-bench: wrote $out (RESULTS.md, bench.log, kernels.json, step.json, torch.jsonl, gc.json)"
