"""What calling sinklab through Python costs over the CLI / C++ (issue 19, "Speed"), in
one run, on the same work:

  train  the cpu-1l preset for --steps steps at --threads threads: `sinklab train` (a
         process, wall time of the command) vs sinklab.train() (wall time of the call)
  forward SmolLM2-135M-Instruct on the first 256 tokens of prose document 0, weights as
         stored: bench_llm's llm_forward/none (Google Benchmark, C++: the mean over its
         iterations) vs Model.forward (the mean of --reps calls after a warm-up), and with
         every layer's attention pattern cached (llm_forward/patterns vs
         Model.run_with_cache)

Each comparison runs --rounds times, the two sides alternating; the table gives the
medians, the overhead as the ratio of the medians, and the range of the per-round ratios
(the machine is shared: one round alone can be off by 10-30%).

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
ap.add_argument("--rounds", type=int, default=3)
a = ap.parse_args()
sys.path.insert(0, os.path.join(a.build, "python"))
import sinklab  # noqa: E402

rows = []
tmp = Path(tempfile.mkdtemp())
med = statistics.median

# ---- training
cli_t, py_t = [], []
for r in range(a.rounds):
    t0 = time.perf_counter()
    subprocess.run([f"{a.build}/sinklab", "train", "--preset", "cpu-1l", "--set", f"train.steps={a.steps}", "--set",
                    f"train.threads={a.threads}", "--set", "checkpoints.dense_until=0", "--force", "-o",
                    str(tmp / "cli")], check=True, capture_output=True)
    cli_t.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    sinklab.train("cpu-1l", steps=a.steps, threads=a.threads, dense_until=0, force=True, out=str(tmp / "py"))
    py_t.append(time.perf_counter() - t0)
rows.append((f"train cpu-1l, {a.steps} steps, {a.threads} threads",
             f"{med(cli_t):.2f} s ({a.steps / med(cli_t):.1f} steps/s)",
             f"{med(py_t):.2f} s ({a.steps / med(py_t):.1f} steps/s)", med(py_t) / med(cli_t) - 1,
             [p / c - 1 for p, c in zip(py_t, cli_t)]))

# ---- forward
sinklab.set_threads(a.threads)
model = sinklab.load("SmolLM2-135M-Instruct")
with open(root / "data" / "domains" / "prose_wikipedia.jsonl") as f:
    text = json.loads(f.readline())["text"]
ids = model.tokenize(text)[:, :256]


def timed(fn):
    fn()
    t0 = time.perf_counter()
    for _ in range(a.reps):
        fn()
    return (time.perf_counter() - t0) / a.reps


calls = {"none": lambda: model.forward(ids),
         "patterns": lambda: model.run_with_cache(ids, names=["blocks.*.attn.hook_pattern"])}
cpp = {k: [] for k in calls}
py = {k: [] for k in calls}
for r in range(a.rounds):
    bench = subprocess.run([f"{a.build}/bench/bench_llm",
                            f"--benchmark_filter=llm_forward/(none|patterns)/threads:{a.threads}/",
                            "--benchmark_format=json"], check=True, capture_output=True, text=True)
    for b in json.loads(bench.stdout)["benchmarks"]:
        cpp[b["name"].split("/")[1]].append(b["real_time"] / 1e3)  # ms -> s
    for k, fn in calls.items():
        py[k].append(timed(fn))
for k, what in (("none", "forward"), ("patterns", "run_with_cache (all patterns)")):
    c, p = med(cpp[k]), med(py[k])
    rows.append((f"SmolLM2 {what}, 256 tokens, {a.threads} threads", f"{c * 1e3:.1f} ms ({256 / c:.0f} tok/s)",
                 f"{p * 1e3:.1f} ms ({256 / p:.0f} tok/s)", p / c - 1, [x / y - 1 for x, y in zip(py[k], cpp[k])]))

print(f"sinklab {sinklab.__version__}, LibTorch {sinklab.LIBTORCH_VERSION}, arrays as {sinklab.TENSOR_TYPE}\n")
print(f"| work ({a.rounds} rounds) | CLI / C++ | Python | Python overhead | per round |")
print("|---|---|---|---|---|")
for w, c, p, o, rr in rows:
    print(f"| {w} | {c} | {p} | {100 * o:+.1f}% | {100 * min(rr):+.0f}% .. {100 * max(rr):+.0f}% |")
