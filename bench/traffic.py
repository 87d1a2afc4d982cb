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
  traffic.py model [--write FILE]                  PREDICTIONS, no GPU involved: per kernel of a
                                                   step at batch 128/1024/8192, its grid, waves on
                                                   132 SMs at the occupancy of the fatbin's sm_90
                                                   resource usage (kernels/sm_90.resources) and its
                                                   predicted time on an H100 / H200; the same for
                                                   PyTorch eager's kernel list; --write replaces
                                                   the part of FILE between the perf-model markers
                                                   (make perf-model: docs/PERFORMANCE.md)
  traffic.py conv                                  PREDICTIONS for the conv layers of a conv VAE
                                                   (kernels/conv.cu + cuBLAS) at batch 128 / 1024 on
                                                   an H100, and the share of im2col, col2im and the
                                                   permutations (what implicit GEMM would save)
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
        if p.get("dense", "hand") != "hand":
            continue        # the cuBLASLt runs: in "Measured beside predicted" below, by dense layers
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


# ---- the performance model: PREDICTIONS from published figures, no GPU ---------------------------
#
# Every constant below is a stated assumption, not a measurement; the GPU run (scripts/run-gpu-bench.sh)
# prints its measured figures beside these so that the first run shows where the model is wrong.

GPUS = {
    # published: SXM5 boards; FP32 non-tensor and TF32 tensor (dense) peaks, HBM bandwidth
    "H100": {"sms": 132, "bw": 3.35e12, "fp32": 67e12, "tf32": 494.7e12},
    "H200": {"sms": 132, "bw": 4.8e12, "fp32": 67e12, "tf32": 494.7e12},
}
BW_EFF = 0.90          # a large device copy reaches ~90% of the published HBM bandwidth
GEMM_EFF = {"fp32": 0.75, "tf32": 0.60}   # large-GEMM fraction of peak cuBLAS reaches
MEM_LATENCY = 650e-9   # DRAM round trip under load: bytes in flight needed = bandwidth x latency
KERNEL_FLOOR = 2.0e-6  # the shortest kernel: ramp-up, one block's latency chain, drain
GRAPH_NODE = 1.0e-6    # the gap between two dependent kernels on the device (graph replay or a queue the host keeps full)
HOST_LAUNCH = {"elbo4j": 3.0e-6, "torch": 8.0e-6}   # host time per launch, eager (FFM cuLaunchKernel; PyTorch dispatcher + Python)
WARPS_PER_SM, REGS_PER_SM, BLOCKS_PER_SM, SMEM_PER_SM = 64, 65536, 32, 228 * 1024

# Mirrors of the launch policy in dev.elbo4j.backend.cuda.Kernels and the launchers (CudaLinear, CudaLatent, ...).
COLS_TILE = 32
MAX_COLUMN_CHUNKS, MIN_CHUNK_ROWS = 64, 128
MAX_ROW_BLOCKS = 1024


def ceil_div(a, b):
    return -(-a // b)


def column_chunks(rows):
    per = ceil_div(max(rows, 1), MAX_COLUMN_CHUNKS)
    chunk_rows = max(MIN_CHUNK_ROWS, ceil_div(per, 32) * 32)
    return ceil_div(rows, chunk_rows) if rows > 0 else 1


def resource_table():
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "..", "kernels", "sm_90.resources"), os.path.join(here, "sm_90.resources")):
        if os.path.exists(path):
            t = {}
            with open(path) as f:
                for line in f:
                    if line.startswith("#") or not line.strip():
                        continue
                    name, regs, smem, local = line.split("\t")
                    t[name] = (int(regs), int(smem), int(local))
            return t
    raise SystemExit("traffic.py: kernels/sm_90.resources not found (scripts/build-kernels.sh writes it)")


