#!/usr/bin/env bash
# elbo4j vs PyTorch, one training step of the conv VAE on this CPU, both on ONE thread:
#   elbo4j:  JMH bench/ConvTrainStepBenchmark (batch 128, -Delbo4j.threads=1)
#   PyTorch: bench/peers/pytorch_conv_vae.py --threads 1 (the same layer shapes)
# The two alternate over ROUNDS rounds (default 2) so both see the same machine; the summary
# gives every round's ratio and the median. The whole output is kept under bench/results/.
# Needs: make build; Debian's python3-torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${ROUNDS:-2}
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import torch' 2>/dev/null || { echo "bench-conv-cpu: $py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
JAVA_HOME=$(scripts/find-jdk.sh)
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
log=bench/results/cpu-conv-$(date -u +%Y%m%d-%H%M%S).txt

elbo4j() { # round
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "bench/target/elbo4j-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
    org.openjdk.jmh.Main ConvTrainStepBenchmark -jvmArgsAppend "-Delbo4j.threads=1" -f 1 -wi 2 -w 3s -i 3 -r 5s \
    -rf json -rff "$tmp/elbo4j-$1.json" 2>&1 | grep -E '^(Benchmark|ConvTrainStep|# (JMH|VM version))' || true
}
pytorch() { # round
  "$py" bench/peers/pytorch_conv_vae.py --threads 1 --batches 128 --steps 10 --repeats 3 --warmup 3 \
    >"$tmp/torch-$1.jsonl" 2>"$tmp/torch.err" || { cat "$tmp/torch.err"; exit 1; }
  cat "$tmp/torch-$1.jsonl"
}

{
  echo "# elbo4j bench-conv-cpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); python: $("$py" -c 'import torch,sys; print(sys.version.split()[0], "torch", torch.__version__)')"
  echo "# command: bench/bench-conv-cpu.sh, $rounds rounds, one thread each side"
  for r in $(seq 1 "$rounds"); do
    echo
    echo "## round $r: elbo4j (JMH, 1 fork, 2 x 3 s warm-up, 3 x 5 s measurement)"
    elbo4j "$r"
    echo "## round $r: PyTorch, 1 thread (3 warm-up steps, median of 3 windows of 10 steps)"
    pytorch "$r"
  done
  echo
  echo "## Summary (samples/s at batch 128; ratio = elbo4j / PyTorch of the same round)"
  "$py" - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for k in range(1, rounds + 1):
    p = [json.loads(l) for l in open(f"{tmp}/torch-{k}.jsonl")][0]
    e = json.load(open(f"{tmp}/elbo4j-{k}.json"))[0]
    s = 128 / (e["primaryMetric"]["score"] / 1e3)
    rows.append((s, p["samples_per_s"]))
    print(f"round {k}: elbo4j {s:8.1f}  PyTorch {p['samples_per_s']:8.1f}  ratio {s / p['samples_per_s']:6.2f}")
print(f"median: elbo4j {statistics.median(r[0] for r in rows):8.1f}  PyTorch {statistics.median(r[1] for r in rows):8.1f}  "
      f"ratio {statistics.median(r[0] / r[1] for r in rows):6.2f}")
PY
} 2>&1 | tee "$log"
echo "bench-conv-cpu: wrote $log"
