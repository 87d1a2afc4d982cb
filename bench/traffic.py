#!/usr/bin/env python3
"""FLOPs and bytes of elbo4j's kernels and of one training step, in one place, and the reports
built on them from JMH and peer output.

Every count is per operation, from the operation's shapes: bytes are DRAM reads + writes of the
arrays a kernel touches, each counted once (F32 = 4 bytes, U8 = 1, I32 = 4); a GEMM reads A and
B and writes C (beta = 0, so C is not read) and does 2 m n k FLOPs. Caches are ignored, so a
small kernel whose arrays stay in L2 can show more than the copy bandwidth.

  traffic.py step [--batches 128,1024,8192]        the step's kernel-by-kernel table (Markdown),
                                                   as in docs/PERFORMANCE.md
  traffic.py kernels FILE.json...                  JMH kernel results: time/op, GB/s, GFLOP/s,
                                                   % of the copy bandwidth / GEMM rate measured
                                                   in the same files
  traffic.py report DIR                            the whole bench-gpu / bench-cpu summary of a
                                                   results folder (kernels.json, step.json,
                                                   torch.jsonl, gc.json; see bench/bench-gpu.sh)
"""
import json
import os
import statistics
import sys

D, H, Z = 784, 400, 20          # the reference model: 784-400-(20,20) / 20-400-784
LAYERS = {"fc1": (D, H), "fc2": (H, 2 * Z), "fc3": (Z, H), "fc4": (H, D)}   # (in, out)
ADAM_N = sum(i * o + o for i, o in LAYERS.values())                         # 652,824 parameters
F32 = 4


def gemm_shape(name, batch):
    """(m, n, k) of a step GEMM 'layer.pass' at `batch` rows (row-major C = op(A) op(B))."""
    layer, kind = name.split(".")
    i, o = LAYERS[layer]
    return {"fwd": (batch, o, i), "dW": (o, i, batch), "dX": (batch, i, o)}[kind]


def gemm_cost(m, n, k):
    return F32 * (m * k + k * n + m * n), 2 * m * n * k


STEP_GEMMS = ["fc1.fwd", "fc2.fwd", "fc3.fwd", "fc4.fwd", "fc4.dW", "fc4.dX", "fc3.dW", "fc3.dX",
              "fc2.dW", "fc2.dX", "fc1.dW"]


# ---- bytes and FLOPs per operation of each JMH benchmark --------------------------------------

def bias_act_bytes(rows, cols, identity=False):
    return F32 * (2 * rows * cols + cols)          # read y and bias, write y


def bias_act_backward_bytes(rows, cols, identity=False):
    # read dy (and y), write dy (unless identity) and dBias
    return F32 * ((rows * cols if identity else 3 * rows * cols) + cols)


def latent_forward_bytes(b, z=Z):
    return F32 * (2 * b * z + b * z + b * z + b)   # read stats; write eps, z, kl


def latent_backward_bytes(b, z=Z):
    return F32 * (2 * b * z + b * z + b * z + 2 * b * z)   # read stats, eps, dz; write dStats


def bernoulli_bytes(rows, d=D):
    return F32 * (3 * rows * d + rows)             # read out, x; write dOut, rowLoss


def adam_bytes(n):
    return F32 * 7 * n                             # read p, g, m, v; write p, m, v


def gather_bytes(rows, d=D):
    return rows * d + 4 * rows + F32 * rows * d     # read U8 rows + index, write F32


def cost(bench, params):
    """(bytes, flops) of one operation of JMH benchmark `bench` (class.method) with `params`."""
    cls, method = bench.rsplit(".", 1)
    cls = cls.rsplit(".", 1)[-1]
    p = params
    if cls == "CopyBenchmark":
        return 2 * int(p["mib"]) << 20, 0
    if cls == "GemmLimitBenchmark":
        n = int(p["n"])
        return gemm_cost(n, n, n)
    if cls == "GemmBenchmark":
        b = int(p["batch"])
        names = STEP_GEMMS if p["gemm"] == "step" else [p["gemm"]]
        costs = [gemm_cost(*gemm_shape(g, b)) for g in names]
        return sum(c[0] for c in costs), sum(c[1] for c in costs)
    if cls == "LatentBenchmark":
        b = int(p["rows"])
        return (latent_forward_bytes(b) if method == "forward" else latent_backward_bytes(b)), 0
    if cls == "LikelihoodBenchmark":
        return bernoulli_bytes(int(p["rows"])), 0
    if cls == "OptimBenchmark":
        return adam_bytes(int(p["n"])), 0
    if cls == "DataBenchmark":
        return gather_bytes(int(p["rows"])), 0
    if cls == "BiasActivationBenchmark":
        r, c = int(p["rows"]), int(p["cols"])
        return (bias_act_bytes(r, c) if method == "forward" else bias_act_backward_bytes(r, c)), 0
    if cls == "TrainStepBenchmark":
        t = step_totals(int(p["batch"]))
        return t[0], t[1]
    return None


