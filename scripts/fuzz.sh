#!/usr/bin/env bash
# make fuzz: coverage-guided fuzzing (Jazzer, libFuzzer engine) of each file reader for a bounded
# time, FUZZ_SECONDS each (default 300). Prints, per reader, the inputs run and the time.
# The corpus grows in build/fuzz/corpus/READER (seeded from java/fuzz/src/test/resources/...);
# a finding (an input that breaks the reader's property) is written to build/fuzz/findings/ and
# fails the run: copy it into the seed folder so that `make test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-300}
TARGETS=${FUZZ_TARGETS:-"safetensors idx data"}
JAVA_HOME=$(scripts/find-jdk.sh)
MVN="scripts/mvn.sh -q -o"
$MVN -DskipTests install -pl java/core,java/fuzz -am >/dev/null
# The library's own classes from this checkout (not the jar in ~/.m2, which another build may replace).
$MVN -pl java/fuzz dependency:build-classpath -Dmdep.includeScope=test -Dmdep.excludeArtifactIds=elbo4j-core \
    -Dmdep.outputFile=target/test.classpath >/dev/null
CP="java/fuzz/target/test-classes:java/core/target/classes:$(cat java/fuzz/target/test.classpath)"
RES=java/fuzz/src/test/resources/dev/elbo4j/fuzz
mkdir -p build/fuzz/findings
status=0
for t in $TARGETS; do
  case $t in
    safetensors) cls=dev.elbo4j.fuzz.SafeTensorsFuzzTest; seeds=$RES/SafeTensorsFuzzTestInputs/safetensors ;;
    idx) cls=dev.elbo4j.fuzz.IdxFuzzTest; seeds=$RES/IdxFuzzTestInputs/idx ;;
    data) cls=dev.elbo4j.fuzz.DataFilesFuzzTest; seeds=$RES/DataFilesFuzzTestInputs/data ;;
    *) echo "fuzz: unknown target '$t' (known: safetensors idx data)" >&2; exit 2 ;;
  esac
  corpus=build/fuzz/corpus/$t
  log=build/fuzz/$t.log
  mkdir -p "$corpus"
  echo "fuzz: $t for ${SECONDS_EACH}s (log: $log)"
  start=$(date +%s)
  # -Xmx1g: a reader that allocates what a header claims instead of what the file holds runs out
  # of memory here (a finding) rather than passing on a big machine.
  set +e
  "$JAVA_HOME/bin/java" -Xmx1g -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED \
      --add-modules jdk.incubator.vector -cp "$CP" com.code_intelligence.jazzer.Jazzer \
      --target_class=$cls --instrumentation_includes='dev.elbo4j.**' --keep_going=1 \
      -max_total_time="$SECONDS_EACH" -max_len=16384 -rss_limit_mb=3072 -timeout=10 -print_final_stats=1 \
      -artifact_prefix=build/fuzz/findings/$t- "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s)
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
  echo "fuzz: $t: ${runs:-?} inputs in $((end - start)) s, $cov, corpus $(ls "$corpus" | wc -l) files, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    echo "fuzz: $t FAILED; the end of $log:" >&2
    tail -40 "$log" >&2
  fi
done
exit $status
