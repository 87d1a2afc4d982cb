#!/usr/bin/env bash
# What each prepared GPU call uploads, against the device tool's 64 MiB: the repository's files
# that travel with every call (tracked, and untracked but not ignored; shared/ where the checkout
# has one) plus the call's carried paths (docs/GPU.md, "The GPU check"). Prints one line per call
# and exits 1 when a call would not fit. make gpu-bundle runs it.
# Usage: scripts/gpu-check/size.sh [BUNDLE_DIR]   (default build/gpu-bundle)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
b=${1:-build/gpu-bundle}
limit=$((64 * 1024 * 1024))
bytes() { # paths...: the bytes of the regular files under them
  local t=0 p
  for p in "$@"; do
    [ -e "$p" ] || { echo "size: $p missing: make gpu-bundle" >&2; exit 1; }
    t=$(( t + $(find "$p" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') ))
  done
  echo $t
}
tree=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
[ -d shared ] && tree=$(( tree + $(bytes shared) ))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
status=0
printf 'gpu-check upload sizes (the device tool carries at most %s):\n' "$(mib $limit)"
printf '  the repository (tracked + untracked, not ignored)  %s\n' "$(mib "$tree")"
printf '  .device (the packed JRE)                           %s\n' "$(mib "$(bytes .device)")"
for part in core check bench; do
  printf '  %-50s %s\n' "$b/$part" "$(mib "$(bytes "$b/$part")")"
done
for call in "1 check" "2 bench"; do
  set -- $call
  total=$(( tree + $(bytes .device "$b/core" "$b/$2") ))
  verdict="fits, $(mib $(( limit - total ))) to spare"
  [ $total -le $limit ] || { verdict="DOES NOT FIT: $(mib $(( total - limit ))) over"; status=1; }
  printf '  call %s: carry [".device", "%s/core", "%s/%s"]: %s of %s (%s)\n' "$1" "$b" "$b" "$2" "$(mib $total)" "$(mib $limit)" "$verdict"
done
exit $status
