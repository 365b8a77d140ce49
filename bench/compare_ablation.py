#!/usr/bin/env python3
"""sinklab vs transformers: exact zero-head ablation of SmolLM2-135M-Instruct, side by side.

One run, the same GGUF file, the same documents and token ids, the same heads:
  - sinklab: `sinklab llm scan --ablate HEADS --ablate-kind zero-head` (its clean forward
    runs once per document; every ablated copy starts from the residual stream entering
    the ablated layer, batched), timed by sinklab itself ("s per ablated copy");
  - transformers (--python, default .venv-bench/bin/python, made by bench/setup_venv.sh:
    PyPI's torch of the version sinklab links and transformers) on the same GGUF file
    (from_pretrained(gguf_file=...), dequantised to float32 as sinklab does): the usual
    way to ablate a head there, a forward pre-hook on `o_proj` that zeroes the head's
    slice of its input, one full forward per ablated copy, torch.inference_mode.
Both compute the mean next-token loss over the document (nats/token); the script prints
the per-copy time of each and the largest difference between their loss changes, a
parity check of the intervention itself.

Usage:
  .venv-bench/bin/python bench/compare_ablation.py [--sinklab build/sinklab] [--docs 2]
      [--ctx 128] [--heads L0H0,L15H3,L29H8] [--threads 2] [--json out.json]
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

from compare_llm import default_model  # the setup's SmolLM2 file (same directory)

HF_SNIPPET = r"""
import json, os, sys, time
import torch
from transformers import AutoModelForCausalLM
model, threads = sys.argv[1], int(sys.argv[2])
job = json.loads(sys.stdin.read())
torch.set_num_threads(threads)
m = AutoModelForCausalLM.from_pretrained(os.path.dirname(model), gguf_file=os.path.basename(model),
                                         torch_dtype=torch.float32)
m.eval()
cfg = m.config
hd = cfg.hidden_size // cfg.num_attention_heads
def loss_of(ids):
    out = m(ids, use_cache=False)
    logp = torch.log_softmax(out.logits[0, :-1].double(), -1)
    return -logp.gather(1, ids[0, 1:, None]).mean().item()
res = {"base": [], "delta": [], "seconds": 0.0, "copies": 0, "torch": torch.__version__}
with torch.inference_mode():
    for ids in job["docs"]:
        x = torch.tensor([ids])
        base = loss_of(x)
        res["base"].append(base)
        row = []
        for l, h in job["heads"]:
            def zero(mod, args, h=h):
                t = args[0].clone()
                t[..., h * hd:(h + 1) * hd] = 0
                return (t,)
            handle = m.model.layers[l].self_attn.o_proj.register_forward_pre_hook(zero)
            t0 = time.perf_counter()
            row.append(loss_of(x) - base)
            res["seconds"] += time.perf_counter() - t0
            res["copies"] += 1
            handle.remove()
        res["delta"].append(row)
