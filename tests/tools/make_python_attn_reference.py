"""Reference attention patterns for tests/python (run_with_cache vs transformers).

Loads the tiny random Llama of tests/data/hf/llama (made by transformers,
tests/tools/make_hf_tiny.py) with transformers, runs a fixed batch of token ids with
output_attentions=True (eager attention) and writes the patterns, the residual stream
after each block (hidden_states) and the logits to tests/data/python/llama_reference.json.

    .venv-bench/bin/python tests/tools/make_python_attn_reference.py
"""
import json
import os

import torch
import transformers

root = os.path.join(os.path.dirname(__file__), "..", "..")
src = os.path.join(root, "tests", "data", "hf", "llama")
model = transformers.AutoModelForCausalLM.from_pretrained(src, attn_implementation="eager", torch_dtype=torch.float32)
model.eval()
ids = torch.tensor([[1, 17, 200, 3, 45, 45, 99, 128, 7, 250, 31, 64], [1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]])
with torch.no_grad():
    out = model(ids, output_attentions=True, output_hidden_states=True)
ref = {
    "transformers": transformers.__version__,
    "torch": torch.__version__,
    "ids": ids.tolist(),
    "attentions": [a.tolist() for a in out.attentions],          # [layer][batch, head, q, k]
    "hidden_states": [h.tolist() for h in out.hidden_states[1:-1]],  # after blocks 0..L-2 (the last is normed)
    "logits": out.logits.tolist(),
}
dst = os.path.join(root, "tests", "data", "python", "llama_reference.json")
with open(dst, "w") as f:
    json.dump(ref, f)
print(dst, os.path.getsize(dst), "bytes")
