#!/usr/bin/env python3
"""Tiny random-weight Hugging Face models and their golden outputs, made by
transformers itself, for the parity test of sinklab's HF loader
(tests/unit/torch/test_hf_model.cpp, docs/parity.md).

Writes tests/data/hf/<name>/ with config.json, model.safetensors (or shards and
model.safetensors.index.json) as save_pretrained(safe_serialization=True) writes
them, and golden.json: for a few fixed token-id sequences, the logits and every
entry of hidden_states (output_hidden_states=True) of the transformers model in
float32, eager attention. Floats are base64 of little-endian float32.

Also writes the small inputs of the CLI tests (tests/cli/hf.cmake): bad_* model
directories and a checkpoint series (series/step*/).

Run (transformers 4.44.2 works with Debian's torch 1.13):
    python3 -m venv --system-site-packages /work/venvs/hf
    /work/venvs/hf/bin/pip install "transformers==4.44.2" safetensors
    /work/venvs/hf/bin/python tests/tools/make_hf_tiny.py [--out tests/data/hf]
"""
import argparse
import base64
import json
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import (GPT2Config, GPT2LMHeadModel, GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig,
                          LlamaForCausalLM, OlmoConfig, OlmoForCausalLM, Qwen2Config, Qwen2ForCausalLM)

SEQS = [
    [0, 17, 255, 3, 99, 42, 7],
    [5, 200, 201, 202, 13, 13, 13, 77, 128, 1, 250, 64],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 100, 150, 200, 250, 30, 31],
]


def b64(t):
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return base64.b64encode(a.tobytes()).decode("ascii")


