#!/usr/bin/env bash
# Builds the GPU bundle (make gpu-bundle; after `make build native data-mnist`): what a GPU host
# without Java, Maven, git or network needs for the two prepared device calls (docs/GPU.md, "The GPU
# check"), in three folders that the device tool carries separately, so that each call carries only
# what it uses (the tool carries at most 64 MiB: the repository's files, the packed JRE and these):
#
#   build/gpu-bundle/core/    both calls: the core jar (kernels inside), the CLI jar and its libraries
#                             (JCuda's natives without its 24 MB PTX compiler, which elbo4j never
#                             loads), gpu-check/ (call1.sh, call2.sh, common.sh), sm_90.resources, COMMIT
#   build/gpu-bundle/check/   call 1: the test classes, JUnit's console launcher, run-gpu-tests.sh,
#                             libelbo4j.so (xz) with torch_ctypes.py, MNIST (tar.xz)
#   build/gpu-bundle/bench/   call 2: the benchmark jar and JMH, run-gpu-bench.sh, traffic.py, the
#                             PyTorch peer (run-gpu-bench.sh --stage)
#
# and the JRE at .device/jre.txz (SHARED/device/pack-jre; made once, FORCE_JRE=1 remakes it).
# Usage: scripts/gpu-check/bundle.sh [BUNDLE_DIR [SHARED_DIR]]   (defaults: build/gpu-bundle, ../shared)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
b=${1:-build/gpu-bundle}
shared=${2:-../shared}
v=0.1.0-SNAPSHOT
need() { [ -e "$1" ] || { echo "gpu-bundle: $1 missing: $2" >&2; exit 1; }; }
need java/core/target/elbo4j-core-$v.jar "make build first"
need java/core/target/elbo4j-core-$v-tests.jar "make build first (the core pom builds the test jar)"
need java/cli/target/elbo4j-cli-$v.jar "make build first"
need bench/target/elbo4j-bench-$v.jar "make build first"
need build/native/libelbo4j.so "make native (needs nvcc)"
need data/mnist/train-images-idx3-ubyte "make data-mnist first"
need "$shared/peers/pytorch_vae.py" "the PyTorch peer (set SHARED=... to the folder holding peers/ and device/)"
unzip -l java/core/target/elbo4j-core-$v.jar dev/elbo4j/kernels/elbo4j.fatbin >/dev/null 2>&1 \
  || { echo "gpu-bundle: the core jar has no kernels (build/kernels/elbo4j.fatbin): make kernels needs nvcc" >&2; exit 1; }

tmp=$b.partial
rm -rf "$tmp" && mkdir -p "$tmp/core/lib" "$tmp/core/gpu-check" "$tmp/check/lib" "$tmp/check/native"

# core
cp java/core/target/elbo4j-core-$v.jar java/cli/target/elbo4j-cli-$v.jar "$tmp/core/lib/"
for f in java/cli/target/lib/*.jar; do
  case $(basename "$f") in elbo4j-core-*) ;; *) cp "$f" "$tmp/core/lib/" ;; esac
done
for j in "$tmp"/core/lib/jcuda-natives-*.jar; do
  zip -q -d "$j" 'lib/libJNvPTXCompiler-*' || true
done
install -m 755 scripts/gpu-check/common.sh scripts/gpu-check/call1.sh scripts/gpu-check/call2.sh "$tmp/core/gpu-check/"
cp kernels/sm_90.resources "$tmp/core/"
{ git rev-parse HEAD | tr -d '\n'; git diff --quiet HEAD -- . ':!bench/runs' || printf '+dirty'; echo; } > "$tmp/core/COMMIT" 2>/dev/null \
  || echo unknown > "$tmp/core/COMMIT"

# check
cp java/core/target/elbo4j-core-$v-tests.jar "$tmp/check/lib/"
scripts/mvn.sh -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 \
  -DoutputDirectory="$root/$tmp/check/lib"
install -m 755 scripts/run-gpu-tests.sh "$tmp/check/"
xz -T0 -9 -c build/native/libelbo4j.so > "$tmp/check/native/libelbo4j.so.xz"
cp native/examples/torch_ctypes.py "$tmp/check/native/"
XZ_OPT="-T0 -9" tar cJf "$tmp/check/mnist.tar.xz" -C data mnist/train-images-idx3-ubyte mnist/train-labels-idx1-ubyte \
  mnist/t10k-images-idx3-ubyte mnist/t10k-labels-idx1-ubyte

# bench
PEER="$shared/peers/pytorch_vae.py" scripts/run-gpu-bench.sh --stage "$tmp/bench" >/dev/null
cp "$tmp/core/COMMIT" "$tmp/bench/COMMIT"

rm -rf "$b" && mv "$tmp" "$b"
if [ ! -f .device/jre.txz ] || [ -n "${FORCE_JRE:-}" ]; then
  [ ! -d .git ] || mkdir -p .git/info   # pack-jre records .device/ in .git/info/exclude
  "$shared/device/pack-jre"
fi
echo "gpu-bundle: $b (commit $(cat "$b/core/COMMIT")): core $(du -sh "$b/core" | cut -f1), check $(du -sh "$b/check" | cut -f1), bench $(du -sh "$b/bench" | cut -f1)"
