#!/usr/bin/env bash
# Prints the home of a JDK >= 22 (the FFM API is final from 22 on): $JAVA_HOME if it qualifies,
# else the newest under /usr/lib/jvm. Exits 1 with what to install when there is none.
set -u
version_of() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}
for c in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/* /opt/java/* /opt/jdk* 2>/dev/null | sort -rV); do
  [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
  v=$(version_of "$c")
  if [ "${v%%.*}" -ge 22 ] 2>/dev/null; then echo "$c"; exit 0; fi
done
cat >&2 <<'MSG'
elbo4j needs a JDK 22 or newer (the FFM API), and none was found in $JAVA_HOME or /usr/lib/jvm.
Install one, e.g. `apt-get install openjdk-25-jdk` (Debian 13) or Eclipse Temurin 25, or point
JAVA_HOME at an existing JDK >= 22.
MSG
exit 1