def occupancy(regs, smem, threads, dynamic=0):
    """Resident blocks per SM on sm_90: what cuOccupancyMaxActiveBlocksPerMultiprocessor computes
    (and the emulator, kernels/emu/libcuda_emu.cpp)."""
    warps = ceil_div(threads, 32)
    regs_per_warp = ceil_div(regs * 32, 256) * 256
    by_regs = 4 * (REGS_PER_SM // 4 // regs_per_warp) // warps
    by_smem = SMEM_PER_SM // (ceil_div(smem + dynamic + 1024, 128) * 128)
    return max(0, min(BLOCKS_PER_SM, WARPS_PER_SM // warps, by_regs, by_smem))


class K:
    """One launch: kernel name (resources), threads per block, blocks wanted (work), whether it strides
    over its work (grid capped at one wave), bytes, FLOPs, bytes each thread keeps in flight."""

    def __init__(self, label, kernel, threads, blocks, stride, nbytes, flops=0, in_flight=16, gemm=None):
        self.label, self.kernel, self.threads, self.blocks, self.stride = label, kernel, threads, blocks, stride
        self.bytes, self.flops, self.in_flight, self.gemm = nbytes, flops, in_flight, gemm
        # kernels with the same `branch` run side by side in a graph replay (SideStream.java: a dense
        # layer's dW on a second stream beside its dX); eager launches stay one after another
        self.branch = None


# cuBLAS picks among kernels by shape; the model does the same over these tile shapes, each with the
# fraction of the large-GEMM rate a tile of that size sustains, and split-K factors.
GEMM_TILES = ((128, 128, 1.0), (128, 64, 0.9), (64, 128, 0.9), (64, 64, 0.75))


def gemm_time(m, n, k, gpu, prec):
    """The fastest of the tile shapes with split-K factors (up to 16, at least 128 of k per split) or
    stream-K: each SM does its tiles at its share of the large-GEMM rate, wave by wave (stream-K: no
    waves); split-K partials cost bytes; the operands' bytes at the copy bandwidth. Returns
    (seconds, CTAs, waves)."""
    g = GPUS[gpu]
    by, _ = gemm_cost(m, n, k)
    best = None
    for tm, tn, eff in GEMM_TILES:
        tiles = ceil_div(m, tm) * ceil_div(n, tn)
        for split in range(1, 17):
            if split > 1 and k / split < 128:
                break
            waves = ceil_div(tiles * split, g["sms"])
            per_sm = g[prec] * GEMM_EFF[prec] * eff / g["sms"]
            t_compute = waves * 2 * tm * tn * ceil_div(k, split) / per_sm
            extra = F32 * m * n * split * 2 if split > 1 else 0
            t = max(t_compute, (by + extra) / (g["bw"] * BW_EFF), KERNEL_FLOOR)
            if best is None or t < best[0]:
                best = (t, tiles * split, waves)
        # stream-K (cuBLAS's persistent decomposition on sm_90): the padded tiles' work spread evenly
        # over the SMs, no partial last wave; one fix-up of partial tiles through memory
        padded = ceil_div(m, tm) * tm * ceil_div(n, tn) * tn
        t_sk = 2 * padded * k / (g[prec] * GEMM_EFF[prec] * eff)
        t = max(t_sk, (by + 2 * F32 * g["sms"] * tm * tn) / (g["bw"] * BW_EFF), KERNEL_FLOOR)
        if t < best[0]:
            best = (t, g["sms"], 1.0)
    return best


def kernel_time(k, gpu, prec, res):
    """(seconds, grid, waves, occupancy) of one launch."""
    g = GPUS[gpu]
    if k.gemm:
        t, grid, waves = gemm_time(*k.gemm, gpu, prec)
        return t, grid, waves, None
    regs, smem, _ = res[k.kernel]
    occ = occupancy(regs, smem, k.threads)
    wave = occ * g["sms"]
    grid = min(k.blocks, wave) if k.stride else k.blocks
    waves = grid / wave
    # Little's law: bandwidth reached = min(copy bandwidth, bytes in flight / latency)
    resident = min(grid, wave) * k.threads
    bw = min(g["bw"] * BW_EFF, resident * k.in_flight / MEM_LATENCY)
    t = k.bytes / bw
    if not k.stride and waves > 1:
        t *= ceil_div(grid, wave) / waves          # the last, partial wave
    t = max(t, k.flops / (g["fp32"] * 0.5), KERNEL_FLOOR)
    return t, grid, waves, occ


# ---- the planar flow (kernels/flow.cu), off the reference model's path: PREDICTIONS ----------------
#
# A training step of `--flow planar --flow-steps K` adds these launches (PlanarPosterior: the forward
# with kl, no logRatio; the backward, the scratch's column partials, the per-step finish). Their cost
# is mostly dependent double-precision work per row, so besides bytes and FLOPs a launch here has a
# latency chain: the dependent operations one thread does per work item (a shuffle level counts 3),
# times OP_LATENCY, times the items each thread takes in turn. Counts are estimates from the source
# (transcendentals as ~20 dependent operations each), stated here so they can be checked.
OP_LATENCY = 8 / 1.8e9    # one dependent FP64 operation: ~8 cycles at ~1.8 GHz (an assumption)
PLANAR_K, PLANAR_BLOCK = 10, 256


def planar_group(z):
    """Kernels.planarGroup: lanes per row, the smallest power of two with <= 4 elements per lane, <= 32."""
    g = 1
    while g < min(32, ceil_div(z, 4)):
        g *= 2
    return g


def log2(n):
    return n.bit_length() - 1


class Chain(K):
    """A launch whose time is bounded below by its threads' dependent chains: `items` work items
    (rows or lane groups), `per_block` of them per block at a time, `chain` dependent operations each;
    `prologue` dependent operations once per block."""

    def __init__(self, label, kernel, threads, items, per_block, chain, nbytes, flops, in_flight=16, prologue=0):
        super().__init__(label, kernel, threads, ceil_div(items, per_block), True, nbytes, flops, in_flight)
        self.items, self.per_block, self.chain, self.prologue = items, per_block, chain, prologue


def chain_time(k, gpu, prec, res):
    t, grid, waves, occ = kernel_time(k, gpu, prec, res)
    if isinstance(k, Chain):
        rounds = ceil_div(k.items, grid * k.per_block)
        t = max(t, (k.prologue + rounds * k.chain) * OP_LATENCY)
    return t, grid, waves, occ


def planar_kernels(b, new, z=Z, steps=PLANAR_K, samples=1):
    """The planar flow's launches of one training step at batch b (rows R = L b): `new` = a lane group
    per row (flow.cu now), else the thread per row it replaced (with its separate KL kernel)."""
    r, per = samples * b, steps * (2 * z + 2)
    chunks = column_chunks(r)
    partial = 8 * chunks * per
    fwd_bytes = F32 * (2 * r * z + r)                 # read z0, write zK and log_det
    kl_bytes = F32 * 2 * b                            # kl read-modify-written
    bwd_bytes = F32 * (3 * r * z + r * per)           # read z0, dzK; write dz0 and the scratch
    ks = []
    if new:
        g = planar_group(z)
        e = ceil_div(z, g)                            # elements per lane
        lv = 3 * log2(g)                              # a butterfly over the group
        prologue = ceil_div(steps, PLANAR_BLOCK // 32) * (2 * ceil_div(z, 32) + 15 + 60)
        fwd_chain = samples * (steps * (2 * e + lv + 50) + 2 * e + lv + 5)
        fwd_ops = r * g * steps * (5 * e + log2(g) + 47)
        ks.append(Chain(f"planar forward + KL (group of {g} lanes per input)", "elbo4j_planar_forward_f32", PLANAR_BLOCK,
                        b, PLANAR_BLOCK // g, fwd_chain, fwd_bytes + kl_bytes, fwd_ops, prologue=prologue))
        bwd_chain = steps * (4 * e + 3 * lv + 50)
        bwd_ops = r * g * steps * (12 * e + 2 * log2(g) + 70)
        ks.append(Chain(f"planar backward (group of {g} lanes per row)", "elbo4j_planar_backward_f32", PLANAR_BLOCK,
                        r, PLANAR_BLOCK // g, bwd_chain, bwd_bytes, bwd_ops, prologue=prologue))
    else:
        ks.append(Chain("planar forward (thread per row)", "elbo4j_planar_forward_f32@old", PLANAR_BLOCK, r, PLANAR_BLOCK,
                        steps * (4 * z + 100), fwd_bytes, r * steps * (9 * z + 104)))
        ks.append(Chain("planar KL (thread per input)", "elbo4j_planar_kl_f32@old", PLANAR_BLOCK, b, PLANAR_BLOCK,
                        samples * (2 * z + 5), F32 * (2 * r * z + r) + kl_bytes, r * 4 * z))
        ks.append(Chain("planar backward (thread per row)", "elbo4j_planar_backward_f32@old", PLANAR_BLOCK, r, PLANAR_BLOCK,
                        steps * (8 * z + 150), bwd_bytes, r * steps * (20 * z + 180)))
    ks.append(K(f"  scratch column partials ({chunks} chunks)", "elbo4j_planar_partials_f32", 256,
                ceil_div(per, COLS_TILE) * chunks, True, F32 * r * per + partial, in_flight=16))
    ks.append(K("  per-step finish", "elbo4j_planar_reduce_f32", 128, steps, False, partial + 3 * F32 * steps * z, in_flight=8))
    return ks


# The resource usage of the kernels flow.cu replaced (kernels/sm_90.resources before the change).
OLD_PLANAR_RESOURCES = {"elbo4j_planar_forward_f32@old": (44, 0, 0), "elbo4j_planar_kl_f32@old": (32, 0, 0),
                        "elbo4j_planar_backward_f32@old": (48, 0, 0)}


def print_planar_model(res, batches=(128, 1024, 8192), gpu="H200", prec="fp32"):
    res = dict(res, **OLD_PLANAR_RESOURCES)
    print(f"\n#### The planar flow's kernels: a thread per row before, a lane group per row after ({gpu}, FP32, Z = {Z}, "
          f"K = {PLANAR_K}, L = 1; not on the reference model's path)\n")
    print("| batch | kernel | bytes | lane FLOPs (FP64) | grid | blocks/SM | chain us | predicted us |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for b in batches:
        for new in (False, True):
            total, n = 0.0, 0
            for k in planar_kernels(b, new):
                t, grid, waves, occ = chain_time(k, gpu, prec, res)
                chain = "-"
                if isinstance(k, Chain):
                    chain = f"{(k.prologue + ceil_div(k.items, grid * k.per_block) * k.chain) * OP_LATENCY * 1e6:.1f}"
                print(f"| {b} | {k.label} | {k.bytes:,} | {k.flops:,} | {grid:,} | {'-' if occ is None else occ} | {chain} | {t * 1e6:.1f} |")
                total += t
                n += 1
            print(f"| {b} | **{'after' if new else 'before'}: {n} launches** | | | | | | **{total * 1e6:.1f}** (graph {(total + n * GRAPH_NODE) * 1e6:.1f}) |")


# The dense layers whose backward computes dx: under graph capture their dW runs beside their dX.
FORKED_LAYERS = ("fc2", "fc3", "fc4")


def at_full_rate(k, gpu, prec):
    """A launch's work with the whole device at the roofline rates: its FLOPs at the GEMM rate, its bytes at the copy bandwidth."""
    g = GPUS[gpu]
    return max(k.flops / (g[prec] * GEMM_EFF[prec]), k.bytes / (g["bw"] * BW_EFF))


def elbo4j_step(b):
    """elbo4j's eager training step at batch b, launch by launch, as CudaBackend issues it."""
    wave_blocks = 10 ** 9   # grid-stride kernels: capped to one wave by kernel_time
    ks = [K("gather (data.cu)", "elbo4j_gather_u8_f32", 256, ceil_div(b * D, 256), True, gather_bytes(b), in_flight=8)]

    def gemm(name):
        m, n, kk = gemm_shape(name, b)
        by, fl = gemm_cost(m, n, kk)
        ks.append(K(f"gemm {name} ({m}x{n}x{kk})", None, 0, 0, False, by, fl, gemm=(m, n, kk)))
        if name.split(".")[0] in FORKED_LAYERS and name.endswith((".dW", ".dX")):
            ks[-1].branch = name.split(".")[0]

    def bias_act(label, cols):
        ks.append(K(label, "elbo4j_bias_act_f32", 256, ceil_div(b * cols, 1024), True, bias_act_bytes(b, cols), in_flight=16))

    def bias_back(label, cols, identity):
        chunks = column_chunks(b)
        tiles = ceil_div(cols, COLS_TILE)
        partial = 8 * chunks * cols if chunks > 1 else 0
        ks.append(K(label, "elbo4j_bias_act_backward_f32", 256, tiles * chunks, True,
                    bias_act_backward_bytes(b, cols, identity) + partial, in_flight=(16 if identity else 48)))
        if chunks > 1:
            ks.append(K(f"  column sum ({chunks} chunks)", "elbo4j_column_sum_f32", 256, tiles, True,
                        partial + F32 * cols, in_flight=8))

    gemm("fc1.fwd"); bias_act("bias+relu fc1", H)
    gemm("fc2.fwd"); bias_act("bias fc2 (identity)", 2 * Z)
    group = 8
    ks.append(K("latentForward", "elbo4j_latent_forward_f32", 256, ceil_div(b, 256 // group), True,
                latent_forward_bytes(b), flops=200 * b * Z, in_flight=8))
    gemm("fc3.fwd"); bias_act("bias+relu fc3", H)
    gemm("fc4.fwd"); bias_act("bias fc4 (identity)", D)
    rows_per_block = ceil_div(b, min(b, MAX_ROW_BLOCKS))
    ks.append(K("likelihood (Bernoulli)", "elbo4j_bernoulli_f32", 128, ceil_div(b, rows_per_block), False,
                bernoulli_bytes(b), flops=20 * b * D, in_flight=32))
    bias_back("bias backward fc4 (identity)", D, True)
    gemm("fc4.dW"); gemm("fc4.dX")
    bias_back("bias+relu backward fc3", H, False)
    gemm("fc3.dW"); gemm("fc3.dX")
    ks.append(K("latentBackward", "elbo4j_latent_backward_f32", 256, ceil_div(b * Z, 256), True,
                latent_backward_bytes(b), in_flight=8))
    bias_back("bias backward fc2 (identity)", 2 * Z, True)
    gemm("fc2.dW"); gemm("fc2.dX")
    bias_back("bias+relu backward fc1", H, False)
    gemm("fc1.dW")
    ks.append(K(f"adam ({ADAM_N} parameters)", "elbo4j_adam_f32", 256, ceil_div(ADAM_N, 1024), True,
                adam_bytes(ADAM_N), in_flight=64))
    return ks


def relu_mask_bytes(rows, cols):
    """The ReLU bit mask cuBLASLt's RELU_AUX_BIAS writes and DRELU_BGRAD reads: a column of D per row,
    its leading dimension a multiple of 128 bits (CublasLt.maskRowBytes)."""
    return rows * ceil_div(cols, 128) * 16


def elbo4j_lt_step(b):
    """elbo4j's eager step at batch b with the dense layers on cuBLASLt (-Delbo4j.cublaslt=true,
    CublasLt.java): the forward bias and ReLU in the GEMM's epilogue (BIAS; RELU_AUX_BIAS for the ReLU
    layers, which also writes the output's ReLU bit mask); backward, the bias gradient of an identity
    layer in its dW GEMM's epilogue (BGRADB: dy is already the GEMM's B operand, the epilogue writes
    `cols` floats), and the ReLU derivative and bias gradient of a ReLU layer in the dx GEMM of the
    layer above it (DRELU_BGRAD, reading the mask; nn.Mlp), so no element-wise pass is left and that
    layer's dW GEMM has no epilogue."""
    ks = [K("gather (data.cu)", "elbo4j_gather_u8_f32", 256, ceil_div(b * D, 256), True, gather_bytes(b), in_flight=8)]

    def gemm(name, label, extra_bytes):
        m, n, kk = gemm_shape(name, b)
        by, fl = gemm_cost(m, n, kk)
        ks.append(K(f"gemm {name} {label} ({m}x{n}x{kk})", None, 0, 0, False, by + extra_bytes, fl, gemm=(m, n, kk)))
        if name.split(".")[0] in FORKED_LAYERS and name.endswith((".dW", ".dX")):
            ks[-1].branch = name.split(".")[0]

    gemm("fc1.fwd", "+ RELU_AUX_BIAS", F32 * H + relu_mask_bytes(b, H))
    gemm("fc2.fwd", "+ BIAS", F32 * 2 * Z)
    group = 8
    ks.append(K("latentForward", "elbo4j_latent_forward_f32", 256, ceil_div(b, 256 // group), True,
                latent_forward_bytes(b), flops=200 * b * Z, in_flight=8))
    gemm("fc3.fwd", "+ RELU_AUX_BIAS", F32 * H + relu_mask_bytes(b, H))
    gemm("fc4.fwd", "+ BIAS", F32 * D)
    rows_per_block = ceil_div(b, min(b, MAX_ROW_BLOCKS))
    ks.append(K("likelihood (Bernoulli)", "elbo4j_bernoulli_f32", 128, ceil_div(b, rows_per_block), False,
                bernoulli_bytes(b), flops=20 * b * D, in_flight=32))
    gemm("fc4.dW", "+ BGRADB", F32 * D); gemm("fc4.dX", "+ DRELU_BGRAD (fc3)", F32 * H + relu_mask_bytes(b, H))
    gemm("fc3.dW", "", 0); gemm("fc3.dX", "", 0)
    ks.append(K("latentBackward", "elbo4j_latent_backward_f32", 256, ceil_div(b * Z, 256), True,
                latent_backward_bytes(b), in_flight=8))
    gemm("fc2.dW", "+ BGRADB", F32 * 2 * Z); gemm("fc2.dX", "+ DRELU_BGRAD (fc1)", F32 * H + relu_mask_bytes(b, H))
    gemm("fc1.dW", "", 0)
    ks.append(K(f"adam ({ADAM_N} parameters)", "elbo4j_adam_f32", 256, ceil_div(ADAM_N, 1024), True,
                adam_bytes(ADAM_N), in_flight=64))
    return ks


def torch_step(b):
    """PyTorch eager's kernels for the peer (../shared/peers/pytorch_vae.py) at batch b, from its op
    sequence: Linear = addmm with the bias in cuBLASLt's epilogue; fc21 and fc22 are two GEMMs; the
    elementwise ops of the reparameterisation, BCE-with-logits (log_sigmoid form) and KL are one
    kernel each; the bias gradients are sum(0) reductions; zero_grad and Adam (foreach) are
    multi-tensor launches over the 10 parameter tensors."""
    ks = []
    ew = "elbo4j_bias_act_f32"   # stands in for a simple vectorised elementwise kernel (32 registers)

    def elem(label, n_read, n_write, n):
        ks.append(K(label, ew, 256, ceil_div(n, 1024), True, F32 * (n_read + n_write) * n, in_flight=16))

    def mm(label, m, n, kk, bias=False):
        by, fl = gemm_cost(m, n, kk)
        ks.append(K(f"{label} ({m}x{n}x{kk})", None, 0, 0, False, by + (F32 * n if bias else 0), fl, gemm=(m, n, kk)))

    def colsum(label, rows, cols):
        ks.append(K(label, "elbo4j_column_sum_f32", 256, ceil_div(cols, 32) * min(64, ceil_div(rows, 128)), True,
                    F32 * (rows * cols + cols), in_flight=16))

    ks.append(K("index_select", "elbo4j_gather_u8_f32", 256, ceil_div(b * D, 256), True, 2 * F32 * b * D + 8 * b, in_flight=16))
    elem("randn eps", 0, 1, b * Z)
    ks.append(K("zero_grad (foreach)", ew, 256, ceil_div(ADAM_N, 1024), True, F32 * ADAM_N, in_flight=16))
    mm("addmm fc1", b, H, D, True); elem("relu", 1, 1, b * H)
    mm("addmm fc21", b, Z, H, True); mm("addmm fc22", b, Z, H, True)
    for op in ("mul 0.5", "exp", "mul eps", "add mu"):
        elem(op, 2, 1, b * Z)
    mm("addmm fc3", b, H, Z, True); elem("relu", 1, 1, b * H)
    mm("addmm fc4", b, D, H, True)
    for op, r, w in (("rsub 1 - x", 1, 1), ("mul_", 2, 1), ("log_sigmoid", 1, 2), ("sub_", 2, 1)):
        elem(op, r, w, b * D)
    ks.append(K("sum (BCE)", "elbo4j_sum_f32", 256, 256, True, F32 * b * D, in_flight=16))
    for op in ("add 1 + logvar", "pow mu^2", "sub", "exp logvar", "sub"):
        elem(op, 2, 1, b * Z)
    ks.append(K("sum (KL)", "elbo4j_sum_f32", 256, 1, True, F32 * b * Z, in_flight=16))
    elem("mul -0.5, add rec + kl", 1, 1, 1); elem("", 1, 1, 1)
    # backward
    elem("fill grad of sum", 0, 1, 1)
    for op, r, w in (("sigmoid", 1, 1), ("sub target", 2, 1), ("mul grad", 2, 1)):
        elem(op, r, w, b * D)
    mm("mm fc4 dW", D, H, b); mm("mm fc4 dX", b, H, D); colsum("sum(0) fc4 db", b, D)
    elem("threshold_backward", 2, 1, b * H)
    mm("mm fc3 dW", H, Z, b); mm("mm fc3 dX", b, Z, H); colsum("sum(0) fc3 db", b, H)
    for op in ("KL grads: mul", "mul", "exp", "mul", "add", "reparam: mul eps", "mul exp", "mul 0.5", "add"):
        elem(op, 2, 1, b * Z)
    for layer in ("fc21", "fc22"):
        mm(f"mm {layer} dW", Z, H, b); mm(f"mm {layer} dX", b, H, Z); colsum(f"sum(0) {layer} db", b, Z)
    elem("add grads of h", 2, 1, b * H)
    elem("threshold_backward", 2, 1, b * H)
    mm("mm fc1 dW", H, D, b); colsum("sum(0) fc1 db", b, H)
    for op, r, w in (("lerp_ m", 2, 1), ("mul_ v", 1, 1), ("addcmul_ v", 2, 1), ("sqrt", 1, 1), ("div_", 1, 1),
                     ("add_ eps", 1, 1), ("addcdiv_ p", 3, 1)):
        ks.append(K(f"adam foreach {op}", ew, 256, ceil_div(ADAM_N, 1024), True, F32 * (r + w) * ADAM_N, in_flight=16))
    return ks


def predict(ks, gpu, prec, res, who):
    """(rows, device time one after another, eager, graph replay). In a graph replay the kernels of a
    branch pair run side by side: the pair takes at least the longer alone and at least both works
    at the full device's rates (at_full_rate), so sharing the SMs gains only what one alone leaves idle;
    each still costs its gap."""
    rows, dev = [], 0.0
    branches = {}
    for k in ks:
        t, grid, waves, occ = kernel_time(k, gpu, prec, res)
        rows.append((k, t, grid, waves, occ))
        dev += t
        if k.branch:
            branches.setdefault(k.branch, []).append((k, t))
    side_by_side = dev
    for pair in branches.values():
        if len(pair) == 2:
            alone = max(t for _, t in pair)
            shared = sum(at_full_rate(k, gpu, prec) for k, _ in pair)
            side_by_side += max(alone, shared) - sum(t for _, t in pair)
    n = len(ks)
    graph = side_by_side + n * GRAPH_NODE                  # dependent kernels back to back, one gap each
    eager = max(dev + n * GRAPH_NODE, n * HOST_LAUNCH[who])  # one stream, unless the host cannot launch that fast
    return rows, dev, eager, graph


def roofline(b, gpu, prec):
    g = GPUS[gpu]
    by, fl, _ = step_totals(b)
    return max(fl / (g[prec] * GEMM_EFF[prec]), by / (g["bw"] * BW_EFF))


def launch_bound_verdict(what, ks, gpu, prec, res):
    """A line for the batch-128 target: the replayed step's launches, and how much of its predicted time
    is its bytes and FLOPs at the roofline rates against the per-launch cost."""
    rows, _, _, g = predict(ks, gpu, prec, res, "elbo4j")
    work = 0.0
    for k, t, grid, waves, occ in rows:
        g_ = GPUS[gpu]
        work += max(k.bytes / (g_["bw"] * BW_EFF), k.flops / (g_[prec] * GEMM_EFF[prec]))
    fixed = g - work
    return (f"- batch 128, {gpu}, {prec}, {what}: {len(ks)} kernel launches; {g * 1e6:.0f} us predicted, of which "
            f"{work * 1e6:.1f} us is moving bytes and FLOPs at the roofline rates and {fixed * 1e6:.0f} us is per-launch "
            f"cost ({'launch-bound' if fixed > work else 'not launch-bound'})")


def print_model(batches=(128, 1024, 8192), gpus=("H100", "H200"), precs=("fp32", "tf32")):
    res = resource_table()
    print("**PREDICTIONS from a model (bench/traffic.py `model`), not measurements: nothing here ran on a GPU.**")
    print()
    peaks = ", ".join("%s: %.2f TB/s, FP32 %.0f TFLOP/s, TF32 %.0f" % (n, g["bw"] / 1e12, g["fp32"] / 1e12, g["tf32"] / 1e12)
                      for n, g in GPUS.items())
    print(f"Assumptions: published SXM peaks ({peaks}); "
          f"copies reach {BW_EFF:.0%} of the bandwidth, large GEMMs {GEMM_EFF['fp32']:.0%} (FP32) / {GEMM_EFF['tf32']:.0%} (TF32) of peak; "
          f"a kernel reaches the bandwidth only with bandwidth x {MEM_LATENCY * 1e9:.0f} ns in flight (Little's law over its resident threads); "
          f"no kernel under {KERNEL_FLOOR * 1e6:.1f} us; {GRAPH_NODE * 1e6:.1f} us between dependent kernels; an eager launch costs the host "
          f"{HOST_LAUNCH['elbo4j'] * 1e6:.0f} us (elbo4j) / {HOST_LAUNCH['torch'] * 1e6:.0f} us (PyTorch). Occupancy from kernels/sm_90.resources. "
          f"In elbo4j's graph replay the dW and dX GEMMs of {', '.join(FORKED_LAYERS)} run side by side (SideStream.java): a pair takes the "
          f"longer of the two alone or both works at the full device's rates, whichever is more, plus a gap each; eager stays one stream.")
    for b in batches:
        print(f"\n#### Batch {b}: elbo4j, kernel by kernel (H200, FP32)\n")
        rows, dev, eager, graph = predict(elbo4j_step(b), "H200", "fp32", res, "elbo4j")
        print("| # | kernel | bytes | FLOPs | grid | blocks/SM | waves | predicted us | share |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for i, (k, t, grid, waves, occ) in enumerate(rows, 1):
            print(f"| {i} | {k.label} | {k.bytes:,} | {k.flops:,} | {grid:,} | {'-' if occ is None else occ} | {waves:.2f} | "
                  f"{t * 1e6:.1f} | {100 * t / dev:.0f}% |")
        print(f"| | **{len(rows)} launches** | | | | | | **{dev * 1e6:.1f}** | |")
    b = 8192
    print(f"\n#### Batch {b}: elbo4j with the dense layers on cuBLASLt (`-Delbo4j.cublaslt=true`), kernel by kernel (H200, FP32)\n")
    rows, dev, eager, graph = predict(elbo4j_lt_step(b), "H200", "fp32", res, "elbo4j")
    print("| # | kernel | bytes | FLOPs | grid | blocks/SM | waves | predicted us | share |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for i, (k, t, grid, waves, occ) in enumerate(rows, 1):
        print(f"| {i} | {k.label} | {k.bytes:,} | {k.flops:,} | {grid:,} | {'-' if occ is None else occ} | {waves:.2f} | "
              f"{t * 1e6:.1f} | {100 * t / dev:.0f}% |")
    print(f"| | **{len(rows)} launches** | | | | | | **{dev * 1e6:.1f}** | |")
    print("\n#### Per step, summed (us): device time, graph replay (device + a gap per kernel), eager (graph, or the host's launch time if longer)\n")
    print("| batch | GPU | precision | elbo4j launches | elbo4j device | elbo4j eager | elbo4j graph | roofline | elbo4j graph / roofline "
          "| PyTorch launches | PyTorch device | PyTorch eager | elbo4j graph vs PyTorch eager |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for b in batches:
        for gpu in gpus:
            for prec in precs:
                _, d4, e4, g4 = predict(elbo4j_step(b), gpu, prec, res, "elbo4j")
                tk = torch_step(b)
                _, dt, et, _ = predict(tk, gpu, prec, res, "torch")
                roof = roofline(b, gpu, prec)
                n4 = len(elbo4j_step(b))
                print(f"| {b} | {gpu} | {prec} | {n4} | {d4 * 1e6:.1f} | {e4 * 1e6:.1f} | {g4 * 1e6:.1f} | {roof * 1e6:.1f} | "
                      f"{g4 / roof:.2f}x | {len(tk)} | {dt * 1e6:.1f} | {et * 1e6:.1f} | {et / g4:.2f}x faster |")
                if b == 8192 and gpu == "H200":
                    verdicts.append(f"- batch 8192, H200, {prec}: elbo4j graph {g4 * 1e6:.0f} us, {g4 / roof:.2f}x its roofline "
                                    f"({'within' if g4 / roof <= 1.3 else 'NOT within'} 1.3x); elbo4j eager {e4 * 1e6:.0f} us; "
                                    f"PyTorch eager {et * 1e6:.0f} us: elbo4j {'faster' if e4 < et else 'NOT faster'} (eager vs eager)")
                if b == 128 and gpu == "H200" and prec == "fp32":
                    verdicts.append(launch_bound_verdict("graph replay", elbo4j_step(b), gpu, prec, res))
    print("\n#### Hand-written bias/activation kernels against cuBLASLt's fused epilogues, per step (us, graph replay)\n")
    print("| batch | GPU | precision | hand-written launches | hand-written graph | cuBLASLt launches | cuBLASLt graph | "
          "cuBLASLt / roofline | GEMMs one after another / roofline | PyTorch eager | cuBLASLt graph vs PyTorch eager |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b in batches:
        for gpu in gpus:
            for prec in precs:
                _, _, _, g4 = predict(elbo4j_step(b), gpu, prec, res, "elbo4j")
                lt_rows, _, elt, glt = predict(elbo4j_lt_step(b), gpu, prec, res, "elbo4j")
                _, _, et, _ = predict(torch_step(b), gpu, prec, res, "torch")
                roof = roofline(b, gpu, prec)
                gemms = sum(t for k, t, _, _, _ in lt_rows if k.gemm)
                print(f"| {b} | {gpu} | {prec} | {len(elbo4j_step(b))} | {g4 * 1e6:.1f} | {len(lt_rows)} | {glt * 1e6:.1f} | "
                      f"{glt / roof:.2f}x | {gemms / roof:.2f}x | {et * 1e6:.1f} | {et / glt:.2f}x faster |")
                if b == 8192 and gpu == "H200":
                    verdicts.append(f"- batch 8192, H200, {prec}, cuBLASLt path: elbo4j graph {glt * 1e6:.0f} us "
                                    f"({len(lt_rows)} launches, {g4 * 1e6 - glt * 1e6:.0f} us less than the hand-written path), "
                                    f"{glt / roof:.2f}x its roofline ({'within' if glt / roof <= 1.3 else 'NOT within'} 1.3x; "
                                    f"its GEMMs alone, one after another, are {gemms / roof:.2f}x); PyTorch eager {et * 1e6:.0f} us: elbo4j "
                                    f"{'faster' if elt < et else 'NOT faster'} (eager vs eager)")
                if b == 128 and gpu == "H200" and prec == "fp32":
                    verdicts.append(launch_bound_verdict("cuBLASLt path, graph replay", elbo4j_lt_step(b), gpu, prec, res))
    print("\n#### The batch-dimension reductions before and after the row-chunked grid (H200, FP32, batch 8192)\n")
    print("| kernel | before: grid | before us | after: grid (+ column-sum pass) | after us |")
    print("|---|---:|---:|---:|---:|")
    b = 8192
    for label, cols, identity in (("bias+relu backward, 400 columns", H, False), ("bias backward, 784 columns", D, True),
                                  ("bias backward, 40 columns", 2 * Z, True)):
        # before: ceil(cols / 32) blocks, each lane walking every 8th row with one row's load in flight
        old_k = K(label, "elbo4j_bias_act_backward_f32", 256, ceil_div(cols, 32), False,
                  bias_act_backward_bytes(b, cols, identity), in_flight=4 if identity else 12)
        t_old, g_old, _, _ = kernel_time(old_k, "H200", "fp32", res)
        chunks, tiles = column_chunks(b), ceil_div(cols, COLS_TILE)
        partial = 8 * chunks * cols
        new_k = K(label, "elbo4j_bias_act_backward_f32", 256, tiles * chunks, True,
                  bias_act_backward_bytes(b, cols, identity) + partial, in_flight=16 if identity else 48)
        sum_k = K("", "elbo4j_column_sum_f32", 256, tiles, True, partial + F32 * cols, in_flight=8)
        t_new, g_new, _, _ = kernel_time(new_k, "H200", "fp32", res)
        t_sum, _, _, _ = kernel_time(sum_k, "H200", "fp32", res)
        print(f"| {label} | {g_old} | {t_old * 1e6:.1f} | {g_new} (+ {tiles}) | {(t_new + t_sum) * 1e6:.1f} |")
    print_planar_model(res)
    print("\n#### What the model says about the targets\n")
    for v in verdicts:
        print(v)


# ---- conv layers (kernels/conv.cu + cuBLAS): PREDICTIONS, no GPU ---------------------------------
#
# The conv layers of a conv VAE on 28 x 28 grey images, as CudaConv and the conv layers issue them
# (docs/CONV.md): encoder conv:32x4s2p1,64x4s2p1 (1x28x28 -> 32x14x14 -> 64x7x7), decoder
# deconv:64x4s2p1,32x4s2p1 (64x7x7 -> 32x14x14 -> 1x28x28). The first layer computes no input
# gradient. Mirrors CudaConv.chunkElements for the bias gradient's split.
CONV_ENCODER = ((1, 28, 28, 32), (32, 14, 14, 64))      # (C, H, W, out channels), kernel 4, stride 2, padding 1
CONV_DECODER = ((64, 7, 7, 32), (32, 14, 14, 1))        # (in channels, in H, in W, out channels)
CHANNEL_CHUNK_ELEMENTS, MAX_CHANNEL_CHUNKS = 4096, 256


def channel_chunks(batch, pixels):
    total = max(1, batch * pixels)
    return ceil_div(total, max(CHANNEL_CHUNK_ELEMENTS, ceil_div(total, MAX_CHANNEL_CHUNKS)))


def conv_layers(b, k=4, s=2, p=1):
    """Launches of the conv layers' forward and backward at batch b; each K is tagged .movement = True
    for the data movement an implicit-GEMM kernel would not do (im2col, col2im, the permutations)."""
    ks = []

    def add(label, kernel, blocks, nbytes, in_flight, movement=False):
        kk = K(label, kernel, 256, blocks, True, nbytes, in_flight=in_flight)
        kk.movement = movement
        ks.append(kk)

    def gemm(label, m, n, kk):
        by, fl = gemm_cost(m, n, kk)
        g = K(f"gemm {label} ({m}x{n}x{kk})", None, 0, 0, False, by, fl, gemm=(m, n, kk))
        g.movement = False
        ks.append(g)

    def im2col(label, c, h, w, pix):
        n = b * pix * c * k * k
        add(f"im2col {label}", "elbo4j_im2col_f32", ceil_div(n, 256), F32 * (n + b * c * h * w), 8, True)

    def col2im(label, c, h, w, pix):
        n = b * c * h * w
        add(f"col2im {label}", "elbo4j_col2im_f32", ceil_div(n, 256), F32 * (n + b * pix * c * k * k), 8, True)

    def transpose(label, pix, c):
        add(f"{label}", "elbo4j_channels_transpose_f32", b * ceil_div(pix, 32) * ceil_div(c, 32), F32 * 2 * b * pix * c, 16, True)

    def bias(label, c, pix):
        add(f"bias+act {label}", "elbo4j_channel_bias_act_f32", ceil_div(b * c * pix, 1024), F32 * (2 * b * c * pix + c), 16)

    def bias_back(label, c, pix):
        chunks = channel_chunks(b, pix)
        partial = 8 * chunks * c if chunks > 1 else 0
        add(f"bias+act backward {label}", "elbo4j_channel_bias_act_backward_f32", chunks * c,
            F32 * (3 * b * c * pix + c) + partial, 32)   # 4 elements' dy and y loaded before the first add
        if chunks > 1:
            add(f"  column sum ({chunks} chunks)", "elbo4j_column_sum_f32", ceil_div(c, COLS_TILE), partial + F32 * c, 8)

    def out_size(h):
        return (h + 2 * p - k) // s + 1

    for i, (c, h, w, oc) in enumerate(CONV_ENCODER):         # forward
        oh, ow = out_size(h), out_size(w)
        pix, name = oh * ow, f"conv{i}"
        im2col(name, c, h, w, pix); gemm(f"{name}.fwd", b * pix, oc, c * k * k)
        transpose(f"toChannelsFirst {name}", pix, oc); bias(name, oc, pix)
    for i, (ic, ih, iw, oc) in enumerate(CONV_DECODER):
        h, w = (ih - 1) * s - 2 * p + k, (iw - 1) * s - 2 * p + k
        name = f"deconv{i}"
        transpose(f"toChannelsLast {name}", ih * iw, ic); gemm(f"{name}.fwd", b * ih * iw, oc * k * k, ic)
        col2im(name, oc, h, w, ih * iw); bias(name, oc, h * w)
    for i, (ic, ih, iw, oc) in reversed(list(enumerate(CONV_DECODER))):   # backward
        h, w = (ih - 1) * s - 2 * p + k, (iw - 1) * s - 2 * p + k
        name, pix = f"deconv{i}", ih * iw
        bias_back(name, oc, h * w); im2col(f"{name} (dy)", oc, h, w, pix)
        gemm(f"{name}.dW", ic, oc * k * k, b * pix); gemm(f"{name}.dX", b * pix, ic, oc * k * k)
        transpose(f"toChannelsFirst {name} (dx)", pix, ic)
    for i, (c, h, w, oc) in reversed(list(enumerate(CONV_ENCODER))):
        oh, ow = out_size(h), out_size(w)
        pix, name = oh * ow, f"conv{i}"
        bias_back(name, oc, pix); transpose(f"toChannelsLast {name} (dy)", pix, oc)
        gemm(f"{name}.dW", oc, c * k * k, b * pix)
        if i > 0:
            gemm(f"{name}.dX", b * pix, c * k * k, oc); col2im(f"{name} (dx)", c, h, w, pix)
    return ks


def print_conv_model(batches=(128, 1024), gpu="H100", prec="fp32"):
    res = resource_table()
    print(f"**PREDICTIONS (bench/traffic.py conv), not measurements.** The conv layers of a conv VAE on 28x28 images, "
          f"{gpu} {prec}, the assumptions of `traffic.py model`.")
    for b in batches:
        ks = conv_layers(b)
        rows, dev, _, graph = predict(ks, gpu, prec, res, "elbo4j")
        print(f"\n#### Batch {b}\n")
        print("| kernel | bytes | FLOPs | grid | blocks/SM | predicted us |")
        print("|---|---:|---:|---:|---:|---:|")
        moved = gemms = 0.0
        for k, t, grid, waves, occ in rows:
            print(f"| {k.label} | {k.bytes:,} | {k.flops:,} | {grid:,} | {'-' if occ is None else occ} | {t * 1e6:.1f} |")
            if k.movement:
                moved += t
            if k.gemm:
                gemms += t
        print(f"| **{len(rows)} launches** | | | | | **{dev * 1e6:.1f}** (graph {graph * 1e6:.1f}) |")
        print(f"\nGEMMs {gemms * 1e6:.1f} us ({100 * gemms / dev:.0f}%); im2col, col2im and the permutations "
              f"{moved * 1e6:.1f} us ({100 * moved / dev:.0f}%): the most an implicit-GEMM kernel that matched cuBLAS's "
              f"GEMM rate could save, before its own costs.")


BEGIN, END = "<!-- perf-model:begin (make perf-model writes this part) -->", "<!-- perf-model:end -->"


def write_model(path):
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_model()
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"traffic.py: {path} has no perf-model markers ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + BEGIN + "\n" + buf.getvalue().strip() + "\n" + END + tail)
    os.replace(tmp, path)
    print(f"traffic.py: wrote the model's predictions into {path}")


def predict_bench(bench, params, gpu):
    """The model's time (s) for one operation of a JMH kernel benchmark, or None where it has none."""
    cls, method = bench.rsplit(".", 1)
    cls = cls.rsplit(".", 1)[-1]
    p = params
    res = resource_table()
    prec = p.get("precision", "fp32")
    if cls == "BiasActivationBenchmark":
        r, c = int(p["rows"]), int(p["cols"])
        if method == "forward":
            k = K("", "elbo4j_bias_act_f32", 256, ceil_div(r * c, 1024), True, bias_act_bytes(r, c), in_flight=16)
            return kernel_time(k, gpu, prec, res)[0]
        chunks, tiles = column_chunks(r), ceil_div(c, COLS_TILE)
        partial = 8 * chunks * c if chunks > 1 else 0
        t = kernel_time(K("", "elbo4j_bias_act_backward_f32", 256, tiles * chunks, True,
                          bias_act_backward_bytes(r, c) + partial, in_flight=48), gpu, prec, res)[0]
        if chunks > 1:
            t += GRAPH_NODE + kernel_time(K("", "elbo4j_column_sum_f32", 256, tiles, True, partial, in_flight=8), gpu, prec, res)[0]
        return t
    if cls == "GemmBenchmark":
        b = int(p["batch"])
        names = STEP_GEMMS if p["gemm"] == "step" else [p["gemm"]]
        return sum(gemm_time(*gemm_shape(n, b), gpu, prec)[0] for n in names)
    if cls == "OptimBenchmark":
        n = int(p["n"])
        return kernel_time(K("", "elbo4j_adam_f32", 256, ceil_div(n, 1024), True, adam_bytes(n), in_flight=64), gpu, prec, res)[0]
    return None


def print_model_vs_measured(folder):
    """Measured (a bench-gpu results folder) beside predicted: kernels, then steps."""
    kernels = [r for r in load_jmh(os.path.join(folder, "kernels.json")) if r["params"].get("device") == "cuda"]
    rows = []
    for r in kernels:
        pred = [predict_bench(r["benchmark"], r["params"], g) for g in ("H100", "H200")]
        if pred[0] is None:
            continue
        wall, dev = seconds_per_op(r)
        rows.append(f"| {short(r['benchmark'])} | {label(r)} | {(dev or wall) * 1e6:.2f} | {pred[0] * 1e6:.2f} | {pred[1] * 1e6:.2f} |")
    if rows:
        print("\n### Kernels: measured beside predicted (device us/op; the model: bench/traffic.py model)\n")
        print("| benchmark | params | measured | predicted H100 | predicted H200 |")
        print("|---|---|---:|---:|---:|")
        print("\n".join(rows))
    print_steps_vs_predicted(folder)


def print_steps_vs_predicted(folder):
    steps = load_jmh(os.path.join(folder, "step.json"))
    if not steps:
        return
    res = resource_table()
    name = steps[0]["params"].get("device", "")
    print("\n### Measured beside predicted (the model: bench/traffic.py model)\n")
    print("| batch | precision | mode | dense layers | measured ms | predicted ms H100 | predicted ms H200 |")
    print("|---:|---|---|---|---:|---:|---:|")
    for r in steps:
        p = r["params"]
        wall, _ = seconds_per_op(r)
        b = int(p["batch"])
        preds = []
        for gpu in ("H100", "H200"):
            lt = p.get("dense", "hand") == "lt"
            _, _, eager, graph = predict(elbo4j_lt_step(b) if lt else elbo4j_step(b), gpu, p["precision"], res, "elbo4j")
            preds.append(graph if p["mode"] == "graph" else eager)
        print(f"| {b} | {p['precision']} | {p['mode']} | {p.get('dense', 'hand')} | {wall * 1e3:.3f} | {preds[0] * 1e3:.3f} | "
              f"{preds[1] * 1e3:.3f} |")
    print_dense_verdict(steps)


def dense_verdict(steps):
    """Rows (batch, precision, mode, hand ms, lt ms, lt/hand, verdict) where both dense paths were
    measured, and the default the measurements support: cuBLASLt only if it is faster beyond both
    scores' JMH error in every graph-replayed FP32 row (the training loop's mode and precision)."""
    by = {}
    for r in steps:
        p = r["params"]
        m = r["primaryMetric"]
        scale = {"ms/op": 1.0, "us/op": 1e-3, "s/op": 1e3, "ns/op": 1e-6}.get(m.get("scoreUnit", "ms/op"))
        if scale is None:
            continue
        err = m.get("scoreError")
        err = err * scale if isinstance(err, (int, float)) and err == err else 0.0
        by[(int(p["batch"]), p["precision"], p["mode"], p.get("dense", "hand"))] = (m["score"] * scale, err)
    rows, fp32_graph = [], []
    for (b, prec, mode, dense), (hand, hand_err) in sorted(by.items()):
        if dense != "hand" or (b, prec, mode, "lt") not in by:
            continue
        lt, lt_err = by[(b, prec, mode, "lt")]
        if lt + lt_err < hand - hand_err:
            verdict = "cuBLASLt faster"
        elif hand + hand_err < lt - lt_err:
            verdict = "hand-written faster"
        else:
            verdict = "within error"
        rows.append((b, prec, mode, hand, lt, lt / hand, verdict))
        if prec == "fp32" and mode == "graph":
            fp32_graph.append(verdict)
    if not fp32_graph:
        default = "not decided: no graph-replayed FP32 row has both dense paths"
    elif all(v == "cuBLASLt faster" for v in fp32_graph):
        default = "cuBLASLt (faster beyond error at every measured batch, FP32, graph replay)"
    else:
        default = "hand-written (cuBLASLt is not faster beyond error at every measured batch, FP32, graph replay)"
    return rows, default


def print_dense_verdict(steps):
    rows, default = dense_verdict(steps)
    if not rows:
        return
    print("\n### Dense layers: hand-written kernels against cuBLASLt's epilogues (measured, same run)\n")
    print("| batch | precision | mode | hand-written ms | cuBLASLt ms | cuBLASLt / hand-written | verdict |")
    print("|---:|---|---|---:|---:|---:|---|")
    for b, prec, mode, hand, lt, ratio, verdict in rows:
        print(f"| {b} | {prec} | {mode} | {hand:.3f} | {lt:.3f} | {ratio:.3f} | {verdict} |")
    print(f"\nThe default these measurements support: {default}.")


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
    elif argv[1] == "model":
        if len(argv) > 3 and argv[2] == "--write":
            write_model(argv[3])
        else:
            print_model()
    elif argv[1] == "conv":
        print_conv_model()
    elif argv[1] == "report":
        report(argv[2])
        print_model_vs_measured(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
