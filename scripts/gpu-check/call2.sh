#!/usr/bin/env bash
# The GPU check, call 2: speed (docs/GPU.md, "The GPU check"; docs/PERFORMANCE.md). From the
# repository's root on the GPU machine, with build/gpu-bundle/core, build/gpu-bundle/bench and
# .device carried:
#
#   bash build/gpu-bundle/core/gpu-check/call2.sh
#
# Runs build/gpu-bundle/bench/run-gpu-bench.sh (the limits, elbo4j's step eager and replayed
# against PyTorch eager, graph and compile in FP32 and TF32 at batch 128/1024/8192, host bytes per
# step, the kernel suite, more rounds while they fit) with BUDGET_S set to what this call has left,
# less a margin for a JMH run that overshoots its share. Its RESULTS.md prints the performance
# model's predictions (bench/traffic.py) beside what was measured. Results: $OUT/call2-SUMMARY.txt
# (the step table, the ratios, the targets, measured beside predicted) and $OUT/call2-results.tar.gz
# (RESULTS.md, bench.log, kernels.json, step.json, torch.jsonl, gc.json, nvidia-smi, the commit).
#
# DEADLINE_S (default 390) is the call's length: set it to the session's device time left (`status`:
# budget_left_s) less about 90 s for the transfers and the give-back, at most 540, e.g.
#   DEADLINE_S=480 bash build/gpu-bundle/core/gpu-check/call2.sh
# Environment (besides common.sh's): anything run-gpu-bench.sh reads (BATCHES, PRECISIONS, SIZES,
# PEER_DEVICE, TORCH_MODES, ...; the rehearsal on the emulator shrinks the sizes with them),
# BENCH_MARGIN_S (45).
set -uo pipefail
DEADLINE_S=${DEADLINE_S:-390}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
gc_init call2

say "== elbo4j GPU check, call 2 (speed): run-gpu-bench.sh against PyTorch, measured beside predicted"
setup_java || { pack; exit 1; }
machine_report
budget=$(( $(left) - reserve - ${BENCH_MARGIN_S:-45} ))
say "plan: run-gpu-bench.sh with BUDGET_S=$budget (its own timeout $(( $(left) - reserve ))s); deadline ${deadline}s"
pack

step bench $(( $(left) - reserve )) 60 -- env BUDGET_S=$budget bash "$bundle/bench/run-gpu-bench.sh" "$res/bench"
r=$res/bench/RESULTS.md
targets=$(grep -cE ': MET$' "$r" 2>/dev/null); missed=$(grep -cE ': MISSED$' "$r" 2>/dev/null)
row "run-gpu-bench" "$(grep -c '"benchmark"' "$res/bench/step.json" 2>/dev/null || echo 0) step records, $(grep -c '^{' "$res/bench/torch.jsonl" 2>/dev/null || echo 0) PyTorch records; targets met ${targets:-0}, missed ${missed:-0}"
grep -E '^\[[0-9]+s\] .*(timed out|exited with|skipped|stopped after)' "$res/bench/bench.log" 2>/dev/null | head -12 | tee -a "$summary"

# The tables that matter most, into the summary and stdout (the whole report is RESULTS.md).
if [ -f "$r" ]; then
  awk '/^### / { keep = ($0 ~ /Training step|Ratios|Targets|Measured beside predicted|Host allocation/) }
       keep' "$r" | tee -a "$summary"
fi
say "== call 2 done at $(elapsed)s: $OUT/call2-SUMMARY.txt, $OUT/call2-results.tar.gz"
pack
