#!/usr/bin/env bash
# Sums the Surefire reports of every module into one closing line: "N passed, N failed, N skipped".
# Usage: scripts/test-summary.sh [--newer FILE] [LABEL]
#   --newer FILE  count only reports written after FILE (a run that reuses a target/ folder)
#   LABEL         printed before the counts, e.g. "emulated device:"
set -euo pipefail
cd "$(dirname "$0")/.."
newer=
if [ "${1:-}" = --newer ]; then newer=$2; shift 2; fi
NEWER="$newer" LABEL="${1:-}" python3 - <<'PY'
import glob, os, xml.etree.ElementTree as ET
since = os.path.getmtime(os.environ["NEWER"]) if os.environ["NEWER"] else None
tests = fail = skip = 0
for f in glob.glob("**/target/surefire-reports/TEST-*.xml", recursive=True):
    if since is not None and os.path.getmtime(f) < since:
        continue
    r = ET.parse(f).getroot()
    tests += int(r.get("tests", 0)); skip += int(r.get("skipped", 0))
    fail += int(r.get("failures", 0)) + int(r.get("errors", 0))
label = os.environ["LABEL"]
print(f"{label + ' ' if label else ''}{tests - fail - skip} passed, {fail} failed, {skip} skipped")
PY
