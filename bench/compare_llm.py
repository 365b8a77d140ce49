#!/usr/bin/env python3
"""sinklab vs transformers and llama.cpp: forward speed of SmolLM2-135M-Instruct.

Runs, in one go, on the same file, the same 256 tokens (the first 256 of prose doc 0
of data/domains/prose_wikipedia.jsonl, one batch) and the same thread counts:
  - bench_llm (Google Benchmark, bench/torch/bench_llm.cpp): sinklab forward, no
    capture and with every attention pattern recorded;
  - transformers (--python, default .venv-bench/bin/python: PyPI's torch of the version
    sinklab links, transformers and gguf, made by bench/setup_venv.sh) on the same GGUF
    file (from_pretrained(gguf_file=...), dequantised to float32 as sinklab does), the
    same 256 token ids, torch.inference_mode: attn_implementation "sdpa" (its default)
    and "eager" with output_attentions=True (every attention pattern returned, as
    sinklab+patterns records them), best of --reps after one warm-up;
  - llama.cpp (optional, when --llama-python exists) through llama-cpp-python (a subprocess with --llama-python, PYTHONPATH
    --llama-path): prompt processing of the 256 tokens from an empty KV cache, best
    of --reps after one warm-up;
and prints a side-by-side table of tokens/s with the load average.

Usage:
  .venv-bench/bin/python bench/compare_llm.py --bench build/bench/bench_llm \
      [--llama-python /work/venvs/llamacpp_b/bin/python] \
      [--llama-path /work/venvs/llamacpp_local] [--threads 1 2] [--reps 3] [--json out.json]
"""
import argparse
import json
import os
import subprocess
import sys

LLAMA_SNIPPET = r"""
import json, os, sys, time
from llama_cpp import Llama
model, corpus, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(corpus, encoding="utf-8") as f:
    text = json.loads(f.readline())["text"]
llm = Llama(model_path=model, n_ctx=512, n_batch=512, n_ubatch=512, logits_all=False,
            n_threads=threads, n_threads_batch=threads, verbose=False)
ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)[:256]
assert len(ids) == 256, len(ids)
times = []
for _ in range(reps + 1):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": times, "best": min(times[1:])}))
"""


HF_SNIPPET = r"""
import json, os, sys, time
import torch
from transformers import AutoModelForCausalLM
model, threads, reps, impl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ids = torch.tensor([json.loads(sys.argv[5])])
torch.set_num_threads(threads)
m = AutoModelForCausalLM.from_pretrained(os.path.dirname(model), gguf_file=os.path.basename(model),
                                         torch_dtype=torch.float32, attn_implementation=impl)
m.eval()
times = []
with torch.inference_mode():
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        out = m(ids, output_attentions=(impl == "eager"), use_cache=False)
        times.append(time.perf_counter() - t0)
n_att = len(out.attentions) if getattr(out, "attentions", None) else 0
print(json.dumps({"seconds": times, "best": min(times[1:]), "patterns": n_att,
                  "torch": torch.__version__}))
"""


def default_model():
    if os.environ.get("SINKLAB_TEST_MODEL"):
        return os.environ["SINKLAB_TEST_MODEL"]
    cache = os.environ.get("SINKLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "sinklab")
    return os.path.join(cache, "models", "SmolLM2-135M-Instruct.gguf")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(here, "..", "build", "bench", "bench_llm"))
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--data", default=os.path.join(here, "..", "data"))
    ap.add_argument("--python", default=os.path.join(here, "..", ".venv-bench", "bin", "python"))
    ap.add_argument("--llama-python", default="/work/venvs/llamacpp_b/bin/python")
    ap.add_argument("--llama-path", default="/work/venvs/llamacpp_local")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-time", default="3")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()
    corpus = os.path.join(a.data, "domains", "prose_wikipedia.jsonl")

    # sinklab
    flt = "BM_llm_forward/.*/threads:(%s)/" % "|".join(str(t) for t in a.threads)
    env = dict(os.environ, SINKLAB_TEST_MODEL=a.model)
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        # The JSON goes to a file: bench_llm may print other lines on stdout.
        r = subprocess.run([a.bench, "--benchmark_out=" + tmp.name, "--benchmark_out_format=json",
                            "--benchmark_filter=" + flt, "--benchmark_min_time=%s" % a.min_time],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit("bench_llm failed: " + r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "bench_llm failed")
        bench_json = json.load(open(tmp.name))
    sk = {}
    for b in bench_json["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit("bench_llm: " + b.get("error_message", "error"))
        _, mode, th = b["name"].split("/")[:3]
        sk[(mode, int(th.split(":")[1]))] = b["tokens_per_s"]
    # transformers: the same 256 token ids as bench_llm (tokenised with the GGUF's own
    # tokenizer through sinklab, so both sides see the same input).
    tok = subprocess.run([os.path.join(os.path.dirname(a.bench), "..", "sinklab"), "llm", "tokenize",
                          a.model, "--json", "--text", json.loads(open(corpus).readline())["text"]],
                         capture_output=True, text=True)
    try:
        ids = json.loads(tok.stdout)["ids"][:256]
    except (ValueError, KeyError):
        sys.exit("sinklab llm tokenize failed: " + (tok.stderr.strip().splitlines() or ["?"])[-1])
    hf = {}
    for t in a.threads:
        for impl in ("sdpa", "eager"):
            r = subprocess.run([a.python, "-c", HF_SNIPPET, a.model, str(t), str(a.reps), impl, json.dumps(ids)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("transformers run failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
            out = json.loads(r.stdout.strip().splitlines()[-1])
            hf[(impl, t)] = len(ids) / out["best"]
            hf_torch = out["torch"]

    # llama.cpp
    ll = {}
    lenv = dict(os.environ, PYTHONPATH=a.llama_path)
    for t in (a.threads if os.path.exists(a.llama_python) else []):
        r = subprocess.run([a.llama_python, "-c", LLAMA_SNIPPET, a.model, corpus, str(t), str(a.reps)],
                           capture_output=True, text=True, env=lenv)
        if r.returncode != 0:
            sys.exit("llama.cpp run failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
        out = json.loads(r.stdout.strip().splitlines()[-1])
        ll[t] = 256.0 / out["best"]

    load = os.getloadavg()
    print("SmolLM2-135M-Instruct (Q4_1), forward of 256 tokens (prose doc 0), tokens/s")
    print("load average %.2f %.2f %.2f, %d CPUs" % (load + (os.cpu_count(),)))
    print("transformers on PyTorch %s; llama.cpp %s" % (hf_torch, "run" if ll else "not run (no --llama-python)"))
    hdr = ["threads", "sinklab", "sinklab+patterns", "HF sdpa", "HF eager+attentions",
           "sinklab / HF sdpa", "sinklab+patterns / HF eager+attentions", "llama.cpp"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    rows = []
    for t in a.threads:
        n, p, l = sk.get(("none", t)), sk.get(("patterns", t)), ll.get(t)
        hs, he = hf[("sdpa", t)], hf[("eager", t)]
        print("| %d | %.1f | %.1f | %.1f | %.1f | %.2fx | %.2fx | %s |" %
              (t, n, p, hs, he, n / hs, p / he, "%.1f" % l if l else "-"))
        rows.append({"threads": t, "sinklab": n, "sinklab_patterns": p, "hf_sdpa": hs,
                     "hf_eager_attentions": he, "llamacpp": l})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "loadavg": load}, f, indent=1)


if __name__ == "__main__":
    main()
