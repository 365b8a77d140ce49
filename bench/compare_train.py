#!/usr/bin/env python3
"""Training speed of sinklab (LibTorch, C++) next to the same model and step in PyTorch.

One run, interleaved, best of --repeat: build/bench/bench_train (matmul peak and training
steps; sinklab on the LibTorch it was built with) and bench/train_pytorch.py with the same
presets, batch shapes and thread counts, in

  * the PyTorch of the same version as sinklab's LibTorch, from PyPI (--python, default
    .venv-bench/bin/python, made by bench/setup_venv.sh), twice: as a user writes the loop
    (torch.set_num_threads, the default AdamW), and tuned as far as a user can from Python
    (fused AdamW, scaled_dot_product_attention, torch.compile);
  * optionally Debian's python3-torch 1.13 (--python-old /usr/bin/python3, OpenBLAS threads
    set) and sinklab built on it (--bench-old build-system/bench/bench_train), as second rows.

Prints one table: preset, threads, steps/s of each, sinklab / PyTorch (untuned, tuned),
sinklab GFLOP/s and % of the matmul peak at that thread count.

  .venv-bench/bin/python bench/compare_train.py [--repeat 2] [--python-old /usr/bin/python3 \
      --bench-old build-system/bench/bench_train] [--json out.json]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_cpp(binary, filt):
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_filter=" + filt],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)["benchmarks"]


def run_py(python, presets, threads, vocab, flags):
    cmd = [python, os.path.join(HERE, "train_pytorch.py"), "--presets", *presets,
           "--threads", *map(str, threads), "--vocab", str(vocab)] + flags
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if "--match-blas-threads" in flags:  # as sinklab runs: OpenMP workers sleep when idle
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, env=env).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]


def uptime():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def torch_version(python):
    r = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def keep_best(store, key, rec, field):
    if key not in store or rec[field] > store[key][field]:
        store[key] = rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "bench_train"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv-bench", "bin", "python"))
    ap.add_argument("--bench-old", help="bench_train built on another LibTorch (e.g. build-system/)")
    ap.add_argument("--python-old", help="a Python with another PyTorch (e.g. Debian's /usr/bin/python3)")
    ap.add_argument("--presets", nargs="+", default=["cpu-1l", "cpu-3l", "paper-1l"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", help="also write all results to this file")
    a = ap.parse_args()

    ver = torch_version(a.python)
    if not ver:
        sys.exit(f"compare_train: {a.python} cannot import torch (run bash bench/setup_venv.sh)")
    old_ver = torch_version(a.python_old) if a.python_old else None
    peak, loads = {}, []
    cols = {}  # label -> {(preset, threads): record}
    filt = "^(matmul|train/(" + "|".join(a.presets) + "))/"
    for r in range(a.repeat):
        loads.append(uptime())
        for label, binary in (("sinklab", a.bench), ("sinklab-old", a.bench_old)):
            if not binary:
                continue
            for b in run_cpp(binary, filt):
                if b.get("error_occurred"):
                    sys.exit("bench_train: %s: %s" % (b["name"], b.get("error_message")))
                name, t = b["name"], int(b["threads"])
                if name.startswith("matmul/"):
                    if label == "sinklab":
                        peak[t] = max(peak.get(t, 0), b["GFLOP/s"])
                else:
                    keep_best(cols.setdefault(label, {}), (name.split("/")[1], t), b, "steps_per_s")
        threads = sorted({t for (_, t) in cols["sinklab"]})
        vocab = int(next(iter(cols["sinklab"].values()))["vocab"])
        runs = [("pytorch", a.python, []), ("pytorch-tuned", a.python, ["--tuned"])]
        if old_ver:
            runs.append(("pytorch-old", a.python_old, ["--match-blas-threads"]))
        for label, py, flags in runs:
            for p in run_py(py, a.presets, threads, vocab, flags):
                keep_best(cols.setdefault(label, {}), (p["preset"], p["threads"]), p, "steps_per_s")
        loads.append(uptime())

    sk = cols["sinklab"]
    print("matmul peak (torch::matmul float32, best of N=1024/2048): " +
          ", ".join("%d thread%s %.1f GFLOP/s" % (t, "s" if t > 1 else "", g) for t, g in sorted(peak.items())))
    print("load average during the runs: " + " | ".join(loads))
    hdr = ["preset", "B", "T", "threads", "sinklab steps/s", f"PyTorch {ver}", f"PyTorch {ver} tuned",
           "sinklab / PyTorch", "sinklab / tuned"]
    if "sinklab-old" in cols:
        hdr.append("sinklab on old LibTorch")
    if "pytorch-old" in cols:
        hdr += [f"PyTorch {old_ver}", "sinklab / it"]
    hdr += ["sinklab GFLOP/s", "% of peak"]

    def f2(x):
        return "%.2f" % x if x is not None else "-"

    def ratio(x, y):
        return "%.2fx" % (x / y) if x and y else "-"

    rows = []
    for key in sorted(sk, key=lambda k: (a.presets.index(k[0]), k[1])):
        c = sk[key]
        get = lambda lab: cols.get(lab, {}).get(key, {}).get("steps_per_s")
        p, q = get("pytorch"), get("pytorch-tuned")
        row = [key[0], "%d" % c["batch"], "%d" % c["seq_len"], "%d" % key[1], f2(c["steps_per_s"]),
               f2(p), f2(q), ratio(c["steps_per_s"], p), ratio(c["steps_per_s"], q)]
        if "sinklab-old" in cols:
            row.append(f2(get("sinklab-old")))
        if "pytorch-old" in cols:
            o = get("pytorch-old")
            row += [f2(o), ratio(c["steps_per_s"], o)]
        row += ["%.1f" % c["GFLOP/s"], "%.0f%%" % (100 * c["GFLOP/s"] / peak[key[1]]) if key[1] in peak else "-"]
        rows.append(row)
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)) + " |")
    print("|-" + "-|-".join("-" * x for x in w) + "-|")
    for r in rows:
        print("| " + " | ".join(v.ljust(w[i]) for i, v in enumerate(r)) + " |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peak": peak, "loads": loads, "torch": ver, "torch_old": old_ver,
                       "results": {lab: [dict(v, preset=k[0], threads=k[1]) for k, v in st.items()]
                                   for lab, st in cols.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
