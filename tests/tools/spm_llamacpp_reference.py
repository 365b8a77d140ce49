#!/usr/bin/env python3
"""Adds llama.cpp's ids to tests/data/tokenizer/spm_tiny.json.

spm_tiny.json holds a tiny SentencePiece BPE vocabulary (made by make_spm_tiny.cpp)
and the ids libsentencepiece gives for a few texts. This script writes that
vocabulary into a vocabulary-only GGUF file (tokenizer.ggml.model = "llama", as
Llama 2 files have it; dummy hyperparameters, no tensors), loads it with
llama-cpp-python (vocab_only=True) and stores, for every case and for a few extra
ones with special tokens, the ids llama.cpp gives:
  case["llamacpp_ids"]          llama_tokenize(add_special=False, parse_special=False)
  case["llamacpp_ids_special"]  llama_tokenize(add_special=True,  parse_special=True)
test_tokenizer.cpp checks sinklab's SentencePiece-style tokenizer against both.

Needs llama-cpp-python and gguf-py (both PyPI) in the interpreter:
  python tests/tools/spm_llamacpp_reference.py [--json tests/data/tokenizer/spm_tiny.json]
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

try:
    import gguf
    from llama_cpp import Llama
except ImportError as e:
    sys.exit(f"spm_llamacpp_reference.py: {e} (needs llama-cpp-python and gguf from PyPI)")

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = [
    "<s>Hello</s> world",
    "a<sep>b <sep> c",
    "<unk> is unknown",
    "</s>",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=os.path.join(HERE, "..", "data", "tokenizer", "spm_tiny.json"))
    a = ap.parse_args()
    j = json.load(open(a.json))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spm_tiny.gguf")
        w = gguf.GGUFWriter(path, "llama")
        w.add_context_length(64)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_feed_forward_length(16)
        w.add_head_count(1)
        w.add_head_count_kv(1)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(8)
        w.add_tokenizer_model("llama")
        w.add_token_list(j["tokens"])
        w.add_token_scores(j["scores"])
        w.add_token_types(j["token_types"])
        w.add_bos_token_id(j["bos_id"])
        w.add_eos_token_id(j["eos_id"])
        w.add_unk_token_id(j["unk_id"])
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        llm = Llama(model_path=path, vocab_only=True, verbose=False)
        texts = [c["text"] for c in j["cases"]]
        for t in EXTRA:
            if t not in texts:
                j["cases"].append({"text": t})
        for c in j["cases"]:
            b = c["text"].encode("utf-8")
            c["llamacpp_ids"] = llm.tokenize(b, add_bos=False, special=False) if b else []
            c["llamacpp_ids_special"] = llm.tokenize(b, add_bos=True, special=True)
    j["llamacpp_generator"] = "tests/tools/spm_llamacpp_reference.py (vocabulary-only GGUF, add_bos_token=true)"
    with open(a.json, "w") as f:
        f.write(json.dumps(j, ensure_ascii=False, separators=(",", ":")) + "\n")
    diff = [c["text"] for c in j["cases"] if "ids" in c and c["ids"] != c["llamacpp_ids"]]
    print(f"{len(j['cases'])} cases; llama.cpp differs from sentencepiece on: {diff}", file=sys.stderr)


if __name__ == "__main__":
    main()
