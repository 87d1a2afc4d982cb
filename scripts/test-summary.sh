#!/usr/bin/env bash
# Sums the Surefire reports of every module into one closing line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
tests = fail = skip = 0
for f in glob.glob("**/target/surefire-reports/TEST-*.xml", recursive=True):
    r = ET.parse(f).getroot()
    tests += int(r.get("tests", 0)); skip += int(r.get("skipped", 0))
    fail += int(r.get("failures", 0)) + int(r.get("errors", 0))
print(f"{tests - fail - skip} passed, {fail} failed, {skip} skipped")
PY
