#!/usr/bin/env bash
# Runs Maven with a JDK >= 22 found by find-jdk.sh, whatever the default java is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
JAVA_HOME=$("$here/find-jdk.sh") || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
command -v mvn >/dev/null || { echo "elbo4j: Maven (mvn) is not installed: apt-get install maven" >&2; exit 1; }
exec mvn -B --no-transfer-progress "$@"
