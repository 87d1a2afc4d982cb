#!/usr/bin/env bash
# Builds the README's Java examples, every ```java block under "## The Java API" exactly as printed,
# each in the file its public class names, in a fresh Maven project that depends on
# dev.elbo4j:elbo4j-core as installed in the local repository, and checks
# the library jar's module name. Exits non-zero when either fails. Needs a build (`make`): it
# installs this checkout's jar and parent pom first (install:install-file, seconds), so the test
# is of this checkout even where another build shares ~/.m2. The OwnArrays example, which needs no
# data files, is also run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=0.1.0-SNAPSHOT
core_jar="$root/java/core/target/elbo4j-core-$version.jar"
[ -f "$core_jar" ] || { echo "consumer-test: $core_jar is missing: run make first" >&2; exit 1; }
"$root/scripts/mvn.sh" -q install:install-file -Dfile="$root/pom.xml" -DpomFile="$root/pom.xml"
"$root/scripts/mvn.sh" -q install:install-file -Dfile="$core_jar" -DpomFile="$root/java/core/pom.xml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/main/java"
# Every ```java block from the "## The Java API" heading to the next "## " heading, as block1.txt, ...
mkdir -p "$tmp/blocks"
awk -v dir="$tmp/blocks" '/^## /{api = ($0 == "## The Java API")} api&&/^```java$/{on=1; f=dir "/block" (++n) ".txt"; next}
  on&&/^```$/{on=0; close(f); next} on{print > f}' "$root/README.md"
classes=()
for block in "$tmp"/blocks/block*.txt; do
  [ -s "$block" ] || continue
  name=$(sed -n 's/^public class \([A-Za-z0-9_]*\).*/\1/p' "$block" | head -1)
  [ -n "$name" ] || { echo "consumer-test: a java block under '## The Java API' has no public class" >&2; exit 1; }
  [ ! -e "$tmp/src/main/java/$name.java" ] || { echo "consumer-test: two java blocks declare class $name" >&2; exit 1; }
  cp "$block" "$tmp/src/main/java/$name.java"
  classes+=("$name")
done
[ ${#classes[@]} -gt 0 ] || { echo "consumer-test: no java block under '## The Java API' in README.md" >&2; exit 1; }
cat > "$tmp/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>elbo4j-consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>22</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>dev.elbo4j</groupId>
      <artifactId>elbo4j-core</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
    </plugins>
  </build>
</project>
POM
"$root/scripts/mvn.sh" -q -f "$tmp/pom.xml" compile
for name in "${classes[@]}"; do
  [ -f "$tmp/target/classes/$name.class" ] || { echo "consumer-test: $name.class was not built" >&2; exit 1; }
done
jar_file="$HOME/.m2/repository/dev/elbo4j/elbo4j-core/$version/elbo4j-core-$version.jar"
java_home=$("$root/scripts/find-jdk.sh")
# Without Automatic-Module-Name the name would be derived from the file name (elbo4j.core).
module=$("$java_home/bin/jar" --describe-module --file "$jar_file" | grep -m1 ' automatic$' || true)
case "$module" in
  dev.elbo4j@*) ;;
  *) echo "consumer-test: $jar_file is the module '$module', expected dev.elbo4j (Automatic-Module-Name)" >&2; exit 1 ;;
esac
# OwnArrays needs no data files: run it as a user would, and check it trained and printed its codes.
if [[ " ${classes[*]} " == *" OwnArrays "* ]]; then
  out=$(cd "$tmp" && timeout 300 "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "$tmp/target/classes:$jar_file" OwnArrays 2>&1) || { echo "consumer-test: the README's OwnArrays example failed:" >&2; echo "$out" >&2; exit 1; }
  grep -q '^epoch 5/5: train ELBO' <<<"$out" && grep -q '^first code (' <<<"$out" \
    || { echo "consumer-test: the README's OwnArrays example ran but did not print its epochs and codes:" >&2; echo "$out" >&2; exit 1; }
fi
echo "consumer-test: the README's Java examples (${classes[*]}) compile against the installed elbo4j-core ($module); OwnArrays runs"
