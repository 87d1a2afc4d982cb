#!/usr/bin/env python3
"""Checks an `elbo4j export` folder from Python against elbo4j's own outputs.

    tools/check_export.py EXPORT_DIR REFERENCE_DIR

REFERENCE_DIR holds .npy files: x [N, D] (inputs in [0, 1]), mu and logvar [N, Z] (elbo4j's encoder) and
mean [N, D] (elbo4j's decoder at mu). With NumPy alone it reads model.safetensors by the format's
own rules and runs the documented recipe (Linear layers y = x W^T + b, the activation between
layers, mu and logvar as the encoder's first and second row blocks, the sigmoid for Bernoulli);
where PyTorch is installed it also loads model.py's Elbo4jVae and runs it. Prints one line per
check and exits 1 when a difference passes 1e-4.
"""
import importlib.util
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    return {k: np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype="<f4").reshape(e["shape"])
            for k, e in header.items()}, meta


def run(t, prefix, h, act):
    n = len([k for k in t if k.startswith(prefix + ".") and k.endswith(".weight")])
    for i in range(n):
        h = h @ t[f"{prefix}.{i}.weight"].T + t[f"{prefix}.{i}.bias"]
        if i < n - 1:
            h = act(h)
    return h


def main():
    folder = sys.argv[1]
    ref = {k: np.load(f"{sys.argv[2]}/{k}.npy") for k in ("x", "mu", "logvar", "mean")}
    t, meta = read_safetensors(f"{folder}/model.safetensors")
    model = json.loads(meta["model"])
    acts = {"relu": lambda h: np.maximum(h, 0), "tanh": np.tanh, "sigmoid": lambda h: 1 / (1 + np.exp(-h)), "identity": lambda h: h}
    act = acts[model["activation"]]
    z = model["latent"]
    bad = 0
    h = run(t, "encoder", ref["x"].astype(np.float64), act)
    mu, logvar = h[:, :z], h[:, z:]
    out = run(t, "decoder", ref["mu"].astype(np.float64), act)
    mean = 1 / (1 + np.exp(-out)) if model["likelihood"] == "bernoulli" else out
    for name, got in (("mu", mu), ("logvar", logvar), ("mean", mean)):
        d = float(np.max(np.abs(got - ref[name])))
        print(f"numpy {name}: max |difference| {d:.2e}")
        bad += d > 1e-4
    if importlib.util.find_spec("torch") is None:
        print("torch: not installed; model.py not run")
    else:
        import torch
        spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        vae = m.Elbo4jVae.load(f"{folder}/model.safetensors")
        with torch.no_grad():
            tm, tl = vae.encode(torch.from_numpy(ref["x"]))
            tmean = vae.decode(torch.from_numpy(ref["mu"]))
        for name, got in (("mu", tm), ("logvar", tl), ("mean", tmean)):
            d = float(np.max(np.abs(got.numpy() - ref[name])))
            print(f"torch {name}: max |difference| {d:.2e}")
            bad += d > 1e-4
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
