#!/usr/bin/env bash
# elbo4j vs PyTorch on this machine's GPU, from a checkout (issue 4): JMH with -p device=cuda
# (the kernel suite, the copy and large-GEMM limits, TrainStepBenchmark at batch 128/1024/8192,
# FP32 and TF32, eager and CUDA graph, -prof gc) and ../shared/peers/pytorch_vae.py --device cuda
# --modes eager,graph,compile in the same rounds. The work is scripts/run-gpu-bench.sh (which also
# runs from build/gpu-bundle on a GPU host without Java tools); this wrapper points it at
# bench/target and keeps the output under bench/results/cuda-<UTC time>/ (DEVICE=cpu: cpu-<UTC time>/).
# Needs: make build (or scripts/mvn.sh -DskipTests install), python3 with PyTorch, a GPU.
# DEVICE=cpu runs the same plumbing on the CPU (small sizes, eager only): a dry run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jar=bench/target/elbo4j-bench-0.1.0-SNAPSHOT.jar
[ -f "$jar" ] || { echo "bench-gpu: $jar missing: run make build first" >&2; exit 1; }
export JAVA=${JAVA:-$(scripts/find-jdk.sh)/bin/java}
export BENCH_CP="$jar:$(ls bench/target/lib/*.jar | tr '\n' ':')"
export PEER=${PEER:-$root/../shared/peers/pytorch_vae.py}
export TRAFFIC=$root/bench/traffic.py
git rev-parse HEAD >/dev/null 2>&1 && { git rev-parse --short HEAD | tr -d '\n'; git diff --quiet || echo -n '+dirty'; echo; } > /tmp/elbo4j-commit.$$ && export COMMIT=/tmp/elbo4j-commit.$$
out=${1:-bench/results/${DEVICE:-cuda}-$(date -u +%Y%m%d-%H%M%S)}
scripts/run-gpu-bench.sh "$out"
rm -f /tmp/elbo4j-commit.$$
