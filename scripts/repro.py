#!/usr/bin/env python3
"""Trains a published reproduction in stages, resumably; see scripts/repro.sh and docs/MODELS.md."""
import argparse
import fcntl
import json
import os
import platform
import queue
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BURDA_STAGES = [1, 4, 13, 40, 121, 364, 1093, 3280]
# name -> stages (epochs at which a figure is taken) and how the figure is taken. log p(x) takes
# k = 5000 importance samples (the papers' k) from stage `k5000_from` on and k = 1000 before it: on
# the 2-core build machine, shared, k = 5000 over the 10,000 test digits takes 10 minutes on an idle
# core and far longer under load, more than the early stages' training (docs/MODELS.md, "Reproduced").
RUNS = {
    "burda2015-vae": {"stages": BURDA_STAGES, "figure": "log_px", "checkpoint_every": 0, "k5000_from": 121, "dataset": "mnist"},
    "burda2015-iwae5": {"stages": BURDA_STAGES, "figure": "log_px", "checkpoint_every": 0, "k5000_from": 121, "dataset": "mnist"},
    "kingma2014-m2": {"stages": [1, 4, 13, 40, 100], "figure": "accuracy", "checkpoint_every": 100, "dataset": "mnist"},
}
CLI_JAR = "java/cli/target/elbo4j-cli-0.1.0-SNAPSHOT.jar"


def utc():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def say(msg):
    print(f"[{utc()}] repro: {msg}", flush=True)