def randomize(model, seed):
    """Weights large enough that every switch matters (HF's init uses std 0.02)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):  # norm gains
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # biases
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif any(k in name for k in ("wte", "wpe", "embed_tokens", "embed_in")):  # input embeddings
                p.copy_(torch.randn(p.shape, generator=g))
            else:  # projections: GPT-2 Conv1D stores [in, out], the rest [out, in]
                fan_in = p.shape[0] if ".c_" in name else p.shape[1]
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / np.sqrt(fan_in)))


def golden(model, extra):
    model.eval()
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "sequences": []}
    out.update(extra)
    with torch.no_grad():
        for ids in SEQS:
            r = model(torch.tensor([ids]), output_hidden_states=True)
            out["sequences"].append({
                "ids": ids,
                "logits": b64(r.logits[0]),
                "hidden_states": [b64(h[0]) for h in r.hidden_states],
            })
    return out


def save(model, d, extra, **kw):
    if os.path.isdir(d):
        shutil.rmtree(d)
    model.save_pretrained(d, safe_serialization=True, **kw)
    g = golden(model, extra)
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(g, f)
    size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
    print(f"{d}: {size} bytes")


def make(cls, cfg, seed):
    torch.manual_seed(seed)
    m = cls(cfg)
    randomize(m, seed)
    return m.float().eval()


def byte_level_tokenizer():
    """GPT-2-style byte-level BPE whose 256 tokens are the bytes (id = byte value), no
    merges: fits the tiny models' vocabulary of 256, so `sinklab llm ppl` runs on them."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode
    b2u = bytes_to_unicode()
    tok = Tokenizer(models.BPE(vocab={b2u[b]: b for b in range(256)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "hf"))
    a = ap.parse_args()
    out = a.out
    os.makedirs(out, exist_ok=True)
    common = dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=64, attn_implementation="eager")

    llama = make(LlamaForCausalLM, LlamaConfig(intermediate_size=96, num_key_value_heads=2, rope_theta=500000.0,
                                               rms_norm_eps=1e-5, **common), 1)
    save(llama, f"{out}/llama", {"tolerance": 1e-4})
    # The same model in shards (model.safetensors.index.json); the test uses llama's golden.
    save(llama, f"{out}/llama_sharded", {"tolerance": 1e-4}, max_shard_size="120KB")
    os.remove(f"{out}/llama_sharded/golden.json")

    # BF16 weights: the golden is the float32 model run on the bf16-rounded weights,
    # so the test checks the BF16 loading path exactly (to float32 tolerance).
    llama16 = make(LlamaForCausalLM, LlamaConfig(intermediate_size=96, num_key_value_heads=2, **common), 2)
    with torch.no_grad():
        for p in llama16.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    g = golden(llama16, {"tolerance": 1e-4})
    d = f"{out}/llama_bf16"
    if os.path.isdir(d):
        shutil.rmtree(d)
    llama16.to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(g, f)

    qwen = make(Qwen2ForCausalLM, Qwen2Config(intermediate_size=96, num_key_value_heads=2, tie_word_embeddings=True,
                                              **common), 3)
    save(qwen, f"{out}/qwen2", {"tolerance": 1e-4})

    olmo = make(OlmoForCausalLM, OlmoConfig(intermediate_size=96, clip_qkv=1.0, **common), 4)
    save(olmo, f"{out}/olmo", {"tolerance": 1e-4})

    neox = make(GPTNeoXForCausalLM, GPTNeoXConfig(intermediate_size=128, rotary_pct=0.25, use_parallel_residual=True,
                                                  hidden_act="gelu", **common), 5)
    save(neox, f"{out}/gpt_neox", {"tolerance": 1e-4})

    gpt2 = make(GPT2LMHeadModel, GPT2Config(vocab_size=256, n_embd=64, n_layer=2, n_head=4, n_positions=32,
                                            attn_implementation="eager"), 6)
    save(gpt2, f"{out}/gpt2", {"tolerance": 1e-4})
    byte_level_tokenizer().save(f"{out}/gpt2/tokenizer.json")

    # ---------------------------------------------------------------- CLI inputs
    tiny = dict(vocab_size=16, n_embd=8, n_layer=1, n_head=2, n_positions=8)

    def tiny_gpt2(d, seed, cfg_over=None, tensor_over=None):
        if os.path.isdir(d):
            shutil.rmtree(d)
        m = make(GPT2LMHeadModel, GPT2Config(**tiny), seed)
        m.save_pretrained(d, safe_serialization=True)
        if cfg_over is not None:
            with open(f"{d}/config.json") as f:
                c = json.load(f)
            cfg_over(c)
            with open(f"{d}/config.json", "w") as f:
                json.dump(c, f, indent=2)
        if tensor_over is not None:
            sd = {k: v.contiguous() for k, v in m.state_dict().items() if k != "lm_head.weight"}
            tensor_over(sd)
            save_file(sd, f"{d}/model.safetensors", metadata={"format": "pt"})

    # Checkpoint series (`model series`, `llm scan-series`): small llama models with the
    # byte-level tokenizer, so that the series can also be scanned.
    series_cfg = LlamaConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=48, max_position_embeddings=64, attn_implementation="eager")
    for i, sub in enumerate(["series/step1000", "series/step200", "series/step30000", "series/main"]):
        d = f"{out}/{sub}"
        if os.path.isdir(d):
            shutil.rmtree(d)
        make(LlamaForCausalLM, series_cfg, 30 + i).save_pretrained(d, safe_serialization=True)
        byte_level_tokenizer().save(f"{d}/tokenizer.json")
    tiny_gpt2(f"{out}/bad_shape", 20,
              tensor_over=lambda sd: sd.__setitem__("transformer.h.0.attn.c_attn.weight", torch.zeros(8, 16)))
    tiny_gpt2(f"{out}/bad_dtype", 21,
              tensor_over=lambda sd: sd.__setitem__("transformer.h.0.mlp.c_fc.bias", torch.zeros(32, dtype=torch.int32)))
    tiny_gpt2(f"{out}/bad_missing_tensor", 22, tensor_over=lambda sd: sd.pop("transformer.ln_f.bias"))
    tiny_gpt2(f"{out}/bad_model_type", 23, cfg_over=lambda c: c.__setitem__("model_type", "bert"))
    tiny_gpt2(f"{out}/bad_missing_key", 24, cfg_over=lambda c: c.pop("n_embd"))
    tiny_gpt2(f"{out}/bad_key_type", 25, cfg_over=lambda c: c.__setitem__("n_head", "2"))
    tiny_gpt2(f"{out}/bad_heads", 26, cfg_over=lambda c: c.__setitem__("n_head", 3))
    os.makedirs(f"{out}/bad_no_config", exist_ok=True)
    with open(f"{out}/bad_no_config/README.txt", "w") as f:
        f.write("A model directory without config.json (sinklab must refuse it).\n")


if __name__ == "__main__":
    main()
