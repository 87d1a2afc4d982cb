#!/usr/bin/env bash
# elbo4j vs PyTorch, one training step of the reference VAE on this CPU, in one command.
# elbo4j: JMH (bench/TrainStepBenchmark) at batch 128 and 1024. PyTorch: ../shared/peers/pytorch_vae.py
# --device cpu with 1 and 2 threads; the better of the two is the peer. Prints samples/s for both and
# the ratio, and keeps the whole output under bench/results/.
# Needs: make build; Debian's python3-torch and libopenblas0-pthread (installed here when root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
peer=${PEER:-$root/../shared/peers/pytorch_vae.py}
[ -f "$peer" ] || { echo "bench-cpu: PyTorch peer not found at $peer (set PEER=...)" >&2; exit 1; }
scripts/deps.sh torch
# Debian's torch lives in the system Python, which may not be the first python3 on PATH.
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import torch' 2>/dev/null || { echo "bench-cpu: $py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
JAVA_HOME=$(scripts/find-jdk.sh)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
stamp=$(date -u +%Y%m%d-%H%M%S)
log=bench/results/cpu-$stamp.txt
{
  echo "# elbo4j bench-cpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
  echo "# java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); python: $("$py" -c 'import torch,sys; print(sys.version.split()[0], "torch", torch.__version__)')"
  echo "# command: make bench-cpu (bench/bench-cpu.sh)"
  echo
  echo "## elbo4j (JMH, 1 fork, 3 x 2 s warm-up, 5 x 2 s measurement)"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "bench/target/elbo4j-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
    org.openjdk.jmh.Main TrainStepBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s -rf json -rff "$tmp/jmh.json" 2>&1 \
    | grep -E '^(Benchmark|TrainStep|# (JMH|VM version|Threads))|elbo4j|GEMM' || true
  for t in 1 2; do
    echo
    echo "## PyTorch, $t thread(s)"
    "$py" "$peer" --device cpu --threads "$t" --batches 128,1024 --steps 100 --repeats 5 --warmup 20 >"$tmp/torch-$t.jsonl" 2>"$tmp/torch-$t.err" \
      || { cat "$tmp/torch-$t.err"; exit 1; }
    cat "$tmp/torch-$t.jsonl"
  done
  echo
  echo "## Summary (samples/s; ratio = elbo4j / best PyTorch)"
  "$py" - "$tmp" <<'PY'
import json, sys, glob
tmp = sys.argv[1]
ours = {}
for r in json.load(open(f"{tmp}/jmh.json")):
    b = int(r["params"]["batch"])
    ms = r["primaryMetric"]["score"]
    err = r["primaryMetric"]["scoreError"]
    ours[b] = (b / (ms / 1e3), ms, err)
peer = {}
for f in sorted(glob.glob(f"{tmp}/torch-*.jsonl")):
    for line in open(f):
        r = json.loads(line)
        b = r["batch"]
        if b not in peer or r["samples_per_s"] > peer[b]["samples_per_s"]:
            peer[b] = r
print(f"{'batch':>6} {'elbo4j ms/step':>15} {'elbo4j samples/s':>17} {'PyTorch best':>13} {'threads':>7} {'ratio':>6}")
for b in sorted(ours):
    s, ms, err = ours[b]
    p = peer[b]
    print(f"{b:>6} {ms:>10.3f}+-{err:<4.3f} {s:>17.0f} {p['samples_per_s']:>13.0f} {p['threads']:>7} {s / p['samples_per_s']:>6.2f}")
PY
} 2>&1 | tee "$log"
echo "bench-cpu: wrote $log"
