#!/usr/bin/env python3
"""A `sinklab pretrain` checkpoint opened by transformers, for the parity test of the
Hugging Face export (tests/unit/torch/test_pretrain.cpp, docs/results-pretrain.md).

Copies one checkpoint directory RUN/hf/step<N>/ that sinklab wrote (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json) to
OUT/ and adds golden.json: for a few fixed texts, the token ids of transformers'
AutoTokenizer and the logits of AutoModelForCausalLM (float32, eager attention),
floats as base64 of little-endian float32.

Run (with the venv of tests/tools/make_hf_tiny.py):
    ./build/sinklab pretrain --preset tiny-lm -o /tmp/tiny-lm --no-scan
    /work/venvs/hf/bin/python tests/tools/make_pretrain_fixture.py /tmp/tiny-lm/hf/step40 \
        --out tests/data/pretrain/tiny-lm-step40
"""
import argparse
import base64
import json
import os
import shutil

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "caf\u00e9 \u2013 na\u00efve r\u00e9sum\u00e9",
]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
        shutil.copy(os.path.join(a.checkpoint, f), os.path.join(a.out, f))
    tok = AutoTokenizer.from_pretrained(a.out)
    model = AutoModelForCausalLM.from_pretrained(a.out, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cases = []
    for t in TEXTS:
        ids = tok(t)["input_ids"]
        assert tok.decode(ids, skip_special_tokens=True) == t, (t, tok.decode(ids))
        ids = ids[: model.config.max_position_embeddings]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].numpy()
        cases.append({"text": t, "ids": ids, "shape": list(logits.shape), "logits": b64(logits)})
    golden = {"transformers": transformers.__version__, "torch": torch.__version__,
              "model_type": model.config.model_type, "cases": cases}
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print("wrote", a.out, [len(c["ids"]) for c in cases])


if __name__ == "__main__":
    main()
