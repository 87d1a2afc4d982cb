#!/usr/bin/env python3
"""Rebuild an elbo4j VAE from its checkpoint alone and compute its test ELBO with numpy.

An independent reader of the format in docs/FORMAT.md: it parses the safetensors file with
struct/json, builds the MLPs from the `model` metadata, and reproduces elbo4j's evaluation
exactly, including its random numbers (Philox4x32-10 with the counter layout of
java/core/src/main/java/dev/elbo4j/rng/Philox.java), so the figure matches `elbo4j eval` to float
rounding, not just within Monte-Carlo noise.

  python3 tools/vae_elbo.py runs/default/checkpoint.safetensors data/mnist --limit 1000
  elbo4j eval -c runs/default --limit 1000 -k 1          # prints the same ELBO (L=1)
"""
import argparse
import gzip
import json
import struct
import sys

import numpy as np

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
EVAL, EVAL_BINARIZE = 6, 8


def philox(blocks, seed, stream, step):
    """Philox4x32-10 words for block indices `blocks` (uint64 array) -> (n, 4) uint32."""
    mask = np.uint64(0xFFFFFFFF)
    c0 = blocks & mask
    c1 = blocks >> np.uint64(32)
    c2 = np.full_like(blocks, step & 0xFFFFFFFF)
    c3 = np.full_like(blocks, (stream << 24) | ((step >> 32) & 0xFFFFFF))
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & mask,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & mask)
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def words(n, seed, stream, step):
    """Elements 0..n-1 of a draw: element j is word j % 4 of block j / 4."""
    w = philox(np.arange((n + 3) // 4, dtype=np.uint64), seed, stream, step)
    return w.reshape(-1)[:n]


def normals(n, seed, stream, step):
    w = philox(np.arange((n + 3) // 4, dtype=np.uint64), seed, stream, step).astype(np.float64)
    out = np.empty((w.shape[0], 4))
    for a, b, at in ((0, 1, 0), (2, 3, 2)):
        u1 = (w[:, a] + 1) * 2.0 ** -32
        t = 2 * np.pi * (w[:, b] * 2.0 ** -32)
        r = np.sqrt(-2 * np.log(u1))
        out[:, at], out[:, at + 1] = r * np.cos(t), r * np.sin(t)
    return out.reshape(-1)[:n].astype(np.float32)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    types = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1"}
    tensors = {k: np.frombuffer(data[base + v["data_offsets"][0]:base + v["data_offsets"][1]],
                                dtype=types[v["dtype"]]).reshape(v["shape"]) for k, v in header.items()}
    return meta, tensors


def read_idx(path):
    op = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with op(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(data[4 + 4 * len(dims):], dtype=np.uint8).reshape(dims)


ACT = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
       "identity": lambda v: v}


def mlp(x, tensors, prefix, layers, act):
    for i in range(layers):
        x = x @ tensors[f"{prefix}.{i}.weight"].astype(np.float64).T + tensors[f"{prefix}.{i}.bias"]
        x = ACT[act](x) if i + 1 < layers else x
    return x


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("data", help="folder with t10k-images-idx3-ubyte")
    p.add_argument("--limit", type=int, default=1000, help="first N test examples (at most 4096: one evaluation pass)")
    a = p.parse_args()
    meta, t = read_safetensors(a.checkpoint)
    model = json.loads(meta["model"])
    seed = int(json.loads(meta["training"])["seed"]) if "training" in meta else 1
    binarize = json.loads(meta["training"])["binarization"] if "training" in meta else "dynamic"
    n = min(a.limit, 4096)
    px = read_idx(f"{a.data}/t10k-images-idx3-ubyte")[:n].reshape(n, -1)
    d, z = model["input_dim"], model["latent"]
    x = px.astype(np.float32) / np.float32(255)
    if binarize != "none":  # one fixed draw of the test set: uniform of element n*D+d < pixel/255
        u = (words(n * d, seed, EVAL_BINARIZE, 0) >> 8).astype(np.float32) * np.float32(2.0 ** -24)
        x = (u.reshape(n, d) < x).astype(np.float32)
    stats = mlp(x.astype(np.float64), t, "encoder", len(model["encoder_hidden"]) + 1, model["activation"])
    mu, lv = stats[:, :z], stats[:, z:]
    eps = normals(n * z, seed, EVAL, 0).reshape(n, z).astype(np.float64)
    zs = mu + np.exp(0.5 * lv) * eps
    out = mlp(zs, t, "decoder", len(model["decoder_hidden"]) + 1, model["activation"])
    if model["likelihood"] == "bernoulli":
        rec = np.sum(np.maximum(out, 0) - x * out + np.log1p(np.exp(-np.abs(out))), axis=1)
    else:
        logvar = (t["decoder.logvar"].astype(np.float64) if model["likelihood"] == "gaussian-learned"
                  else np.full(d, np.log(model["sigma"] ** 2)))
        rec = np.sum(0.5 * (np.log(2 * np.pi) + logvar + (x - out) ** 2 / np.exp(logvar)), axis=1)
    kl = -0.5 * np.sum(1 + lv - mu ** 2 - np.exp(lv), axis=1)
    print(json.dumps({"examples": n, "elbo": float(np.mean(-rec - kl)), "reconstruction": float(np.mean(rec)),
                      "kl": float(np.mean(kl))}))


if __name__ == "__main__":
    sys.exit(main())