# ---- one training step -------------------------------------------------------------------------

def step_kernels(b):
    """Every launch of one eager training step at batch b, in order: (name, bytes, flops)."""
    k = [("gather (data.cu)", gather_bytes(b), 0)]

    def g(name):
        m, n, kk = gemm_shape(name, b)
        by, fl = gemm_cost(m, n, kk)
        k.append((f"gemm {name} ({m}x{n}x{kk})", by, fl))

    g("fc1.fwd"); k.append(("bias+relu fc1", bias_act_bytes(b, H), 0))
    g("fc2.fwd"); k.append(("bias fc2 (identity)", bias_act_bytes(b, 2 * Z), 0))
    k.append(("latentForward", latent_forward_bytes(b), 0))
    g("fc3.fwd"); k.append(("bias+relu fc3", bias_act_bytes(b, H), 0))
    g("fc4.fwd"); k.append(("bias fc4 (identity)", bias_act_bytes(b, D), 0))
    k.append(("likelihood (Bernoulli)", bernoulli_bytes(b), 0))
    k.append(("bias backward fc4 (identity)", bias_act_backward_bytes(b, D, True), 0))
    g("fc4.dW"); g("fc4.dX")
    k.append(("bias+relu backward fc3", bias_act_backward_bytes(b, H), 0))
    g("fc3.dW"); g("fc3.dX")
    k.append(("latentBackward", latent_backward_bytes(b), 0))
    k.append(("bias backward fc2 (identity)", bias_act_backward_bytes(b, 2 * Z, True), 0))
    g("fc2.dW"); g("fc2.dX")
    k.append(("bias+relu backward fc1", bias_act_backward_bytes(b, H), 0))
    g("fc1.dW")
    k.append((f"adam ({ADAM_N} parameters)", adam_bytes(ADAM_N), 0))
    return k


def step_totals(b):
    ks = step_kernels(b)
    return sum(x[1] for x in ks), sum(x[2] for x in ks), len(ks)


def roofline_ms(b, gflops_per_s, gb_per_s):
    """The issue's roofline: max(FLOPs / GEMM rate, bytes / copy bandwidth), in ms."""
    by, fl, _ = step_totals(b)
    return max(fl / (gflops_per_s * 1e9), by / (gb_per_s * 1e9)) * 1e3


def print_step_tables(batches):
    for b in batches:
        print(f"\n#### Batch {b}\n")
        print("| # | kernel | bytes (R+W) | FLOPs |")
        print("|---:|---|---:|---:|")
        for i, (name, by, fl) in enumerate(step_kernels(b), 1):
            print(f"| {i} | {name} | {by:,} | {fl:,} |")
        by, fl, n = step_totals(b)
        print(f"| | **total, {n} launches** | **{by:,}** ({by / 1e6:.1f} MB) | **{fl:,}** ({fl / 1e9:.3f} GFLOP) |")


# ---- reading results ----------------------------------------------------------------------------

def load_jmh(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path) as f:
        return json.load(f)


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def seconds_per_op(r):
    """(wall s/op, device s/op or None) of a JMH record."""
    unit = r["primaryMetric"]["scoreUnit"].split("/")[0]
    scale = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit]
    wall = r["primaryMetric"]["score"] * scale
    sm = r.get("secondaryMetrics", {})
    dev = None
    if sm.get("deviceOps", {}).get("score", 0) > 0:
        dev = sm["deviceNs"]["score"] / sm["deviceOps"]["score"] * 1e-9
    return wall, dev


def short(bench):
    return ".".join(bench.split(".")[-2:]).replace("Benchmark", "")


def label(r):
    p = {k: v for k, v in r["params"].items() if k != "device"}
    return " ".join(f"{k}={v}" for k, v in p.items())


def limits(records):
    """Copy bandwidth (GB/s) per device, GEMM rate (GFLOP/s) per (device, precision): the best measured."""
    bw, rate = {}, {}
    for r in records:
        c = cost(r["benchmark"], r["params"])
        wall, dev = seconds_per_op(r)
        t = dev or wall
        name = r["benchmark"].rsplit(".", 2)[-2]
        d = r["params"].get("device", "?")
        if name == "CopyBenchmark":
            bw[d] = max(bw.get(d, 0), c[0] / t / 1e9)
        elif name == "GemmLimitBenchmark":
            k = (d, r["params"]["precision"])
            rate[k] = max(rate.get(k, 0), c[1] / t / 1e9)
    return bw, rate


