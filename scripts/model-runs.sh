#!/usr/bin/env bash
# Trains every model family of docs/MODELS.md on MNIST with its defaults, one after the other, and
# keeps the whole output (commands, per-epoch figures, final test figures, times) in
# bench/results/models-<date>.txt. The figures in docs/MODELS.md come from this script.
#
# Usage: scripts/model-runs.sh [NAME ...]   (default: all; names are the first column of RUNS below)
# Environment: JAR (the CLI jar; default the build's), EPOCHS (override every run's epoch count, e.g. EPOCHS=1 for a smoke run),
#              OUT (run folders; default runs/models).
# Needs: make build and make data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-runs/models}
jar=${JAR:-java/cli/target/elbo4j-cli-0.1.0-SNAPSHOT.jar}
[ -f "$jar" ] || { echo "model-runs: $jar is missing: run make build" >&2; exit 1; }
mkdir -p bench/results "$out"
log=bench/results/models-$(date -u +%Y%m%d-%H%M%S).txt

# name | train arguments (each run also gets --out $out/<name> --force --no-progress)
RUNS=(
  "vae|--model vae"
  "vae-warmup|--model vae --warmup 5"
  "iwae-k5|--model vae --objective iwae --samples 5"
  "iwae-paper-net|--model vae --hidden 200,200 --latent 50 --activation tanh"
  "ae|--model ae"
  "ae-tied|--model ae --tied"
  "dae-mask|--model ae --corruption mask --corruption-level 0.3"
  "dae-gaussian|--model ae --corruption gaussian --corruption-level 0.3 --binarize none --reconstruction mse"
  "sparse-ae|--model ae --sparsity 0.05 --sparsity-weight 0.1"
  "cvae|--model cvae"
  "m2-100|--model m2 --labels 100"
  "vae-planar10|--model vae --flow planar --flow-steps 10"
  "nice|--model nice --binarize none"
  "rbm|--model rbm --hidden 500"
  "rbm-cd1|--model rbm --hidden 500 --cd-k 1"
  "rbm-pcd|--model rbm --hidden 500 --pcd --cd-k 1"
  "dbn|--model dbn --hidden 500,500 --layer-steps 2345"
  "fvbm-4x4|--model fvbm --downsample 4x4"
)
# Runs whose checkpoint also gets `elbo4j eval` (AIS for RBMs: log Z and the test log p(x)).
EVAL=(rbm rbm-cd1 rbm-pcd)

want=("$@")
case "${1:-}" in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0;; esac
known=" ${RUNS[*]%%|*} "
for w in "${want[@]}"; do
  case "$known" in *" $w "*) ;; *) echo "model-runs: unknown run '$w' (known:${known% })" >&2; exit 2;; esac
done
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

{
  echo "# elbo4j model runs, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
  echo "# java: $("$(scripts/find-jdk.sh)/bin/java" -version 2>&1 | head -1)"
} | tee "$log"

for r in "${RUNS[@]}"; do
  name=${r%%|*}
  args=${r#*|}
  selected "$name" || continue
  # shellcheck disable=SC2086
  cmd="scripts/java.sh -jar $jar train --out $out/$name --force --no-progress $args ${EPOCHS:+--epochs $EPOCHS}"
  echo "## $name: $cmd" | tee -a "$log"
  start=$(date +%s)
  if ! $cmd 2>&1 | grep -v "^elbo4j: using the CPU backend" | tee -a "$log"; then
    echo "## $name: FAILED" | tee -a "$log"
  fi
  echo "## $name: $(( $(date +%s) - start )) s wall" | tee -a "$log"
  for e in "${EVAL[@]}"; do
    [ "$e" = "$name" ] || continue
    cmd="scripts/java.sh -jar $jar eval -c $out/$name --no-progress"
    echo "## $name eval: $cmd" | tee -a "$log"
    start=$(date +%s)
    $cmd 2>&1 | grep -v "^elbo4j: using the CPU backend" | tee -a "$log" || echo "## $name eval: FAILED" | tee -a "$log"
    echo "## $name eval: $(( $(date +%s) - start )) s wall" | tee -a "$log"
  done
done
echo "wrote $log"