print(json.dumps(res))
"""


def parse_heads(spec):
    heads = []
    for part in spec.split(","):
        m = re.fullmatch(r"L(\d+)H(\d+)", part.strip())
        if not m:
            sys.exit("compare_ablation: --heads wants L<layer>H<head>,..., got '%s'" % part)
        heads.append((int(m.group(1)), int(m.group(2))))
    return heads


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sinklab", default=os.path.join(here, "..", "build", "sinklab"))
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--data", default=os.path.join(here, "..", "data"))
    ap.add_argument("--python", default=os.path.join(here, "..", ".venv-bench", "bin", "python"))
    ap.add_argument("--docs", type=int, default=2, help="documents per domain")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--heads", default=",".join("L%dH%d" % (l, h) for l in (0, 15, 29) for h in range(9)))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()
    heads = parse_heads(a.heads)
    domains = {"prose": os.path.join(a.data, "domains", "prose_wikipedia.jsonl"),
               "code": os.path.join(a.data, "domains", "code_python.jsonl")}

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "scan")
        cmd = [a.sinklab, "llm", "scan", a.model, "--docs", str(a.docs), "--ctx", str(a.ctx), "--ablate", a.heads,
               "--ablate-kind", "zero-head", "--ablate-docs", str(a.docs), "--no-attribution", "--threads",
               str(a.threads), "--no-progress", "--resamples", "10", "-o", out, "--json"]
        for name, path in domains.items():
            cmd += ["--domain", "%s=%s" % (name, path)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("sinklab llm scan failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
        m = re.search(r"ablation: .*?, ([0-9.]+) s, .*?([0-9.]+) s per ablated copy", r.stderr)
        sk_copy = float(m.group(2))
        with open(os.path.join(out, "docs.csv")) as f:
            docs = [d for d in csv.DictReader(f)]
        sk_delta = {}
        with open(os.path.join(out, "ablation_docs.csv")) as f:
            for row in csv.DictReader(f):
                sk_delta[(int(row["layer"]), int(row["head"]), row["domain"], int(row["doc"]))] = \
                    float(row["delta_loss_nats"])

    # The same token ids as the scan: each document's text through sinklab's tokenizer
    # (the GGUF's own), BOS first, cut to ctx + 1 tokens.
    order, ids_list, base_sk = [], [], []
    for d in docs:
        with open(domains[d["domain"]], encoding="utf-8") as f:
            text = json.loads(f.readlines()[int(d["source_line"]) - 1])["text"]
        t = subprocess.run([a.sinklab, "llm", "tokenize", a.model, "--bos", "--json", "--text", text],
                           capture_output=True, text=True, check=True)
        ids = json.loads(t.stdout)["ids"][:a.ctx + 1]
        order.append((d["domain"], int(d["doc"])))
        ids_list.append(ids)
        base_sk.append(float(d["base_loss_nats"]))

    r = subprocess.run([a.python, "-c", HF_SNIPPET, a.model, str(a.threads)],
                       input=json.dumps({"docs": ids_list, "heads": heads}), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("transformers side failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    hf = json.loads(r.stdout.strip().splitlines()[-1])
    hf_copy = hf["seconds"] / hf["copies"]

    base_diff = max(abs(x - y) for x, y in zip(base_sk, hf["base"]))
    delta_diff, largest = 0.0, 0.0
    for i, (dom, doc) in enumerate(order):
        for j, (l, h) in enumerate(heads):
            x, y = sk_delta[(l, h, dom, doc)], hf["delta"][i][j]
            delta_diff = max(delta_diff, abs(x - y))
            largest = max(largest, abs(y))
    copies = len(order) * len(heads)
    print("exact zero-head ablation, SmolLM2-135M-Instruct (%s), %d heads x %d documents of %d tokens, "
          "%d threads" % (os.path.basename(a.model), len(heads), len(order), a.ctx + 1, a.threads))
    print("%-44s %14s %12s" % ("", "s per copy", "copies/s"))
    print("%-44s %14.3f %12.2f" % ("sinklab (shared clean prefix, batched)", sk_copy, 1 / sk_copy))
    print("%-44s %14.3f %12.2f" % ("transformers %s hook, full forward per copy" % "o_proj", hf_copy, 1 / hf_copy))
    print("speed-up %.2fx; parity over %d copies: max |delta loss difference| %.2e nats (largest |delta| %.3f), "
          "max |base loss difference| %.2e" % (hf_copy / sk_copy, copies, delta_diff, largest, base_diff))
    print("torch %s; load average %s" % (hf["torch"], " ".join("%.2f" % x for x in os.getloadavg())))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"sinklab_s_per_copy": sk_copy, "transformers_s_per_copy": hf_copy, "copies": copies,
                       "max_delta_diff": delta_diff, "max_base_diff": base_diff, "torch": hf["torch"]}, f, indent=2)


if __name__ == "__main__":
    main()
