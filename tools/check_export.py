#!/usr/bin/env python3
"""Checks an `elbo4j export` folder from Python against elbo4j's own outputs.

    tools/check_export.py EXPORT_DIR REFERENCE_DIR [EXPORT_DIR REFERENCE_DIR ...]

REFERENCE_DIR holds .npy files: x [N, D] (inputs in [0, 1]), z [N, Z] (codes; mu where absent) and
mean [N, D] (elbo4j's decoder at z: the likelihood's mean, or an autoencoder's reconstruction);
for the VAE, CVAE and M2 mu and logvar [N, Z] (elbo4j's encoder), for an autoencoder code [N, Z]
(its encoder); for the CVAE and M2 y [N, C], the one-hot labels of x and of z; for M2 logits
[N, C] (the classifier's) and optionally mu_argmax [N, Z] (mu under the classifier's argmax). For NICE:
x [N, D] (dequantized), z and log_px [N, 1] (elbo4j's f(x) and log p(x)), zs [N, D] and x_inv (f^-1(zs));
x is also checked to come back from f^-1(f(x)) ("x_roundtrip"). For the RBM: v [N, V], p_h [N, H],
free_energy [N, 1], h [N, H] and p_v [N, V]. For the DBN: v [N, D], p_h0, p_h1, ... (each layer's mean-field
features), h [N, H_top], p_v (the mean-field pass down from h) and recon (elbo4j's up-down reconstruction of v).
A Gibbs sweep: u_h, u_v (the uniforms), gibbs_h, gibbs_p_v and gibbs_v_next (elbo4j's samples and p(v|h)) at v for
the RBM; the same with the prefix top_ (and top_v, the top RBM's visible units) for the DBN's top RBM.
For the FVBM: v [N, d], p (p(v_i = 1 | v_-i) for every i), energy [N, 1] and log_p [N, 1] (elbo4j's exact
log p(v); model.py only, through its enumerated log Z). For a planar-flow VAE, beside the VAE's: z0 [N, Z],
zK and log_det [N, 1] (elbo4j's flow of z0) and code (elbo4j's code of x, mu through the flow). With NumPy alone it reads model.safetensors by the format's own rules
and runs the documented recipe (Linear layers y = x W^T + b, the activation between layers, a
conditional first layer's y U^T added, a tied layer's h W with the encoder's weight, mu and logvar
as the encoder's first and second row blocks, the sigmoid for Bernoulli; for a conv model the
convolutions and transposed convolutions written out as sums over kernel positions, from the
layout strings in the file's metadata, docs/CONV.md); where PyTorch is installed it also loads
model.py's module (Elbo4jVae, Elbo4jAutoencoder, Elbo4jCvae, Elbo4jM2, Elbo4jNice, Elbo4jRbm, Elbo4jDbn or Elbo4jFvbm) and runs it. Prints one
line per check (with several pairs, each pair's lines after a line "== EXPORT_DIR") and exits 1
when a difference passes 1e-4.
"""
import importlib.util
import json
import os
import re
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


def dense(t, prefix, h, act, last_act=None, y=None, tied=None):
    """The dense layers prefix.0, prefix.1, ...: act between them, last_act (a function, or None) after the
    last; y joins layer 0 through its label_weight; with tied, layer i is h W + b with W = tied.(n-1-i).weight."""
    n = len([k for k in t if re.fullmatch(re.escape(prefix) + r"\.\d+\.bias", k)])
    for i in range(n):
        if tied is not None:
            h = h @ t[f"{tied}.{n - 1 - i}.weight"] + t[f"{prefix}.{i}.bias"]
        else:
            h = h @ t[f"{prefix}.{i}.weight"].T + t[f"{prefix}.{i}.bias"]
        if i == 0 and f"{prefix}.0.label_weight" in t:
            h = h + y @ t[f"{prefix}.0.label_weight"].T
        if i < n - 1:
            h = act(h)
        elif last_act is not None:
            h = last_act(h)
    return h


def layers(spec, prefix):
    """[(channels, kernel, stride, padding)] of a "conv:CxK[sS][pP],..." string; [] for "mlp"."""
    if spec in (None, "mlp"):
        return []
    out = []
    for token in spec[len(prefix):].split(","):
        m = re.fullmatch(r"(\d+)x(\d+)(?:s(\d+))?(?:p(\d+))?", token)
        out.append((int(m[1]), int(m[2]), int(m[3] or 1), int(m[4] or 0)))
    return out


