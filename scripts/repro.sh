#!/usr/bin/env bash
# Trains a published reproduction in stages, resumably (docs/MODELS.md, "Reproduced"):
#
#   scripts/repro.sh NAME               in the foreground
#   scripts/repro.sh --background NAME  detached (setsid nohup nice -n 19), output in build/repro/NAME/runner.log
#
# NAME: burda2015-vae, burda2015-iwae5 (stages at 1, 4, 13, 40, 121, 364, 1093, 3280 epochs; after
# each, test log p(x) by importance sampling, evaluated beside the training on a copy of the
# checkpoint, with k = 1000 before stage 121 and the papers' k = 5000 from it; REPRO_EVAL_K=K: K at
# every stage) or kingma2014-m2 (stages at 1, 4, 13, 40, 100 epochs;
# test accuracy). The run folder is bench/runs/NAME (the latest checkpoint, log.jsonl, pictures and
# any stage copy still awaiting its evaluation: commit it to carry the run to another machine);
# each finished stage appends one JSON line (figure, epochs, seconds, commit, machine) to
# bench/results/repro-NAME.jsonl. Running it again continues from the run folder's checkpoint and
# skips the stages already in the results. Needs the built CLI jar (`make build`); it runs a
# private copy of it (build/repro/NAME/jar), so rebuilding does not disturb a run.
# REPRO_THREADS (default 1): CPU threads of the training and of the evaluation.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ ${1:-} == --background ]]; then
    shift
    [[ $# -eq 1 ]] || { echo "usage: scripts/repro.sh [--background] NAME" >&2; exit 2; }
    mkdir -p "$here/../build/repro/$1"
    log="$here/../build/repro/$1/runner.log"
    setsid nohup nice -n 19 python3 "$here/repro.py" "$1" >>"$log" 2>&1 </dev/null &
    echo "repro: $1 started in the background (pid $!), log $log"
    exit 0
fi
[[ $# -eq 1 ]] || { echo "usage: scripts/repro.sh [--background] NAME" >&2; exit 2; }
exec python3 "$here/repro.py" "$1"
