#!/usr/bin/env python3
"""A real pretrained model as a Hugging Face directory, checked against transformers.

1. Converts the float32 copy of the SmolLM2 GGUF (tests/tools/gguf_dequantize.py) into a
   Hugging Face directory with transformers' own GGUF loader (LlamaForCausalLM, HF q/k
   layout, rotate-half rotary; transformers 4.44 leaves lm_head untied and uninitialised,
   so the embedding is copied into it) and its tokenizer (tokenizer.json), into
   ~/.cache/sinklab/hf/smollm2-135m-from-gguf (650 MB, outside the repo).
2. For the 24 prompts of tests/data/golden/smollm2_logits.json: transformers' top-5
   next-token logits at the last position vs `sinklab llm run DIR --special --top 5`
   (token counts must agree too). Prints top-1 agreement and the max |logit diff|.

  /work/venvs/hf/bin/python tests/tools/hf_real_smollm2.py --gguf-f32 /tmp/smol_f32.gguf \
      [--sinklab build/sinklab]

Needs transformers (4.44.2 with Debian's torch 1.13), gguf and accelerate<1.0.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf-f32", required=True, help="SmolLM2 GGUF dequantised to float32")
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/sinklab/hf/smollm2-135m-from-gguf"))
    ap.add_argument("--sinklab", default=os.path.join(REPO, "build", "sinklab"))
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.out, "model.safetensors")):
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(os.path.abspath(a.gguf_f32), os.path.join(tmp, "model.gguf"))
            m = AutoModelForCausalLM.from_pretrained(tmp, gguf_file="model.gguf", torch_dtype=torch.float32)
            with torch.no_grad():
                m.lm_head.weight.copy_(m.model.embed_tokens.weight)
            m.save_pretrained(a.out, safe_serialization=True)
            AutoTokenizer.from_pretrained(tmp, gguf_file="model.gguf").save_pretrained(a.out)
    m = AutoModelForCausalLM.from_pretrained(a.out, torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(a.out)
    golden = json.load(open(os.path.join(REPO, "tests", "data", "golden", "smollm2_logits.json")))
    worst, agree, n = 0.0, 0, 0
    for p in golden["prompts"]:
        ids = tok(p["text"], return_tensors="pt").input_ids
        with torch.no_grad():
            top = torch.topk(m(ids).logits[0, -1], 5)
        out = subprocess.run([a.sinklab, "llm", "run", a.out, "--prompt", p["text"], "--top", "5", "--special"],
                             capture_output=True, text=True, check=True).stdout
        ntok = int(out.split(":")[1].split()[0])
        if ntok != ids.shape[1]:
            sys.exit(f"token counts differ on {p['text'][:40]!r}: sinklab {ntok}, transformers {ids.shape[1]}")
        rows = [l.split() for l in out.splitlines() if l.strip() and l.split()[0].isdigit()]
        ours = {int(r[1]): float(r[3]) for r in rows}
        for i, v in zip(top.indices.tolist(), top.values.tolist()):
            worst = max(worst, abs(ours[i] - v) if i in ours else float("inf"))
        agree += int(rows[0][1]) == top.indices[0].item()
        n += 1
    print(f"{n} prompts: top-1 agreement {agree}/{n}; max |logit diff| over transformers' top-5 {worst:.2e}")


if __name__ == "__main__":
    main()