def conv2d(x, w, b, s, p):
    """y[n, o, i, j] = b[o] + sum over c, kh, kw of w[o, c, kh, kw] x[n, c, s i + kh - p, s j + kw - p] (0 outside)."""
    n, c, h, wd = x.shape
    _, _, kh, kw = w.shape
    oh, ow = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    y = np.zeros((n, w.shape[0], oh, ow))
    for a in range(kh):
        for e in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, a:a + s * (oh - 1) + 1:s, e:e + s * (ow - 1) + 1:s], w[:, :, a, e])
    return y + b[None, :, None, None]


def conv_transpose2d(x, w, b, s, p, h, wd):
    """The adjoint of conv2d onto an h x wd grid: x[n, c, i, j] adds w[c, o, kh, kw] x to y[n, o, s i + kh - p, s j + kw - p]."""
    n, _, ih, iw = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, max(h + 2 * p, s * (ih - 1) + kh), max(wd + 2 * p, s * (iw - 1) + kw)))
    for a in range(kh):
        for e in range(kw):
            full[:, :, a:a + s * (ih - 1) + 1:s, e:e + s * (iw - 1) + 1:s] += np.einsum("nchw,co->nohw", x, w[:, :, a, e])
    return full[:, :, p:p + h, p:p + wd] + b[None, :, None, None]


def encode(t, model, x, act, y=None, last_act=None, prefix="encoder"):
    """The encoder's output (or, prefix "classifier", M2's classifier's, whose conv layers are its own)."""
    h = x
    enc = layers(model.get("encoder_conv"), "conv:")
    if enc:
        c, height, width = model["conv_image"]
        h = h.reshape(-1, height, width, c).transpose(0, 3, 1, 2)  # colour rows are stored channels last
        for i, (_, _, s, p) in enumerate(enc):
            h = act(conv2d(h, t[f"{prefix}.conv.{i}.weight"], t[f"{prefix}.conv.{i}.bias"], s, p))
        h = h.reshape(len(x), -1)
    return dense(t, prefix, h, act, last_act=last_act, y=y)