def print_kernels(records):
    bw, rate = limits(records)
    print("Limits measured in this run (device time where CUDA events recorded it, else wall time):")
    for d, v in sorted(bw.items()):
        print(f"  copy bandwidth, {d}: {v:,.1f} GB/s")
    for (d, prec), v in sorted(rate.items()):
        print(f"  large-GEMM rate, {d} {prec}: {v:,.1f} GFLOP/s")
    print()
    print(f"{'benchmark':<28} {'params':<46} {'wall us/op':>11} {'dev us/op':>10} {'GB/s':>9} {'%copy':>6} {'GFLOP/s':>9} {'%gemm':>6}")
    for r in records:
        c = cost(r["benchmark"], r["params"])
        if c is None:
            continue
        wall, dev = seconds_per_op(r)
        t = dev or wall
        d = r["params"].get("device", "?")
        gbs = c[0] / t / 1e9
        gfs = c[1] / t / 1e9
        pbw = f"{100 * gbs / bw[d]:.0f}" if d in bw else "-"
        key = (d, r["params"].get("precision", "fp32"))
        pgf = f"{100 * gfs / rate[key]:.0f}" if c[1] and key in rate else "-"
        print(f"{short(r['benchmark']):<28} {label(r):<46} {wall * 1e6:>11.2f} "
              f"{(dev * 1e6 if dev else float('nan')):>10.2f} {gbs:>9.1f} {pbw:>6} "
              f"{(f'{gfs:.1f}' if c[1] else '-'):>9} {pgf:>6}")


