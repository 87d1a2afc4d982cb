#!/usr/bin/env bash
# Installs the optional native libraries elbo4j can use, when it can (root + apt-get).
# Never fails the build: elbo4j runs without them and says so.
#   openblas   Debian's libopenblas0-pthread (CPU GEMM)
#   numpy      Debian's python3-numpy (the test that reads a checkpoint with tools/vae_elbo.py)
#   torch      Debian's python3-torch and python3-numpy (the CPU peer for make bench-cpu)
#   fonts      fontconfig and fonts-dejavu-core (Java2D draws the plots' text with them)
set -u
want=("$@")
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkgs=()
for w in "${want[@]}"; do
  case "$w" in
    openblas) installed libopenblas0-pthread || pkgs+=(libopenblas0-pthread) ;;
    numpy) installed python3-numpy || pkgs+=(python3-numpy) ;;
    fonts) for p in fontconfig fonts-dejavu-core; do installed "$p" || pkgs+=("$p"); done ;;
    torch) for p in python3-torch python3-numpy libopenblas0-pthread; do installed "$p" || pkgs+=("$p"); done ;;
    *) echo "deps: unknown component $w" >&2; exit 2 ;;
  esac
done
[ ${#pkgs[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: not root or no apt-get: skipping ${pkgs[*]} (install them for speed)" >&2
  exit 0
fi
echo "deps: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${pkgs[@]}" >/tmp/elbo4j-deps.log 2>&1; then
  apt-get update -q >>/tmp/elbo4j-deps.log 2>&1 || true
  apt-get install -y -q "${pkgs[@]}" >>/tmp/elbo4j-deps.log 2>&1 \
    || echo "deps: could not install ${pkgs[*]} (see /tmp/elbo4j-deps.log); going on without" >&2
fi
exit 0
