#!/usr/bin/env bash
# Runs java from a JDK >= 22 with the flags elbo4j needs (native access for the FFM bindings).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
JAVA_HOME=$("$here/find-jdk.sh") || exit 1
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED ${ELBO4J_JAVA_OPTS:-} "$@"