def report(folder):
    kernels = load_jmh(os.path.join(folder, "kernels.json"))
    steps = load_jmh(os.path.join(folder, "step.json"))
    torch = load_jsonl(os.path.join(folder, "torch.jsonl"))
    gc = load_jmh(os.path.join(folder, "gc.json"))
    if kernels:
        print("### Kernels\n")
        print_kernels(kernels)
    bw, rate = limits(kernels)
    # elbo4j per (batch, precision, mode) and round
    e4, e4ms = {}, {}      # samples/s and wall ms per step, per configuration and round
    for r in steps:
        p = r["params"]
        wall, dev = seconds_per_op(r)
        k = (int(p["batch"]), p["precision"], p["mode"])
        e4.setdefault(k, {})[r.get("round", 1)] = int(p["batch"]) / wall
        e4ms.setdefault(k, {})[r.get("round", 1)] = wall * 1e3
    pt = {}
    for r in torch:
        pt.setdefault((int(r["batch"]), r["precision"], r["mode"]), {})[r.get("round", 1)] = r["samples_per_s"]
    if not e4:
        return
    device = steps[0]["params"]["device"]
    modes = [m for m in ("eager", "compile", "graph") if any(k[2] == m for k in pt)]
    print("\n### Training step: samples/s (median over rounds; n = rounds)\n")
    print("| batch | precision | elbo4j eager | elbo4j graph | " + " | ".join(f"PyTorch {m}" for m in modes) + " |")
    print("|---:|---|---:|---:|" + "---:|" * len(modes))
    keys = sorted({(b, p) for b, p, _ in e4} | {(b, p) for b, p, _ in pt})

    def med(d):
        return statistics.median(d.values()) if d else None

    def fmt(v, n=None):
        return "-" if v is None else (f"{v:,.0f}" + (f" (n={n})" if n else ""))

    for b, p in keys:
        row = [fmt(med(e4.get((b, p, m), {})), len(e4.get((b, p, m), {})) or None) for m in ("eager", "graph")]
        row += [fmt(med(pt.get((b, p, m), {})), len(pt.get((b, p, m), {})) or None) for m in modes]
        print(f"| {b} | {p} | " + " | ".join(row) + " |")
    print("\n### Ratios: elbo4j / PyTorch (median over rounds of the same round's ratio)\n")
    print("| batch | precision | elbo4j | " + " | ".join(f"/ {m}" for m in modes) + " | / best PyTorch |")
    print("|---:|---|---|" + "---:|" * (len(modes) + 1))
    ratio = {}
    for b, p in keys:
        for em in ("eager", "graph"):
            mine = e4.get((b, p, em), {})
            if not mine:
                continue
            cells = []
            for m in modes + ["best"]:
                rs = []
                for rnd, s in mine.items():
                    if m == "best":
                        peers = [pt[(b, p, mm)][rnd] for mm in modes if rnd in pt.get((b, p, mm), {})]
                        if peers:
                            rs.append(s / max(peers))
                    elif rnd in pt.get((b, p, m), {}):
                        rs.append(s / pt[(b, p, m)][rnd])
                if not rs:   # the peer ran in other rounds only: medians against medians
                    if m == "best":
                        peers = [med(pt[(b, p, mm)]) for mm in modes if pt.get((b, p, mm))]
                        rs = [med(mine) / max(peers)] if peers else []
                    elif pt.get((b, p, m)):
                        rs = [med(mine) / med(pt[(b, p, m)])]
                v = statistics.median(rs) if rs else None
                ratio[(b, p, em, m)] = v
                cells.append("-" if v is None else f"{v:.2f}")
            print(f"| {b} | {p} | {em} | " + " | ".join(cells) + " |")
    print("\n### Roofline (docs/PERFORMANCE.md): max(FLOPs / large-GEMM rate, bytes / copy bandwidth)\n")
    print("| batch | precision | GFLOP | MB | roofline ms | elbo4j eager ms | % | elbo4j graph ms | % |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    roof_pct = {}
    for b, p in keys:
        by, fl, _ = step_totals(b)
        key = (device, p)
        if device not in bw or key not in rate:
            continue
        roof = roofline_ms(b, rate[key], bw[device])
        cells = []
        for em in ("eager", "graph"):
            mine = e4ms.get((b, p, em), {})
            if mine:
                ms = med(mine)
                roof_pct[(b, p, em)] = 100 * roof / ms
                cells += [f"{ms:.3f}", f"{100 * roof / ms:.0f}%"]
            else:
                cells += ["-", "-"]
        print(f"| {b} | {p} | {fl / 1e9:.3f} | {by / 1e6:.1f} | {roof:.3f} | " + " | ".join(cells) + " |")
    if gc:
        print("\n### Host allocation per step (JMH -prof gc, gc.alloc.rate.norm; target 0)\n")
        print("| batch | precision | mode | bytes/step |")
        print("|---:|---|---|---:|")
        for r in gc:
            p = r["params"]
            a = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score")
            print(f"| {p['batch']} | {p['precision']} | {p['mode']} | {'-' if a is None else f'{a:,.1f}'} |")
    print("\n### Targets of issue 4\n")

    def best(b, p, m):
        vs = [ratio.get((b, p, em, m)) for em in ("eager", "graph")]
        vs = [v for v in vs if v is not None]
        return max(vs) if vs else None

    def line(what, v, goal, unit="x"):
        if v is None:
            print(f"- {what}: not measured")
        else:
            print(f"- {what}: {v:.2f}{unit} (target >= {goal}{unit}): {'MET' if v >= goal else 'MISSED'}")

    for p in ("fp32", "tf32"):
        line(f"batch 128 {p}, elbo4j / PyTorch eager", best(128, p, "eager"), 5)
        line(f"batch 128 {p}, elbo4j / PyTorch graph", best(128, p, "graph"), 1.5)
        line(f"batch 8192 {p}, elbo4j / best PyTorch", best(8192, p, "best"), 1.3)
        rp = [roof_pct.get((8192, p, em)) for em in ("eager", "graph")]
        rp = [v for v in rp if v is not None]
        line(f"batch 8192 {p}, % of roofline", max(rp) if rp else None, 60, "%")
    if device in bw:
        for cls, method in (("LatentBenchmark", "forward"), ("LatentBenchmark", "backward"),
                            ("LikelihoodBenchmark", "bernoulli")):
            rs = [r for r in kernels if r["benchmark"].endswith(f"{cls}.{method}")]
            if not rs:
                line(f"{cls}.{method} at the largest size, % of copy bandwidth", None, 85, "%")
                continue
            r = max(rs, key=lambda r: int(r["params"]["rows"]))
            wall, dev = seconds_per_op(r)
            gbs = cost(r["benchmark"], r["params"])[0] / (dev or wall) / 1e9
            line(f"{cls}.{method} rows={r['params']['rows']}, % of copy bandwidth", 100 * gbs / bw[device], 85, "%")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[1] == "step":
        batches = [128, 1024, 8192]
        if len(argv) > 3 and argv[2] == "--batches":
            batches = [int(x) for x in argv[3].split(",")]
        print_step_tables(batches)
    elif argv[1] == "kernels":
        recs = []
        for f in argv[2:]:
            recs += load_jmh(f)
        print_kernels(recs)
    elif argv[1] == "report":
        report(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
