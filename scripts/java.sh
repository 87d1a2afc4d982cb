#!/usr/bin/env bash
# Runs java from a JDK >= 22 with the flags elbo4j needs (native access for the FFM bindings).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
JAVA_HOME=$("$here/find-jdk.sh") || exit 1
# --add-modules jdk.incubator.vector: SIMD maths on the CPU (the JVM prints one line saying it uses
# an incubating module); without it elbo4j runs scalar code and says so.
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector ${ELBO4J_JAVA_OPTS:-} "$@"
