#!/usr/bin/env bash
# The library's API documentation and its doclint gate (make doc; make test runs it after the
# build): the Javadoc of every package of java/core into build/javadoc (open index.html), with
# doclint's every check on (-Xdoclint:all). Exits non-zero, listing each problem with its file and
# line, when a public or protected element has no comment, a comment is broken (HTML, a {@link} that
# does not resolve, a bad tag), a record component has no @param, a type parameter no @param, or a
# declared checked exception no @throws, or when the generated pages list a member without a
# description (what doclint misses: a static field of a record, an undocumented close() or
# toString() override). Allowed: the @param and @return tags of methods and
# constructors, which doclint also wants but the project's prose style folds into the description
# ("The number of elements." rather than "@return the number of elements").
# Needs a build (make): reads the compile classpath java/core's Maven build writes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/javadoc
[ "${1:-}" = --out ] && { out=$2; shift 2; }
cp_file=java/core/target/javadoc-classpath.txt
[ -f "$cp_file" ] || { echo "javadoc: $cp_file is missing: build first (make)" >&2; exit 1; }
JAVA_HOME=$(scripts/find-jdk.sh) || exit 1
log=$(mktemp)
trap 'rm -f "$log" "$log.counts"' EXIT
rm -rf "$out"
status=0
# English messages whatever the locale: the filter below reads them.
"$JAVA_HOME/bin/javadoc" -J-Duser.language=en -J-Duser.country=US -quiet -encoding UTF-8 \
  -Xdoclint:all -Xmaxwarns 100000 -Xmaxerrs 100000 \
  --add-modules jdk.incubator.vector -classpath "$(cat "$cp_file")" \
  -sourcepath java/core/src/main/java -subpackages dev.elbo4j \
  -overview java/core/src/main/javadoc/overview.html \
  -windowtitle "elbo4j API" -doctitle "elbo4j API" \
  -d "$out" >"$log" 2>&1 || status=$?
# Each diagnostic is "FILE:LINE: warning|error: MESSAGE" followed by the source line and a caret.
# Allowed: "no @return", and "no @param for NAME" (not <T>) unless the line declares a record.
awk -v root="$root/" '
  function flush() { if (held != "") { print held; problems++ } held = "" }
  /^[^ ].*:[0-9]+: (warning|error): / {
    flush()
    line = $0
    match(line, /:[0-9]+: /); file = substr(line, 1, RSTART - 1); ln = substr(line, RSTART + 1, RLENGTH - 3) + 0
    msg = substr(line, RSTART + RLENGTH)
    allowed = 0
    if (msg ~ /^warning: no @return$/) allowed = 1
    if (msg ~ /^warning: no @param for [^<]/) {
      src = ""; f = (file ~ /^\//) ? file : root file
      for (i = 1; i <= ln && (getline s < f) > 0; i++) src = s
      close(f)
      if (src !~ /(^|[ \t])record[ \t]/) allowed = 1
    }
    ctx = 2
    if (allowed) { tags++; next }
    held = line; next
  }
  ctx > 0 { ctx--; if (held != "") held = held "\n" $0; next }
  /^[0-9,]+ (warnings?|errors?)$/ { next }
  /^warning: \[incubating\] using incubating module\(s\): jdk\.incubator\.vector$/ { next }
  { flush(); if ($0 != "") { print; problems++ } }
  END { flush(); printf "%d %d\n", problems + 0, tags + 0 > "/dev/stderr" }
' "$log" 2>"$log.counts" || true
read -r problems tags <"$log.counts"; rm -f "$log.counts"
# What doclint does not see: a member listed in a class's summary with no description (a static field of
# a record; an override of a JDK method, e.g. close(), whose comment javadoc cannot inherit here).
if [ "$status" -eq 0 ]; then
  undescribed=$(OUT="$out" python3 - <<'PY'
import glob, os, re, sys
out = os.environ["OUT"]
rows = missing = 0
for f in sorted(glob.glob(out + "/dev/**/*.html", recursive=True)):
    if "/class-use/" in f or f.endswith(("-summary.html", "-tree.html", "-use.html")):
        continue
    page = open(f, encoding="utf-8").read()
    for m in re.finditer(r'<div class="col-(?:first|second|constructor-name)[^"]*"><code>((?:(?!</code>).)*?'
                         r'member-name-link(?:(?!</code>).)*?)</code></div>\s*<div class="col-last[^"]*">(.*?)</div>',
                         page, re.S):
        rows += 1
        if not re.sub(r"<[^>]+>|&nbsp;", "", m.group(2)).strip():
            cls = f[len(out) + 1:-len(".html")].replace("/", ".")
            print(cls + "." + re.sub(r"<[^>]+>|&nbsp;", "", m.group(1)).replace("\n", " ")
                  + ": listed without a description")
            missing += 1
if rows == 0:
    print("no member summary found in " + out + ": the javadoc page layout changed; update scripts/javadoc.sh")
    missing += 1
sys.exit(1 if missing else 0)
PY
) || { printf '%s\n' "$undescribed"; problems=$((problems + $(printf '%s\n' "$undescribed" | wc -l))); }
fi
if [ "$problems" -gt 0 ] || [ "$status" -ne 0 ]; then
  echo "javadoc: $problems documentation problem(s) in java/core (javadoc exit $status): every public or protected element needs a comment, and doclint must accept it (scripts/javadoc.sh)" >&2
  exit 1
fi
echo "javadoc: $out/index.html; doclint clean ($tags method @param/@return tags left to the prose)"
