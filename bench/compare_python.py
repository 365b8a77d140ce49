"""What calling sinklab through Python costs over the CLI / C++ (issue 19, "Speed"), in
one run, on the same work:

  train  the cpu-1l preset for --steps steps at --threads threads: `sinklab train` (a
         process, wall time of the command) vs sinklab.train() (wall time of the call)
  forward SmolLM2-135M-Instruct on the first 256 tokens of prose document 0, weights as
         stored: bench_llm's llm_forward/none (Google Benchmark, C++) vs Model.forward
         (median of --reps calls after a warm-up), and with every layer's attention
         pattern cached (llm_forward/patterns vs Model.run_with_cache)

    PYTHONPATH=build/python /usr/bin/python3 bench/compare_python.py [--threads 2]

Prints a Markdown table (docs/benchmarks.md keeps the figures).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

root = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--build", default=str(root / "build"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--reps", type=int, default=20)
a = ap.parse_args()
sys.path.insert(0, os.path.join(a.build, "python"))
import sinklab  # noqa: E402

rows = []
tmp = Path(tempfile.mkdtemp())

# ---- training
t0 = time.perf_counter()
subprocess.run([f"{a.build}/sinklab", "train", "--preset", "cpu-1l", "--set", f"train.steps={a.steps}", "--set",
                f"train.threads={a.threads}", "--set", "checkpoints.dense_until=0", "-o", str(tmp / "cli")],
               check=True, capture_output=True)
cli_s = time.perf_counter() - t0
t0 = time.perf_counter()
sinklab.train("cpu-1l", steps=a.steps, threads=a.threads, dense_until=0, out=str(tmp / "py"))
py_s = time.perf_counter() - t0
rows.append((f"train cpu-1l, {a.steps} steps, {a.threads} threads", f"{cli_s:.2f} s ({a.steps / cli_s:.1f} steps/s)",
             f"{py_s:.2f} s ({a.steps / py_s:.1f} steps/s)", py_s / cli_s - 1))

# ---- forward
bench = subprocess.run([f"{a.build}/bench/bench_llm", f"--benchmark_filter=llm_forward/(none|patterns)/threads:{a.threads}$",
                        "--benchmark_format=json"], check=True, capture_output=True, text=True)
cpp = {b["name"].split("/")[1]: b["real_time"] / 1e3 for b in json.loads(bench.stdout)["benchmarks"]}  # ms -> s
sinklab.set_threads(a.threads)
model = sinklab.load("SmolLM2-135M-Instruct")
with open(root / "data" / "domains" / "prose_wikipedia.jsonl") as f:
    text = json.loads(f.readline())["text"]
ids = model.tokenize(text)[:, :256]


def timed(fn):
    fn()
    ts = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


fw = timed(lambda: model.forward(ids))
rc = timed(lambda: model.run_with_cache(ids, names=["blocks.*.attn.hook_pattern"]))
for name, py, what in (("none", fw, "forward"), ("patterns", rc, "run_with_cache (all patterns)")):
    rows.append((f"SmolLM2 {what}, 256 tokens, {a.threads} threads", f"{cpp[name] * 1e3:.1f} ms ({256 / cpp[name]:.0f} tok/s)",
                 f"{py * 1e3:.1f} ms ({256 / py:.0f} tok/s)", py / cpp[name] - 1))

print(f"sinklab {sinklab.__version__}, LibTorch {sinklab.LIBTORCH_VERSION}, arrays as {sinklab.TENSOR_TYPE}\n")
print("| work | CLI / C++ | Python | Python overhead |")
print("|---|---|---|---|")
for w, c, p, o in rows:
    print(f"| {w} | {c} | {p} | {100 * o:+.1f}% |")
