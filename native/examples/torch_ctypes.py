#!/usr/bin/env python3
"""elbo4j's fused ELBO kernels on PyTorch CUDA tensors, through ctypes and libelbo4j.so.

Calls the C ABI of native/include/elbo4j.h on tensors PyTorch owns, on PyTorch's current stream,
and checks every result and gradient against PyTorch (autograd of the same losses, in float64):

  - Bernoulli and fixed-variance Gaussian likelihoods: row losses and gradients;
  - latent forward: z = mu + exp(lv / 2) eps, the KL and the log ratio from the returned eps;
  - latent backward: d/d stats of sum(dz . z) + kl_weight * sum(kl), with eps held fixed.

Needs a CUDA GPU (sm_80 or newer), PyTorch with CUDA, and `make native`. Exit status 0 when every
check passes; the largest differences are printed.

    python3 native/examples/torch_ctypes.py [path/to/libelbo4j.so]
"""
import ctypes
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LIB = os.path.join(HERE, "..", "..", "build", "native", "libelbo4j.so")

P = ctypes.c_void_p
I = ctypes.c_int
F = ctypes.c_float
D64 = ctypes.c_double
U64 = ctypes.c_uint64
U32 = ctypes.c_uint32


def load(path):
    """The library with every function's signature declared (as in elbo4j.h)."""
    lib = ctypes.CDLL(path)
    lib.elbo4j_abi_version.restype = I
    lib.elbo4j_last_error.restype = ctypes.c_char_p
    lib.elbo4j_latent_forward.argtypes = [P, P, P, P, P, I, I, I, U64, U32, U64, P]
    lib.elbo4j_latent_backward.argtypes = [P, P, P, D64, P, I, I, I, P]
    lib.elbo4j_bernoulli.argtypes = [P, P, P, P, I, I, I, F, P]
    lib.elbo4j_gaussian.argtypes = [P, P, P, P, I, I, I, D64, F, P]
    for f in ("latent_forward", "latent_backward", "bernoulli", "gaussian"):
        getattr(lib, "elbo4j_" + f).restype = I
    return lib


def ptr(t):
    """A tensor's device address: float32, contiguous, on the GPU (elbo4j's layout contract)."""
    if t is None:
        return None
    assert t.is_cuda and t.dtype == torch.float32 and t.is_contiguous(), t
    return ctypes.c_void_p(t.data_ptr())


def call(lib, fn, *args):
    status = getattr(lib, fn)(*args)
    if status != 0:
        raise RuntimeError(f"{fn} returned {status}: {lib.elbo4j_last_error().decode()}")


