#!/usr/bin/env bash
# Runs the CUDA test suite with plain java and JUnit's console launcher, from build/gpu-bundle/check
# (make gpu-bundle) on a host without Maven: the test classes and the launcher from lib/ here, the
# library from ../core/lib. Run it from the repository's root (KernelSourceTest reads kernels/*.cu).
#
# Usage: run-gpu-tests.sh [OUT [SELECTOR...]]
#   OUT       results folder (default ./results beside this script): gpu.txt, gpu-suite.txt, junit/*.xml,
#             progress.tsv (one line per test as it ends: what a run stopped by a timeout leaves;
#             the launcher's own output and XML come only at the end)
#   SELECTOR  JUnit console selectors and filters (default: --select-package dev.elbo4j.backend.cuda,
#             which takes in its sub-packages ffm and jcuda: both bindings)
# Environment: GPU_TEST_JAVA_OPTS (more JVM options, split on spaces), GPU_TEST_WRAPPER (a command
# line put before java, e.g. "compute-sanitizer --tool memcheck"), JAVA (default: java on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/results}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --select-package dev.elbo4j.backend.cuda
mkdir -p "$out"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true; } > "$out/gpu.txt"
cp=$(ls "$here"/lib/*.jar "$here"/../core/lib/*.jar 2>/dev/null | grep -v junit-platform-console | tr '\n' ':')
resources=$here/../core/sm_90.resources
[ -f "$resources" ] || resources=$here/sm_90.resources
# shellcheck disable=SC2086 # GPU_TEST_WRAPPER and GPU_TEST_JAVA_OPTS are word lists on purpose
${GPU_TEST_WRAPPER:-} "${JAVA:-java}" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m \
     -Delbo4j.gpu.required=true -Delbo4j.resources="$resources" -Delbo4j.test.progress="$out/progress.tsv" ${GPU_TEST_JAVA_OPTS:-} \
     -jar "$here/lib/junit-platform-console-standalone-1.11.4.jar" execute \
     -cp "$cp" "$@" --disable-banner --disable-ansi-colors --details=tree --reports-dir "$out/junit" 2>&1 | tee "$out/gpu-suite.txt"
