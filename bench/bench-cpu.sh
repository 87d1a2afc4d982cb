#!/usr/bin/env bash
# elbo4j vs PyTorch, one training step of the reference VAE on this CPU, in one command.
#   elbo4j:  JMH bench/TrainStepBenchmark at batch 128 and 1024
#   PyTorch: ../shared/peers/pytorch_vae.py --device cpu, 1 and 2 threads (the better is the peer)
# The two alternate over ROUNDS rounds (default 3) so both see the same machine: on a shared VM
# the speed drifts by 20% from minute to minute. Each round's ratio is against that round's better
# PyTorch setting; the summary gives every round and the medians. The whole output is kept under bench/results/.
# Needs: make build; Debian's python3-torch and libopenblas0-pthread (installed here when root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${ROUNDS:-3}
peer=${PEER:-$root/../shared/peers/pytorch_vae.py}
[ -f "$peer" ] || { echo "bench-cpu: PyTorch peer not found at $peer (set PEER=...)" >&2; exit 1; }
scripts/deps.sh torch
# Debian's torch lives in the system Python, which may not be the first python3 on PATH.
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import torch' 2>/dev/null || { echo "bench-cpu: $py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
JAVA_HOME=$(scripts/find-jdk.sh)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
log=bench/results/cpu-$(date -u +%Y%m%d-%H%M%S).txt

elbo4j() { # round
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "bench/target/elbo4j-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
    org.openjdk.jmh.Main TrainStepBenchmark -p device=cpu -p precision=fp32 -p mode=eager -p dense=hand -p batch=128,1024 -f 1 -wi 3 -w 1s -i 5 -r 1s -rf json -rff "$tmp/elbo4j-$1.json" 2>&1 \
    | grep -E '^(Benchmark|TrainStep|# (JMH|VM version))' | grep -v ':device' || true
}
pytorch() { # round threads
  "$py" "$peer" --device cpu --threads "$2" --batches 128,1024 --steps 100 --repeats 5 --warmup 20 \
    >"$tmp/torch-$1-$2.jsonl" 2>"$tmp/torch.err" || { cat "$tmp/torch.err"; exit 1; }
  cat "$tmp/torch-$1-$2.jsonl"
}

{
  echo "# elbo4j bench-cpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
  echo "# java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); python: $("$py" -c 'import torch,sys; print(sys.version.split()[0], "torch", torch.__version__)')"
  echo "# command: make bench-cpu (bench/bench-cpu.sh), $rounds rounds"
  for r in $(seq 1 "$rounds"); do
    echo
    echo "## round $r: elbo4j (JMH, 1 fork, 3 x 1 s warm-up, 5 x 1 s measurement)"
    elbo4j "$r"
    for t in 1 2; do
      echo "## round $r: PyTorch, $t thread(s)"
      pytorch "$r" "$t"
    done
  done
  echo
  echo "## Summary (samples/s; ratio = elbo4j / best PyTorch setting of the same round)"
  "$py" - "$tmp" "$rounds" <<'PY'
import glob, json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for k in range(1, rounds + 1):
    peer = {}
    for f in glob.glob(f"{tmp}/torch-{k}-*.jsonl"):
        for r in map(json.loads, open(f)):
            if r["batch"] not in peer or r["samples_per_s"] > peer[r["batch"]]["samples_per_s"]:
                peer[r["batch"]] = r
    for r in json.load(open(f"{tmp}/elbo4j-{k}.json")):
        b = int(r["params"]["batch"])
        rows.setdefault(b, []).append((b / (r["primaryMetric"]["score"] / 1e3), peer[b]["samples_per_s"], peer[b]["threads"]))
print(f"{'batch':>6} {'round':>6} {'elbo4j':>10} {'PyTorch':>10} {'threads':>7} {'ratio':>6}")
for b in sorted(rows):
    for k, (s, p, t) in enumerate(rows[b], 1):
        print(f"{b:>6} {k:>6} {s:>10.0f} {p:>10.0f} {t:>7} {s / p:>6.2f}")
    print(f"{b:>6} {'median':>6} {statistics.median(r[0] for r in rows[b]):>10.0f} "
          f"{statistics.median(r[1] for r in rows[b]):>10.0f} {'':>7} {statistics.median(r[0] / r[1] for r in rows[b]):>6.2f}")
PY
} 2>&1 | tee "$log"
echo "bench-cpu: wrote $log"
