#!/usr/bin/python3
"""Training speed of sinklab (LibTorch, C++) next to the same model and step in PyTorch.

Runs build-*/bench/bench_train --benchmark_format=json (matmul peak, training steps)
and bench/train_pytorch.py with the same presets, batch shapes and thread counts, then
prints one table: preset, threads, sinklab steps/s, PyTorch steps/s, speedup, sinklab
GFLOP/s, % of the matmul peak at that thread count (best of the 1024/2048 sizes).
PyTorch runs twice: as a user gets it (torch.set_num_threads only; Debian's OpenBLAS
keeps its own pool of all cores; libgomp's default spinning wait policy) and tuned as
sinklab runs (OpenBLAS's threads set as sinklab::set_compute_threads does, and
OMP_WAIT_POLICY=PASSIVE as sinklab::ensure_omp_passive sets), so the table shows both
what sinklab gains from that and what it gains beyond it.

  /usr/bin/python3 bench/compare_train.py --bench build-bench/bench/bench_train [--repeat 3]

--repeat N runs both sides N times and keeps the best of each (the machine is shared).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_cpp(binary, filt):
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_filter=" + filt],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)["benchmarks"]


def run_py(presets, threads, vocab, match_blas):
    cmd = ["/usr/bin/python3", os.path.join(HERE, "train_pytorch.py"), "--presets", *presets,
           "--threads", *map(str, threads), "--vocab", str(vocab)] + (["--match-blas-threads"] if match_blas else [])
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if match_blas:  # tuned as sinklab runs: OpenBLAS threads set, OpenMP workers sleep when idle
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def uptime():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(HERE, "..", "build-bench", "bench", "bench_train"))
    ap.add_argument("--presets", nargs="+", default=["cpu-1l", "cpu-3l", "paper-1l"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", help="also write all results to this file")
    a = ap.parse_args()

    peak, cpp, py, pyb, loads = {}, {}, {}, {}, []
    filt = "^(matmul|train/(" + "|".join(a.presets) + "))/"
    for r in range(a.repeat):
        loads.append(uptime())
        for b in run_cpp(a.bench, filt):
            if b.get("error_occurred"):
                sys.exit("bench_train: %s: %s" % (b["name"], b.get("error_message")))
            name, t = b["name"], int(b["threads"])
            if name.startswith("matmul/"):
                peak[t] = max(peak.get(t, 0), b["GFLOP/s"])
            else:
                key = (name.split("/")[1], t)
                if key not in cpp or b["steps_per_s"] > cpp[key]["steps_per_s"]:
                    cpp[key] = b
        threads = sorted({t for (_, t) in cpp})
        vocab = int(next(iter(cpp.values()))["vocab"])
        for store, match in ((py, False), (pyb, True)):
            for p in run_py(a.presets, threads, vocab, match):
                key = (p["preset"], p["threads"])
                if key not in store or p["steps_per_s"] > store[key]["steps_per_s"]:
                    store[key] = p
        loads.append(uptime())

    print("matmul peak (torch::matmul float32, best of N=1024/2048): " +
          ", ".join("%d thread%s %.1f GFLOP/s" % (t, "s" if t > 1 else "", g) for t, g in sorted(peak.items())))
    print("load average during the runs: " + " | ".join(loads))
    hdr = ("preset", "B", "T", "threads", "sinklab steps/s", "PyTorch steps/s", "speedup", "PyTorch tuned steps/s",
           "speedup", "sinklab tok/s", "sinklab GFLOP/s", "% of peak")
    rows = []
    for key in sorted(cpp, key=lambda k: (a.presets.index(k[0]), k[1])):
        c, p, q = cpp[key], py.get(key), pyb.get(key)
        rows.append((key[0], "%d" % c["batch"], "%d" % c["seq_len"], "%d" % key[1], "%.2f" % c["steps_per_s"],
                     "%.2f" % p["steps_per_s"] if p else "-",
                     "%.2fx" % (c["steps_per_s"] / p["steps_per_s"]) if p else "-",
                     "%.2f" % q["steps_per_s"] if q else "-",
                     "%.2fx" % (c["steps_per_s"] / q["steps_per_s"]) if q else "-",
                     "%.0f" % c["tokens_per_s"], "%.1f" % c["GFLOP/s"],
                     "%.0f%%" % (100 * c["GFLOP/s"] / peak[key[1]]) if key[1] in peak else "-"))
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    print(" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
    print("-|-".join("-" * x for x in w))
    for r in rows:
        print(" | ".join(v.ljust(w[i]) for i, v in enumerate(r)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peak": peak, "loads": loads, "sinklab": [dict(v, preset=k[0]) for k, v in cpp.items()],
                       "pytorch": list(py.values()),
                       "pytorch_blas_threads": list(pyb.values())}, f, indent=1)


if __name__ == "__main__":
    main()