def decode(t, model, z, act, y=None, tied=None):
    dec = layers(model.get("decoder_conv"), "deconv:")
    h = dense(t, "decoder", z, act, last_act=act if dec else None, y=y, tied=tied)
    if dec:
        # Each layer's output grid, worked back from the image: its input grid is the convolution's output of it.
        c, height, width = model["conv_image"]
        grids = [(height, width)]
        for (_, k, s, p) in reversed(dec):
            grids.insert(0, ((grids[0][0] + 2 * p - k) // s + 1, (grids[0][1] + 2 * p - k) // s + 1))
        h = h.reshape(len(z), dec[0][0], *grids[0])
        for i, (_, _, s, p) in enumerate(dec):
            h = conv_transpose2d(h, t[f"decoder.deconv.{i}.weight"], t[f"decoder.deconv.{i}.bias"], s, p, *grids[i + 1])
            if i < len(dec) - 1:
                h = act(h)
        h = h.transpose(0, 2, 3, 1).reshape(len(z), -1)
    return h


def sigmoid(h):
    return 1 / (1 + np.exp(-h))


def softplus(h):
    return np.logaddexp(0, h)


def nice_forward(t, model, x):
    """NICE's (z, log p(x)): the even / odd columns, coupling i adding its ReLU MLP of one half to the other,
    the halves times exp(scale), back in column order; log p(x) the prior's log-density plus sum(scale)."""
    h = [x[:, 0::2].copy(), x[:, 1::2].copy()]
    relu = lambda a: np.maximum(a, 0)
    for i in range(model["couplings"]):
        h[1 - i % 2] = h[1 - i % 2] + dense(t, f"coupling.{i}", h[i % 2], relu)
    z = np.empty_like(x)
    z[:, 0::2], z[:, 1::2] = h[0] * np.exp(t["scale.even"]), h[1] * np.exp(t["scale.odd"])
    if model["prior"] == "logistic":
        log_prior = -softplus(z) - softplus(-z)
    else:
        log_prior = -0.5 * z * z - 0.5 * np.log(2 * np.pi)
    return z, log_prior.sum(1, keepdims=True) + t["scale.even"].sum() + t["scale.odd"].sum()


def nice_inverse(t, model, z):
    relu = lambda a: np.maximum(a, 0)
    h = [z[:, 0::2] * np.exp(-t["scale.even"]), z[:, 1::2] * np.exp(-t["scale.odd"])]
    for i in reversed(range(model["couplings"])):
        h[1 - i % 2] = h[1 - i % 2] - dense(t, f"coupling.{i}", h[i % 2], relu)
    x = np.empty_like(z)
    x[:, 0::2], x[:, 1::2] = h
    return x


def planar(t, z):
    """A VAE's planar flow of z0 = z: (z_K, sum_k log|det_k| [N, 1]) with u_hat_k = u_k + (m(w_k . u_k) - w_k . u_k)
    w_k / |w_k|^2, m(a) = softplus(a) - 1, and log|det_k| = log(t^2 + (1 - t^2) softplus(w_k . u_k)), t = tanh(w_k . z + b_k)."""
    u, w, b = t["flow.u"], t["flow.w"], t["flow.b"]
    alpha = (w * u).sum(1)
    sp = softplus(alpha)
    u_hat = u + ((sp - 1 - alpha) / (w * w).sum(1))[:, None] * w
    log_det = np.zeros((len(z), 1))
    for k in range(len(b)):
        a = z @ w[k] + b[k]
        tk = np.tanh(a)[:, None]
        z = z + tk * u_hat[k]
        log_det += np.log(tk * tk + (1 - tk * tk) * sp[k])
    return z, log_det


def gibbs_sweep(w, b, c, ref, prefix):
    """One Gibbs sweep of the RBM (w [V, H], b, c) at ref[prefix + "v"] with the uniforms u_h, u_v: h = (u_h < p(h|v)),
    p_v = p(v|h), v_next = (u_v < p_v), under prefix + "gibbs_" + name."""
    h = (ref[prefix + "u_h"] < sigmoid(ref[prefix + "v"] @ w + c)).astype(np.float64)
    p_v = sigmoid(h @ w.T + b)
    v_next = (ref[prefix + "u_v"] < p_v).astype(np.float64)
    return {prefix + "gibbs_h": h, prefix + "gibbs_p_v": p_v, prefix + "gibbs_v_next": v_next}


def fvbm_couplings(t):
    """S = (W + W^T) / 2 with a zero diagonal."""
    s = (t["weight"] + t["weight"].T) / 2
    return s - np.diag(np.diag(s))


# Sums over a row's D terms (hundreds to thousands of nats on MNIST): float32 holds them to about 1e-7
# of their size (at 2048 a float32 step is 2.4e-4), so they are held to 1e-4 relative to max(1, |value|).
RELATIVE = {k: " (relative to max(1, |value|))" for k in ("log_px", "free_energy", "energy", "log_p")}


def difference(got, want, name):
    d = np.abs(got - want)
    if name in RELATIVE:
        d = d / np.maximum(1, np.abs(want))
    return float(np.max(d))


def check_flow_or_rbm(folder, refdir, t, model):
    """NICE, the RBM or the DBN against the references the module docstring lists; returns the number of failed checks."""
    family = model["type"]
    layers = len(model["hidden"]) if family == "dbn" else 0
    gibbs = ("u_h", "u_v", "gibbs_h", "gibbs_p_v", "gibbs_v_next")
    names = {"nice": ("x", "z", "log_px", "zs", "x_inv"), "rbm": ("v", "p_h", "free_energy", "h", "p_v") + gibbs,
             "fvbm": ("v", "p", "energy", "log_p"),
             "dbn": ("v", "h", "p_v", "recon", "top_v") + tuple(f"p_h{l}" for l in range(layers))
             + tuple("top_" + k for k in gibbs)}[family]
    ref = {k: np.load(f"{refdir}/{k}.npy").astype(np.float64) for k in names}
    if family == "nice":
        z, log_px = nice_forward(t, model, ref["x"])
        got = {"z": z, "log_px": log_px, "x_inv": nice_inverse(t, model, ref["zs"]), "x_roundtrip": nice_inverse(t, model, z)}
        ref["x_roundtrip"] = ref["x"]
    elif family == "dbn":
        got, h = {}, ref["v"]
        for l in range(layers):
            h = got[f"p_h{l}"] = sigmoid(h @ t[f"layer{l}.weight"] + t[f"layer{l}.hidden_bias"])

        def down(h):
            for l in reversed(range(layers)):
                h = sigmoid(h @ t[f"layer{l}.weight"].T + t[f"layer{l}.visible_bias"])
            return h
        got["p_v"], got["recon"] = down(ref["h"]), down(h)
        top = f"layer{layers - 1}."
        got.update(gibbs_sweep(t[top + "weight"], t[top + "visible_bias"], t[top + "hidden_bias"], ref, "top_"))
    elif family == "fvbm":
        s, b = fvbm_couplings(t), t["visible_bias"]
        got = {"p": sigmoid(ref["v"] @ s + b), "energy": (-(ref["v"] @ b) - 0.5 * ((ref["v"] @ s) * ref["v"]).sum(1))[:, None]}
    else:
        w, b, c = t["weight"], t["visible_bias"], t["hidden_bias"]
        a = ref["v"] @ w + c
        got = {"p_h": sigmoid(a), "free_energy": (-(ref["v"] @ b) - softplus(a).sum(1))[:, None],
               "p_v": sigmoid(ref["h"] @ w.T + b)}
        got.update(gibbs_sweep(w, b, c, ref, ""))
    bad = 0
    for name, value in got.items():
        d = difference(value, ref[name], name)
        print(f"numpy {name}: max |difference| {d:.2e}{RELATIVE.get(name, '')}")
        bad += d > 1e-4
    if importlib.util.find_spec("torch") is None:
        print("torch: not installed; model.py not run")
        return bad
    import torch
    spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    f32 = {k: torch.from_numpy(v.astype(np.float32)) for k, v in ref.items()}
    with torch.no_grad():
        if family == "nice":
            net = m.Elbo4jNice.load(f"{folder}/model.safetensors")
            z, log_px = net(f32["x"])
            tgot = {"z": z, "log_px": log_px[:, None], "x_inv": net.inverse(f32["zs"]), "x_roundtrip": net.inverse(z)}
        elif family == "dbn":
            net = m.Elbo4jDbn.load(f"{folder}/model.safetensors")
            tgot = {f"p_h{l}": p for l, p in enumerate(net.up(f32["v"]))}
            tgot["p_v"], tgot["recon"] = net.down(f32["h"]), net.reconstruct(f32["v"])
            h, p_v, v_next = net.top().gibbs(f32["top_v"], f32["top_u_h"], f32["top_u_v"])
            tgot.update({"top_gibbs_h": h, "top_gibbs_p_v": p_v, "top_gibbs_v_next": v_next})
        elif family == "fvbm":
            net = m.Elbo4jFvbm.load(f"{folder}/model.safetensors")
            energy = net.energy(f32["v"])
            tgot = {"p": net.conditionals(f32["v"]), "energy": energy[:, None], "log_p": (-energy - net.log_z())[:, None]}
        else:
            net = m.Elbo4jRbm.load(f"{folder}/model.safetensors")
            tgot = {"p_h": net.hidden(f32["v"]), "free_energy": net.free_energy(f32["v"])[:, None], "p_v": net.visible(f32["h"])}
            h, p_v, v_next = net.gibbs(f32["v"], f32["u_h"], f32["u_v"])
            tgot.update({"gibbs_h": h, "gibbs_p_v": p_v, "gibbs_v_next": v_next})
    for name, value in tgot.items():
        d = difference(value.numpy().astype(np.float64), ref[name], name)
        print(f"torch {name}: max |difference| {d:.2e}{RELATIVE.get(name, '')}")
        bad += d > 1e-4
    return bad


def check(folder, refdir):
    """Prints one line per check of one export against its references; returns the number of failed checks."""
    t, meta = read_safetensors(f"{folder}/model.safetensors")
    model = json.loads(meta["model"])
    family = model["type"]
    if family in ("nice", "rbm", "dbn", "fvbm"):
        return check_flow_or_rbm(folder, refdir, {k: v.astype(np.float64) for k, v in t.items()}, model)
    names = {"ae": ("x", "code", "mean")}.get(family, ("x", "mu", "logvar", "mean"))
    names += ("y",) if family in ("cvae", "m2") else ()
    names += ("logits",) if family == "m2" else ()
    flow = model.get("flow", "none") == "planar"
    names += ("z0", "zK", "log_det", "code") if flow else ()
    ref = {k: np.load(f"{refdir}/{k}.npy") for k in names}
    ref["z"] = np.load(f"{refdir}/z.npy") if os.path.exists(f"{refdir}/z.npy") else ref["mu"]
    acts = {"relu": lambda h: np.maximum(h, 0), "tanh": np.tanh, "sigmoid": sigmoid, "identity": lambda h: h}
    act = acts[model["activation"]]
    x, z, y = ref["x"].astype(np.float64), ref["z"].astype(np.float64), ref.get("y")
    y = None if y is None else y.astype(np.float64)
    got = {}
    if family == "ae":
        sparse = model["sparsity_weight"] > 0
        got["code"] = encode(t, model, x, act, last_act=sigmoid if sparse else None)
        out = decode(t, model, z, act, tied="encoder" if model["tied"] else None)
        got["mean"] = sigmoid(out) if model["reconstruction"] == "bernoulli" else out
    else:
        latent = model["latent"]
        h = encode(t, model, x, act, y=y)
        got["mu"], got["logvar"] = h[:, :latent], h[:, latent:]
        out = decode(t, model, z, act, y=y)
        got["mean"] = sigmoid(out) if model["likelihood"] == "bernoulli" else out
        if family == "m2":
            got["logits"] = encode(t, model, x, act, prefix="classifier")
        if flow:
            got["zK"], got["log_det"] = planar(t, ref["z0"].astype(np.float64))
            got["code"] = planar(t, got["mu"])[0]
    bad = 0
    for name in names[1:]:
        if name in ("y", "z0"):
            continue
        d = float(np.max(np.abs(got[name] - ref[name])))
        print(f"numpy {name}: max |difference| {d:.2e}")
        bad += d > 1e-4
    if importlib.util.find_spec("torch") is None:
        print("torch: not installed; model.py not run")
    else:
        import torch
        spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        cls = {"vae": "Elbo4jVae", "ae": "Elbo4jAutoencoder", "cvae": "Elbo4jCvae", "m2": "Elbo4jM2"}[family]
        net = getattr(m, cls).load(f"{folder}/model.safetensors")
        tx, tz = torch.from_numpy(ref["x"]), torch.from_numpy(ref["z"])
        ty = None if ref.get("y") is None else torch.from_numpy(ref["y"])
        with torch.no_grad():
            if family == "ae":
                tgot = {"code": net.encode(tx), "mean": net.decode(tz)}
            elif family == "vae":
                tm, tl = net.encode(tx)
                tgot = {"mu": tm, "logvar": tl, "mean": net.decode(tz)}
                if flow:
                    zk, log_det = net.flow(torch.from_numpy(ref["z0"]))
                    tgot.update({"zK": zk, "log_det": log_det[:, None], "code": net.code(tx)})
            else:
                tm, tl = net.encode(tx, ty)
                tgot = {"mu": tm, "logvar": tl, "mean": net.decode(tz, ty)}
                if family == "m2":
                    tgot["logits"] = net.logits(tx)
                    probs = net.classify(tx).numpy()
                    p = np.exp(ref["logits"] - ref["logits"].max(axis=1, keepdims=True))
                    tgot["probs"] = probs
                    ref["probs"] = p / p.sum(axis=1, keepdims=True)
                    if os.path.exists(f"{refdir}/mu_argmax.npy"):  # encode(x) without y: the classifier's argmax
                        tgot["mu_argmax"] = net.encode(tx)[0]
                        ref["mu_argmax"] = np.load(f"{refdir}/mu_argmax.npy")
        for name, value in tgot.items():
            d = float(np.max(np.abs(np.asarray(value, dtype=np.float64) - ref[name])))
            print(f"torch {name}: max |difference| {d:.2e}")
            bad += d > 1e-4
    return bad


def main():
    pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
    if not pairs or len(sys.argv) % 2 == 0:
        sys.exit("usage: check_export.py EXPORT_DIR REFERENCE_DIR [EXPORT_DIR REFERENCE_DIR ...]")
    bad = 0
    for folder, refdir in pairs:
        if len(pairs) > 1:
            print(f"== {folder}")
        bad += check(folder, refdir)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
