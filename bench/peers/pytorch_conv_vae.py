#!/usr/bin/env python3
"""Peer benchmark: a convolutional VAE trained with PyTorch on the CPU, timed like
../../shared/peers/pytorch_vae.py times the MLP VAE, with the layer shapes of elbo4j's

  train --encoder conv:32x4s2p1,64x4s2p1 --decoder deconv:64x4s2p1,32x4s2p1 --hidden 256 --latent 20

encoder: Conv2d(1,32,4,2,1) ReLU Conv2d(32,64,4,2,1) ReLU flatten Linear(3136,256) ReLU Linear(256,40)
decoder: Linear(20,256) ReLU Linear(256,3136) ReLU view(64,7,7) ConvTranspose2d(64,32,4,2,1) ReLU
         ConvTranspose2d(32,1,4,2,1) -> Bernoulli logits; closed-form KL; Adam(lr=1e-3), summed loss.
Data: a resident {0,1} tensor of N x 784 (random, fixed seed), reshuffled each epoch; each step
gathers one batch from it. Output: one JSON object per batch size on stdout, a table on stderr.
Usage: python3 pytorch_conv_vae.py --threads 1 --batches 128
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class ConvVae(nn.Module):
    def __init__(self, hidden=256, z=20):
        super().__init__()
        self.z = z
        self.enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(64 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z))
        self.dec_fc = nn.Sequential(nn.Linear(z, hidden), nn.ReLU(), nn.Linear(hidden, 64 * 7 * 7), nn.ReLU())
        self.dec_conv = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))

    def forward(self, x, eps):
        stats = self.enc(x.view(-1, 1, 28, 28))
        mu, logvar = stats[:, :self.z], stats[:, self.z:]
        zs = mu + eps * torch.exp(0.5 * logvar)
        logits = self.dec_conv(self.dec_fc(zs).view(-1, 64, 7, 7)).view(-1, 784)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return rec + kl


def run(batch, args):
    torch.manual_seed(0)
    n = max(args.dataset, batch)
    data = (torch.rand(n, 784) < 0.5).float()
    model = ConvVae(args.hidden, args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps_per_epoch = n // batch
    state = {"i": 0, "perm": torch.randperm(n)}

    def next_batch():
        i = state["i"]
        if i == steps_per_epoch:
            state["perm"] = torch.randperm(n)
            i = 0
        idx = state["perm"][i * batch:(i + 1) * batch]
        state["i"] = i + 1
        return data.index_select(0, idx)

    def one():
        opt.zero_grad(set_to_none=False)
        loss = model(next_batch(), torch.randn(batch, args.latent))
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        one()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            loss = one()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"peer": "pytorch", "model": "conv-vae", "torch": torch.__version__, "device": "cpu",
            "threads": torch.get_num_threads(), "batch": batch, "hidden": args.hidden, "latent": args.latent,
            "steps": args.steps, "ms_per_step": 1e3 * med / args.steps, "samples_per_s": batch * args.steps / med,
            "loss_per_sample_last": float(loss.detach()) / batch}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="128")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--dataset", type=int, default=60000)
    p.add_argument("--steps", type=int, default=20, help="steps per timed window")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for b in (int(s) for s in args.batches.split(",")):
        r = run(b, args)
        print(json.dumps(r), flush=True)
        print(f"conv-vae batch {b:6d}  {r['ms_per_step']:8.3f} ms/step  {r['samples_per_s']:10.0f} samples/s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
