#!/usr/bin/env bash
# The GPU check, call 1: correctness (docs/GPU.md, "The GPU check"). From the repository's root on
# the GPU machine, with build/gpu-bundle/core, build/gpu-bundle/check and .device carried:
#
#   bash build/gpu-bundle/core/gpu-check/call1.sh
#
# In this order, each step under its own timeout (common.sh), within DEADLINE_S seconds (default 300:
# the session's 15 minutes of device time hold the machine's start, this call and call 2; with more
# time in hand, DEADLINE_S=540 before `bash` lets every step run to its cap):
#   1. the dev.elbo4j.backend.cuda suite with -Delbo4j.gpu.required=true, in three JVMs so that a
#      slow group cannot cost the others their reports: the kernel parity class; the training,
#      replay, binding (JCuda) and interop classes; the rest of the package (both bindings' own
#      tests, the other families, the host-side tests)
#   2. elbo4j train --device cuda: the default model, 10 epochs, timed
#   3. native/examples/torch_ctypes.py: the C ABI on PyTorch's CUDA tensors
#   4. compute-sanitizer memcheck (with leak check), racecheck, synccheck, initcheck over a subset of
#      the suite that launches every kernel at least once (SANITIZE below; checked on the emulator
#      by scripts/gpu-check/rehearse.sh)
#   5. elbo4j train --device cpu: the same run on the host's cores, with what time is left
# Results: $OUT/call1-SUMMARY.txt and $OUT/call1-results.tar.gz (every log, the JUnit XML,
# nvidia-smi, the commit, the training runs' log.jsonl).
#
# Environment (besides common.sh's): TRAIN_ARGS (more train options; the rehearsal on the emulator
# shrinks the run with them), SUITE_CAP_S (100: each suite group's cap; the three end by SUITE_END_S,
# 160), SANITIZER_CAP_S (45 each).
set -uo pipefail
DEADLINE_S=${DEADLINE_S:-300}
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
gc_init call1
check=$bundle/check
san_tools=(memcheck racecheck synccheck initcheck)

# The sanitizer subset: every kernel launched at least once, at small sizes (rehearse.sh checks the
# coverage with the emulator's launch trace against kernels/sm_90.resources).
SANITIZE=(
  --select-class dev.elbo4j.backend.cuda.CudaParityTest
  --select-method 'dev.elbo4j.backend.cuda.AutoencoderParityTest#corrupt(int, int, dev.elbo4j.backend.Corruption)'
  --select-method 'dev.elbo4j.backend.cuda.AutoencoderParityTest#sparsity(int, int)'
  --select-class dev.elbo4j.backend.cuda.CudaRbmParityTest
  --select-class dev.elbo4j.backend.cuda.StepGuardParityTest
  --select-class dev.elbo4j.backend.cuda.BatchCursorParityTest
  --select-class dev.elbo4j.backend.cuda.ColumnSumParityTest
  --select-class dev.elbo4j.backend.cuda.ConvParityTest
  --select-class dev.elbo4j.backend.cuda.CudaFvbmParityTest
)
TRAINING='dev.elbo4j.backend.cuda.(CudaTrainingParityTest|GraphTrainingParityTest|StepGuardParityTest|BatchCursorParityTest|JCudaParityTest|InteropParityTest)'

say "== elbo4j GPU check, call 1 (correctness): suite, train --device cuda, torch ctypes, sanitizers, CPU train"
say "plan (caps): suite 3 x ${SUITE_CAP_S:-100}s, all by ${SUITE_END_S:-160}s; train cuda 75s; ctypes 30s; 4 sanitizers x ${SANITIZER_CAP_S:-45}s; train cpu: the rest; deadline ${deadline}s"
setup_java || { pack; exit 1; }
machine_report
pack

# ---- 1. the suite ---------------------------------------------------------------------------------
suite_end=${SUITE_END_S:-160}
cap=${SUITE_CAP_S:-100}
suite() { # name selectors...
  local n=$1; shift
  step "suite-$n" "$cap" 20 --until $suite_end -- bash "$check/run-gpu-tests.sh" "$res/suite-$n" "$@"
  row "suite: $n" "$(junit_counts "$res/suite-$n.log" "$res/suite-$n/progress.tsv")"
}
suite kernels --select-class dev.elbo4j.backend.cuda.CudaParityTest
suite training --select-package dev.elbo4j.backend.cuda --include-classname "$TRAINING"
suite rest --select-package dev.elbo4j.backend.cuda \
  --exclude-classname "$TRAINING" --exclude-classname 'dev.elbo4j.backend.cuda.CudaParityTest'

