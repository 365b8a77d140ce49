#!/usr/bin/python3
"""Side by side: sinklab's BB generator (Google Benchmark) vs a straightforward NumPy
implementation of the same generator (vectorised over the batch, loop over time).

Usage: /usr/bin/python3 bench/compare_data.py [BUILD_DIR]
"""
import json, os, subprocess, sys, time
import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
counts = os.path.join(root, "data", "bb", "tinyshakespeare_char_counts.json")
d = json.load(open(counts))
uni = np.array(d["unigram_counts"], dtype=np.float64)
bi = np.array(d["bigram_counts"], dtype=np.float64)
V = len(uni)
rows = bi.sum(1, keepdims=True)
P = np.where(rows > 0, bi / np.maximum(rows, 1), uni / uni.sum())
cdf = np.cumsum(P, 1)
cdf[:, -1] = 1.0
trig = np.argsort(-uni, kind="stable")[:3]
is_trig = np.zeros(V, bool)
is_trig[trig] = True
first = np.where(is_trig, 0, uni)
first_cdf = np.cumsum(first / first.sum())


def generate_numpy(rng, B, T):
    x = np.empty((B, T + 1), np.int64)
    x[:, 0] = V  # BOS
    x[:, 1] = np.searchsorted(first_cdf, rng.random(B), side="right")
    for t in range(2, T + 1):
        prev = x[:, t - 1]
        u = rng.random(B)
        nxt = (u[:, None] > cdf[prev]).sum(1)  # inverse CDF per row
        x[:, t] = np.where(is_trig[prev], x[:, t - 2], nxt)
    return x


B, T = 512, 256
rng = np.random.default_rng(0)
generate_numpy(rng, B, T)
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 3.0:
    generate_numpy(rng, B, T)
    n += 1
np_rate = n * B * (T + 1) / (time.perf_counter() - t0)

exe = os.path.join(build, "bench", "bench_data")
out = subprocess.run([exe, "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
res = json.loads(out)["benchmarks"]
print(f"{'implementation':<44} {'threads':>7} {'Mtokens/s':>10} {'Mtok/s/thr':>10}")
for r in res:
    name = r["name"].split("/")
    label = "sinklab " + ("+oracle" if name[2] == "1" else "tokens only")
    print(f"{label:<44} {int(r['threads']):>7} {r['tokens/s']/1e6:>10.1f} {r['tokens/s/thread']/1e6:>10.1f}")
print(f"{'numpy (vectorised over batch)':<44} {1:>7} {np_rate/1e6:>10.1f} {np_rate/1e6:>10.1f}")