def close(name, got, want, rel, abs_=0.0, bound=None):
    """Checks |got - want| <= rel |want| + abs_ (or <= bound, a tensor) elementwise; prints the worst."""
    got, want = got.double(), want.double()
    err = (got - want).abs()
    if bound is None:
        bound = rel * want.abs() + abs_
    worst = (err / (want.abs() + 1e-30)).max().item()
    ok = bool((err <= bound).all())
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max abs {err.max().item():.3e}, max rel {worst:.3e}")
    return ok


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ELBO4J_LIB", DEFAULT_LIB)
    if not torch.cuda.is_available():
        print("torch_ctypes: no CUDA device visible to PyTorch; nothing to check", file=sys.stderr)
        return 2
    lib = load(path)
    print(f"libelbo4j ABI {lib.elbo4j_abi_version()} ({path}), torch {torch.__version__}, "
          f"{torch.cuda.get_device_name()}")
    dev = torch.device("cuda")
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)  # elbo4j enqueues on PyTorch's stream
    g = torch.Generator(device="cpu").manual_seed(3)
    B, L, Z, D = 33, 2, 20, 784
    R = L * B
    ok = True

    # ---- Bernoulli: row losses and the gradient of their mean over the batch -------------------
    logits = (torch.randn(R, D, generator=g) * 3).to(dev)
    x = (torch.rand(B, D, generator=g) > 0.5).float().to(dev)
    row_loss = torch.empty(R, device=dev)
    d_logits = torch.empty(R, D, device=dev)
    scale = 1.0 / B
    call(lib, "elbo4j_bernoulli", ptr(logits), ptr(x), ptr(row_loss), ptr(d_logits), B, L, D, scale, stream)
    ref = logits.double().requires_grad_()
    rows = torch.nn.functional.binary_cross_entropy_with_logits(ref, x.double().repeat(L, 1), reduction="none").sum(1)
    (rows.sum() * scale).backward()
    ok &= close("bernoulli row loss", row_loss, rows.detach(), 2e-6, 1e-6)
    ok &= close("bernoulli d_logits", d_logits, ref.grad, 1e-6, 4e-7 * scale)

    # ---- Gaussian with a fixed variance ----------------------------------------------------------
    lv = -1.0
    mean = torch.randn(R, D, generator=g).to(dev)
    xg = torch.randn(B, D, generator=g).to(dev)
    d_mean = torch.empty(R, D, device=dev)
    call(lib, "elbo4j_gaussian", ptr(mean), ptr(xg), ptr(row_loss), ptr(d_mean), B, L, D, lv, scale, stream)
    ref = mean.double().requires_grad_()
    diff = xg.double().repeat(L, 1) - ref
    rows = (0.5 * (math.log(2 * math.pi) + lv + diff * diff * math.exp(-lv))).sum(1)
    (rows.sum() * scale).backward()
    ok &= close("gaussian row loss", row_loss, rows.detach(), 1e-5, 1e-4)
    ok &= close("gaussian d_mean", d_mean, ref.grad, 1e-5, 1e-8)

    # ---- latent forward: reparameterisation, KL, log ratio ---------------------------------------
    stats = torch.cat([torch.randn(B, Z, generator=g), torch.randn(B, Z, generator=g) * 0.5 - 0.3], 1).to(dev)
    eps, z = torch.empty(R, Z, device=dev), torch.empty(R, Z, device=dev)
    kl, log_ratio = torch.empty(B, device=dev), torch.empty(R, device=dev)
    call(lib, "elbo4j_latent_forward", ptr(stats), ptr(eps), ptr(z), ptr(kl), ptr(log_ratio), B, Z, L,
         7, 2, 0, stream)
    s = stats.double()
    mu, logvar = s[:, :Z].repeat(L, 1), s[:, Z:].repeat(L, 1)
    e = eps.double()
    z_ref = mu + torch.exp(logvar / 2) * e
    kl_ref = -0.5 * (1 + s[:, Z:] - s[:, :Z] ** 2 - torch.exp(s[:, Z:])).sum(1)
    lr_terms = z.double() ** 2 - e * e - logvar
    lr_ref = -0.5 * lr_terms.sum(1)
    # kernels/README.md: z within 3e-7 (|mu| + sigma |eps|); KL terms are non-negative; the log ratio's
    # terms cancel, so its bound is 2e-6 x the sum of their magnitudes.
    ok &= close("latent z", z, z_ref, 0, bound=3e-7 * (mu.abs() + (torch.exp(logvar / 2) * e).abs()) + 1e-12)
    ok &= close("latent kl", kl, kl_ref, 1e-5, 1e-6)
    ok &= close("latent log ratio", log_ratio, lr_ref, 0, bound=2e-6 * 0.5 * lr_terms.abs().sum(1) + 1e-6)
    m, sd = eps.mean().item(), eps.std().item()
    print(f"{'ok  ' if abs(m) < 0.1 and abs(sd - 1) < 0.1 else 'FAIL'} eps looks standard normal: mean {m:.3f}, std {sd:.3f}")
    ok &= abs(m) < 0.1 and abs(sd - 1) < 0.1

    # ---- latent backward against autograd (eps fixed) --------------------------------------------
    dz = torch.randn(R, Z, generator=g).to(dev)
    d_stats = torch.empty(B, 2 * Z, device=dev)
    klw = 0.7
    call(lib, "elbo4j_latent_backward", ptr(stats), ptr(eps), ptr(dz), klw, ptr(d_stats), B, Z, L, stream)
    sr = stats.double().requires_grad_()
    mu, logvar = sr[:, :Z].repeat(L, 1), sr[:, Z:].repeat(L, 1)
    zz = mu + torch.exp(logvar / 2) * eps.double()
    klr = -0.5 * (1 + sr[:, Z:] - sr[:, :Z] ** 2 - torch.exp(sr[:, Z:])).sum()
    ((dz.double() * zz).sum() + klw * klr).backward()
    ok &= close("latent d_stats", d_stats, sr.grad, 1e-5, 1e-6)

    # ---- a host-side check: a CPU tensor is refused with a message, not a crash ------------------
    x_host = x.cpu()
    status = lib.elbo4j_bernoulli(ptr(logits), ctypes.c_void_p(x_host.data_ptr()), ptr(row_loss), None,
                                  B, L, D, 1.0, stream)
    msg = lib.elbo4j_last_error().decode()
    refused = status == 2 and "host memory" in msg
    print(f"{'ok  ' if refused else 'FAIL'} a CPU tensor is refused: {status} {msg}")
    ok &= refused

    torch.cuda.synchronize()
    print("torch_ctypes: all checks passed" if ok else "torch_ctypes: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
