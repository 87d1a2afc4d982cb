#!/usr/bin/env python3
"""Writes the hand-made part of the fuzz seed corpus (valid and broken safetensors and IDX files).

The two real checkpoints (checkpoint-model, checkpoint-gaussian-learned) were written by
Checkpoint.saveModel for tiny models; checkpoint-training is derived from the first here.
Usage: python3 java/fuzz/make_seeds.py   (from the repository root)
"""
import gzip, json, os, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src/test/resources/dev/elbo4j/fuzz")
ST = os.path.join(ROOT, "SafeTensorsFuzzTestInputs/safetensors")
IDX = os.path.join(ROOT, "IdxFuzzTestInputs/idx")


def st(header, data=b"", pad=True):
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def put(d, name, raw):
    with open(os.path.join(d, name), "wb") as f:
        f.write(raw)


def safetensors():
    put(ST, "empty-object", st({}))
    put(ST, "metadata-only", st({"__metadata__": {"format": "x"}}))
    put(ST, "all-dtypes", st({
        "f": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "d": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]},
        "i": {"dtype": "I32", "shape": [1, 1], "data_offsets": [16, 20]},
        "l": {"dtype": "I64", "shape": [], "data_offsets": [20, 28]},
        "u": {"dtype": "U8", "shape": [3], "data_offsets": [28, 31]},
        "z": {"dtype": "F32", "shape": [0, 5], "data_offsets": [31, 31]}},
        struct.pack("<2fdiqx", 1.5, -2, 3.25, 7, -9)[:28] + b"\x01\x02\x03"))
    put(ST, "out-of-order-data", st({
        "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]},
        "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, b"abcd"))
    put(ST, "overlap", st({
        "a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
        "b": {"dtype": "U8", "shape": [3], "data_offsets": [1, 4]}}, b"abcd"))
    put(ST, "gap", st({"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"ab"))
    put(ST, "span-mismatch", st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"abcd"))
    put(ST, "huge-shape", st({"a": {"dtype": "F64", "shape": [2147483647, 2147483647], "data_offsets": [0, 8]}}, b"x" * 8))
    put(ST, "negative-dim", st({"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}))
    put(ST, "bad-dtype", st({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"ab"))
    put(ST, "past-end", st({"a": {"dtype": "U8", "shape": [9], "data_offsets": [0, 9]}}, b"abc"))
    put(ST, "duplicate-key", struct.pack("<Q", 88) + (b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                                   b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}').ljust(88) + b"z")
    put(ST, "header-too-long", struct.pack("<Q", 1 << 40) + b"{}")
    put(ST, "header-length-negative", struct.pack("<q", -1) + b"{}      ")
    put(ST, "truncated-json", struct.pack("<Q", 16) + b'{"a":{"dtype":"')
    put(ST, "deep-json", st({"__metadata__": {"k": "v"}}, pad=False)[:8] + b"[" * 40)
    put(ST, "metadata-not-string", st({"__metadata__": {"format": 1}}))
    put(ST, "extra-key", st({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "x": 1}}, b"a"))
    put(ST, "trailing-bytes", st({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"ab"))
    put(ST, "unicode-escapes", st({"\u00e9\\u0041\ud83d\ude00": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"a"))
    put(ST, "short", b"\x08\x00\x00")
    # A training checkpoint (model + Adam state) derived from the real model checkpoint.
    raw = open(os.path.join(ST, "checkpoint-model"), "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    p = len(data) // 4
    header["__metadata__"]["training"] = json.dumps({"epochs": 2, "batch_size": 4, "optimizer": "adam", "lr": 1e-3,
        "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "binarization": "dynamic", "seed": "1"},
        separators=(",", ":"))
    header["__metadata__"]["state"] = json.dumps({"epoch": 1, "batch_in_epoch": 0, "step": 3}, separators=(",", ":"))
    header["optim.m"] = {"dtype": "F32", "shape": [p], "data_offsets": [len(data), 2 * len(data)]}
    header["optim.v"] = {"dtype": "F32", "shape": [p], "data_offsets": [2 * len(data), 3 * len(data)]}
    put(ST, "checkpoint-training", st(header, data * 3))
    header["__metadata__"]["model"] = header["__metadata__"]["model"].replace('"latent":1', '"latent":2')
    put(ST, "checkpoint-model-mismatch", st(header, data * 3))


def idx():
    def images(n, r, c, body=None):
        return struct.pack(">IIII", 0x803, n, r, c) + (bytes(range(n * r * c)) if body is None else body)
    put(IDX, "images-2x2x3", images(2, 2, 3))
    put(IDX, "labels-3", struct.pack(">II", 0x801, 3) + b"\x07\x00\x09")
    put(IDX, "rank-2", struct.pack(">III", 0x802, 2, 2) + b"\x01\x02\x03\x04")
    put(IDX, "empty-images", images(0, 28, 28))
    put(IDX, "images-gz", gzip.compress(images(3, 2, 2), mtime=0))
    put(IDX, "labels-gz", gzip.compress(struct.pack(">II", 0x801, 2) + b"\x01\x02", mtime=0))
    put(IDX, "truncated", images(2, 2, 3)[:-1])
    put(IDX, "trailing", images(1, 1, 1) + b"\x00")
    put(IDX, "count-lies", images(60000, 28, 28, b"\x00" * 16))
    put(IDX, "count-lies-gz", gzip.compress(images(2147483647, 65535, 65535, b"\x00" * 64), mtime=0))
    put(IDX, "wrong-magic", struct.pack(">II", 0x0D03, 1) + b"\x00")
    put(IDX, "float-type", struct.pack(">II", 0x0D01, 1) + b"\x00\x00\x80\x3f")
    put(IDX, "gzip-corrupt", gzip.compress(images(1, 1, 1), mtime=0)[:-5] + b"\xff\xff\xff\xff\xff")
    put(IDX, "short", b"\x00\x00\x08")


if __name__ == "__main__":
    os.makedirs(ST, exist_ok=True)
    os.makedirs(IDX, exist_ok=True)
    safetensors()
    idx()