def checkpoint_state(path):
    """The 'state' metadata of a safetensors checkpoint (epoch, batch_in_epoch, step), or None."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return json.loads(header["__metadata__"]["state"])


def read_jsonl(path):
    out = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass  # a line cut by a kill: the next one is whole
    return out


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}; {cpu}; {os.cpu_count()} cores; {platform.system()} {platform.release()}"


def commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                           capture_output=True, text=True, check=True).stdout.strip()
        return c
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Runner:
    def __init__(self, name, threads, eval_k, out_root=ROOT, stages=None, extra=()):
        self.name = name
        self.spec = dict(RUNS[name])
        if stages:
            self.spec["stages"] = stages
        self.extra = list(extra)
        self.run_dir = os.path.join(out_root, "bench", "runs", name)
        self.results = os.path.join(out_root, "bench", "results", f"repro-{name}.jsonl")
        self.work = os.path.join(out_root, "build", "repro", name)
        self.threads = threads
        self.eval_k = eval_k
        self.env = dict(os.environ)
        self.env["ELBO4J_JAVA_OPTS"] = (self.env.get("ELBO4J_JAVA_OPTS", "") + f" -XX:ActiveProcessorCount={threads}").strip()
        self.env["OPENBLAS_NUM_THREADS"] = str(threads)
        self.eval_extra = []
        self.later = []
        self.lock = threading.Lock()
        self.evals = queue.Queue()

    # ---- the results log -------------------------------------------------------------------
    def figures(self):
        """(epochs, k) of every figure in the results log; k is None for figures without sampling."""
        return {(r["epochs"], r.get("k")) for r in read_jsonl(self.results) if r.get("run") == self.name and "figure" in r}

    def done_stages(self):
        """Stages whose final figure is in the results log (for log p(x): at the stage's own k)."""
        if self.spec["figure"] != "log_px":
            return {e for e, _ in self.figures()}
        return {e for e, k in self.figures() if k == self.k_for(e)}

    def evaluations(self, epochs):
        """The k of each evaluation a stage's snapshot still needs, in order: a stage evaluated at
        k = 5000 is first evaluated at k = 1000 as well, which gives its figure within a fifth of the
        time while the longer one waits its turn."""
        want = self.k_for(epochs)
        ks = [1000, want] if want > 1000 else [want]
        have = {k for e, k in self.figures() if e == epochs}
        return [k for k in ks if k not in have]

    def append(self, rec):
        with self.lock:
            os.makedirs(os.path.dirname(self.results), exist_ok=True)
            with open(self.results, "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def base_record(self, stage, epochs):
        return {"run": self.name, "stage": stage, "epochs": epochs, "commit": self.jar_commit, "machine": machine(),
                "threads": self.threads, "finished": utc()}

    # ---- the jar in use ----------------------------------------------------------------------
    def snapshot_jar(self):
        """A private copy of the CLI jar and its libraries, so that a rebuild cannot change them under the run."""
        src = os.path.join(ROOT, CLI_JAR)
        if not os.path.isfile(src):
            sys.exit(f"repro: {CLI_JAR} is missing: run `make build` first")
        dst = os.path.join(self.work, "jar")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        shutil.copy2(src, dst)
        lib = os.path.join(ROOT, "java", "cli", "target", "lib")
        if os.path.isdir(lib):
            shutil.copytree(lib, os.path.join(dst, "lib"))
        self.jar = os.path.join(dst, os.path.basename(CLI_JAR))
        self.jar_commit = commit()  # the checkout's commit when the jar was taken (built from it, if built since)

    def fetch_data(self):
        """The data set, fetched and verified if this checkout lacks it (a fresh clone, a new machine)."""
        rc = subprocess.run([os.path.join(ROOT, "scripts", "fetch-data.sh"), self.spec["dataset"]], cwd=ROOT).returncode
        if rc != 0:
            sys.exit(f"repro: scripts/fetch-data.sh {self.spec['dataset']} failed ({rc}); the run needs the data")

    def elbo4j(self, args):
        return [os.path.join(ROOT, "scripts", "java.sh"), "-jar", self.jar] + args

    # ---- training ----------------------------------------------------------------------------
    def train_to(self, epochs):
        ckpt = os.path.join(self.run_dir, "checkpoint.safetensors")
        args = ["train", "--out", self.run_dir, "--epochs", str(epochs), "--eval-k", "0", "--no-progress",
                "--checkpoint-every", str(self.spec["checkpoint_every"])] + self.extra
        # The data by name on resume too: the checkpoint records the folder it was read from, which a
        # clone elsewhere (a new machine) does not have; the content hash still checks it is the same.
        args += ["--resume", "--dataset", self.spec["dataset"]] if os.path.isfile(ckpt) else ["--preset", self.name]
        cmd = self.elbo4j(args)
        self.train_commands.append("elbo4j " + " ".join(args))
        say("running " + " ".join(cmd))
        with open(os.path.join(self.work, "train.log"), "a") as log:
            log.write(f"\n[{utc()}] {' '.join(cmd)}\n")
            log.flush()
            rc = subprocess.run(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            sys.exit(f"repro: training exited with {rc}; see {self.work}/train.log")

    def stage_train_seconds(self, lo, hi):
        """Training seconds of epochs lo+1..hi (test passes excluded), from the run's log.jsonl."""
        secs = {r["epoch"]: r["seconds"] for r in read_jsonl(os.path.join(self.run_dir, "log.jsonl"))
                if "epoch" in r and "seconds" in r}
        missing = [e for e in range(lo + 1, hi + 1) if e not in secs]
        return sum(secs.get(e, 0) for e in range(lo + 1, hi + 1)), missing

    def epoch_record(self, epoch):
        recs = [r for r in read_jsonl(os.path.join(self.run_dir, "log.jsonl")) if r.get("epoch") == epoch]
        return recs[-1] if recs else None

    # ---- evaluation (log p(x)), one at a time beside the training ----------------------------
    def eval_worker(self):
        while True:
            try:
                item = self.evals.get_nowait()
            except queue.Empty:
                with self.lock:  # nothing new: the longer evaluations, each stage's first figure being in
                    item = self.later.pop(0) if self.later else None
                if item is not None:
                    self.evaluate(*item)
                    continue
                item = self.evals.get()
            if item is None:
                with self.lock:
                    rest, self.later = self.later, []
                for it in rest:
                    self.evaluate(*it)
                return
            self.evaluate(*item)

    def k_for(self, epochs):
        if self.eval_k:
            return self.eval_k
        return 5000 if epochs >= self.spec.get("k5000_from", 0) else 1000

    def enqueue(self, stage, epochs, snapshot, rec):
        ks = self.evaluations(epochs)
        for i, k in enumerate(ks):
            item = (stage, epochs, snapshot, rec, k, i == len(ks) - 1)
            if i == 0:
                self.evals.put(item)
            else:
                with self.lock:
                    self.later.append(item)

    def evaluate(self, stage, epochs, snapshot, rec, k, last):
        cmd = self.elbo4j(["eval", "-c", snapshot, "-k", str(k), "--no-progress"] + self.eval_extra)
        say(f"evaluating stage {stage} ({epochs} epochs): " + " ".join(cmd))
        t0 = time.time()
        p = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True)
        wall = time.time() - t0
        m = re.search(r"test ELBO (-?[0-9.]+) nats.*log p\(x\) (-?[0-9.]+) nats \(importance sampling, k=(\d+), ([0-9.]+) s\)",
                      p.stdout)
        if p.returncode != 0 or not m:
            say(f"evaluation of stage {stage} failed (exit {p.returncode}): {p.stdout.strip()} {p.stderr.strip()[-500:]}")
            return
        rec = dict(rec)
        rec.update({"figure": "test_log_px", "test_log_px": float(m.group(2)), "k": int(m.group(3)),
                    "eval_test_elbo": float(m.group(1)), "eval_seconds": float(m.group(4)), "eval_wall_seconds": round(wall, 1),
                    "eval_command": " ".join(cmd[1:]), "eval_output": p.stdout.strip(), "finished": utc()})
        self.append(rec)
        if last:
            os.remove(snapshot)
            if os.path.isfile(snapshot + ".json"):
                os.remove(snapshot + ".json")
        say(f"stage {stage} ({epochs} epochs): test log p(x) {rec['test_log_px']:.2f} (k={rec['k']}, {rec['eval_seconds']:.0f} s)")

    # ---- the stages ----------------------------------------------------------------------------
    def run(self):
        os.makedirs(self.work, exist_ok=True)
        os.makedirs(self.run_dir, exist_ok=True)
        lockf = open(os.path.join(self.work, "lock"), "w")
        try:
            fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            sys.exit(f"repro: {self.name} is already running (lock {self.work}/lock)")
        self.snapshot_jar()
        self.fetch_data()
        say(f"{self.name}: stages {self.spec['stages']}, run folder {self.run_dir}, results {self.results}, "
            f"{self.threads} thread(s), commit {commit()}")
        worker = threading.Thread(target=self.eval_worker, daemon=True)
        worker.start()
        done = self.done_stages()
        stages = self.spec["stages"]
        # Stage snapshots a killed run left unevaluated (kept in the run folder, so they survive it).
        for i, e in enumerate(stages):
            snap = os.path.join(self.run_dir, f"pending-stage-{e}.safetensors")
            if os.path.isfile(snap) and e not in done:
                self.enqueue(i + 1, e, snap, self.pending_record(snap))
        prev = 0
        for i, e in enumerate(stages):
            stage = i + 1
            snap = os.path.join(self.run_dir, f"pending-stage-{e}.safetensors")
            if e in done or os.path.isfile(snap):
                prev = e
                continue
            state = checkpoint_state(os.path.join(self.run_dir, "checkpoint.safetensors"))
            at = state["epoch"] if state else 0
            if at > e:
                say(f"stage {stage} ({e} epochs) was passed without its figure (the run is at epoch {at}); skipped")
                prev = e
                continue
            t0 = time.time()
            self.train_commands = []
            restarted = state is not None and (at > prev or state["batch_in_epoch"] > 0)
            if at < e:
                self.train_to(e)
            wall = time.time() - t0
            train_seconds, missing = self.stage_train_seconds(prev, e)
            rec = self.base_record(stage, e)
            rec.update({"command": "scripts/repro.sh " + self.name, "train_commands": self.train_commands,
                        "train_seconds": round(train_seconds, 1),
                        "stage_wall_seconds_this_sitting": round(wall, 1), "resumed_within_stage": bool(restarted)})
            if missing:
                rec["epochs_missing_from_log"] = missing
            last = self.epoch_record(e)
            if last is not None:
                rec["test_elbo"] = last.get("test_objective")
                rec["lr"] = last.get("lr")
                for k, v in last.items():
                    if k.startswith("test_") and k not in ("test_objective", "test_elbo"):
                        rec[k] = v
            if self.spec["figure"] == "accuracy":
                rec["figure"] = "test_accuracy"
                self.append(rec)
                say(f"stage {stage} ({e} epochs): test accuracy {rec.get('test_accuracy')}")
            else:
                tmp = snap + ".tmp"
                shutil.copy2(os.path.join(self.run_dir, "checkpoint.safetensors"), tmp)
                with open(snap + ".json.tmp", "w") as f:
                    json.dump(rec, f)
                os.replace(snap + ".json.tmp", snap + ".json")
                os.replace(tmp, snap)
                self.enqueue(stage, e, snap, rec)
            prev = e
        self.evals.put(None)
        worker.join()
        say(f"{self.name}: all stages done")

    def pending_record(self, snap):
        try:
            with open(snap + ".json") as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError):
            return {"run": self.name}


def table(name, out_root=ROOT):
    """The results log of a run as a Markdown table, one row per finished figure."""
    res = [r for r in read_jsonl(os.path.join(out_root, "bench", "results", f"repro-{name}.jsonl"))
           if r.get("run") == name and "figure" in r]
    if RUNS[name]["figure"] == "log_px":
        print("| stage | epochs | lr in the stage | test ELBO (epoch's pass) | test log p(x) | k | training s (stage) | eval s | commit |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in res:
            print(f"| {r['stage']} | {r['epochs']} | {r.get('lr', float('nan')):.3g} | {r.get('test_elbo', float('nan')):.2f} | "
                  f"{r['test_log_px']:.2f} | {r['k']} | {r.get('train_seconds', 0):.0f} | {r.get('eval_seconds', 0):.0f} | {r.get('commit')} |")
    else:
        print("| stage | epochs | test accuracy | test ELBO (unlabelled bound) | training s (stage) | commit |")
        print("|---:|---:|---:|---:|---:|---|")
        for r in res:
            print(f"| {r['stage']} | {r['epochs']} | {100 * r['test_accuracy']:.2f}% | {r.get('test_elbo', float('nan')):.2f} | "
                  f"{r.get('train_seconds', 0):.0f} | {r.get('commit')} |")


def main():
    ap = argparse.ArgumentParser(description="Train a reproduction in stages; see scripts/repro.sh.")
    ap.add_argument("name", choices=sorted(RUNS))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("REPRO_THREADS", "1")))
    ap.add_argument("--eval-k", type=int, default=int(os.environ.get("REPRO_EVAL_K", "0")),
                    help="importance samples at every stage (default: 1000 before the run's k5000_from stage, 5000 from it)")
    # For a quick check of the runner itself, not for figures:
    ap.add_argument("--out-root", default=ROOT, help="folder holding bench/runs, bench/results and build/repro")
    ap.add_argument("--stages", type=lambda s: [int(x) for x in s.split(",")], help="other stage epochs, comma-separated")
    ap.add_argument("--train-args", default="", help="extra train flags, e.g. '--train-limit 500 --test-limit 100'")
    ap.add_argument("--eval-args", default="", help="extra eval flags, e.g. '--limit 100'")
    ap.add_argument("--k5000-from", type=int, help="the first stage (in epochs) evaluated at k = 5000")
    ap.add_argument("--table", action="store_true", help="print the results log as a Markdown table and exit")
    a = ap.parse_args()
    if a.table:
        table(a.name, a.out_root)
        return
    r = Runner(a.name, a.threads, a.eval_k, a.out_root, a.stages, a.train_args.split())
    if a.k5000_from is not None:
        r.spec["k5000_from"] = a.k5000_from
    r.eval_extra = a.eval_args.split()
    r.run()


if __name__ == "__main__":
    main()