# ---- 2. train --device cuda -----------------------------------------------------------------------
data=$work/data
if [ ! -f "$data/mnist/train-images-idx3-ubyte" ]; then
  mkdir -p "$data" && tar xJf "$check/mnist.tar.xz" -C "$data" || say "could not unpack MNIST from $check/mnist.tar.xz"
fi
train() { # device cap min
  local dev=$1 out=$work/runs/$1
  rm -rf "$out"
  # shellcheck disable=SC2086 # TRAIN_ARGS is a list of options
  step "train-$dev" "$2" "$3" -- env ELBO4J_DATA="$data" java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "$bundle/core/lib/*" dev.elbo4j.cli.Main train --device "$dev" --epochs 10 --no-progress --out "$out" ${TRAIN_ARGS:-}
  cp "$out/log.jsonl" "$res/train-$dev.log.jsonl" 2>/dev/null
  cp "$out/samples.png" "$res/train-$dev-samples.png" 2>/dev/null
  local log=$res/train-$dev.log final epochs
  final=$(grep -E '^test (ELBO|[a-z]+) ' "$log" 2>/dev/null | tail -1)
  epochs=$(grep -E '^epoch [0-9]+/' "$log" 2>/dev/null | sed -E 's/.*\(([0-9.]+) s, ([0-9]+) samples\/s.*/\1 \2/' \
           | awk '{ t += $1; n++; s += $2 } END { if (n) printf "%d epochs in %.1f s of training (%.0f samples/s mean)", n, t, s / n }')
  row "train --device $dev" "${final:-no result line}${epochs:+; $epochs}"
}
train cuda 75 25

# ---- 3. the C ABI on PyTorch's CUDA tensors -------------------------------------------------------
if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  xz -dc "$check/native/libelbo4j.so.xz" > "$work/libelbo4j.so"
  step torch-ctypes 30 10 -- "$py" "$check/native/torch_ctypes.py" "$work/libelbo4j.so"
  row "torch ctypes (C ABI)" "$(tail -2 "$res/torch-ctypes.log" | tr '\n' ' ' | cut -c1-200)"
else
  step_rc=-1; step_s=0; row "torch ctypes (C ABI)" "PyTorch here has no CUDA device ($("$py" -c 'import torch; print(torch.__version__)' 2>&1 | tail -1))"
fi

# ---- 4. compute-sanitizer -------------------------------------------------------------------------
san=$(sanitizer_path) || san=""
for tool in "${san_tools[@]}"; do
  if [ -z "$san" ]; then
    step_rc=-1; step_s=0; row "sanitizer: $tool" "compute-sanitizer not found on this host"; continue
  fi
  extra=""; [ "$tool" = memcheck ] && extra="--leak-check full"
  step "sanitize-$tool" "${SANITIZER_CAP_S:-45}" 15 -- env GPU_TEST_WRAPPER="$san --tool $tool $extra --error-exitcode 86 --print-limit 50 --target-processes all" bash "$check/run-gpu-tests.sh" "$res/sanitize-$tool" "${SANITIZE[@]}"
  errs=$(grep -E '=+ (ERROR SUMMARY|RACECHECK SUMMARY)' "$res/sanitize-$tool.log" 2>/dev/null | sed -E 's/^=+ //' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  row "sanitizer: $tool" "${errs:-no sanitizer summary line}; tests: $(junit_counts "$res/sanitize-$tool.log" "$res/sanitize-$tool/progress.tsv")"
  if grep -qE 'Device not supported|No attachable process|Target application terminated before first instrumented API call' "$res/sanitize-$tool.log" 2>/dev/null; then
    say "compute-sanitizer cannot check this device (see sanitize-$tool.log): the other tools are skipped"
    break
  fi
done

# ---- 5. train --device cpu, with what is left -----------------------------------------------------
train cpu 600 45
readme=$(awk -F'|' '/^\| test ELBO after 10 epochs/ { e = $3 } /^\| test log p\(x\), importance sampling, k = 100/ { l = $3 }
                    /^\| training time, 10 epochs/ { t = $3 }
                    END { gsub(/^ +| +$/, "", e); gsub(/^ +| +$/, "", l); gsub(/^ +| +$/, "", t); printf "test ELBO %s, log p(x) k=100 %s, training %s", e, l, t }' "$repo/README.md" 2>/dev/null)
say "README (the build machine's 2-core CPU, for comparison): $readme"

say "== call 1 done at $(elapsed)s: $OUT/call1-SUMMARY.txt, $OUT/call1-results.tar.gz"
pack
