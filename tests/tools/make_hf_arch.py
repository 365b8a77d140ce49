#!/usr/bin/env python3
"""Tiny random-weight models of the newer families and RoPE scalings, made by
transformers itself, for the parity test of sinklab's HF loader
(tests/unit/torch/test_hf_model.cpp, docs/parity.md): Llama with each rope_scaling
type (linear, dynamic, llama3, yarn), Mistral with its sliding window, Qwen3 and OLMo-2
(qk-norm), Gemma, Gemma 2 and Gemma 3 (soft-capping, sandwich norms, GeGLU, scaled
embeddings, local/global layers), Phi-3 (fused qkv and gate_up, longrope).

Writes tests/data/hf/<name>/ (config.json, model.safetensors, golden.json) as
make_hf_tiny.py does. transformers 5 writes RoPE settings as `rope_parameters` (nested by
layer type for Gemma 3) and per-layer `layer_types`; the checkpoints people download were
mostly written by transformers 4 (`rope_theta`, `rope_scaling`, `sliding_window_pattern`).
golden.json's "alt_configs" holds that older form of the same model's config.json: the
test loads the weights under each and expects the same outputs.

Run with the bench environment (bash bench/setup_venv.sh: PyPI torch and transformers):
    .venv-bench/bin/python tests/tools/make_hf_arch.py [--out tests/data/hf] [--only NAME ...]
"""
import argparse
import copy
import json
import os
import sys

import torch
import transformers as T

sys.path.insert(0, os.path.dirname(__file__))
from make_hf_tiny import golden, make, save  # noqa: E402

SMALL = dict(vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
             head_dim=16, intermediate_size=48, max_position_embeddings=64, attn_implementation="eager")


def legacy_rope(cfg, extra_top=None, drop=(), type_key="rope_type"):
    """config.json as transformers 4 wrote it: rope_theta at the top, rope_scaling
    without it (or null), no layer_types."""
    c = copy.deepcopy(cfg)
    rp = c.pop("rope_parameters", None) or {}
    c["rope_theta"] = rp.pop("rope_theta", 10000.0)
    rp.pop("partial_rotary_factor", None)
    t = rp.pop("rope_type", "default")
    if t == "default":
        c["rope_scaling"] = None
    else:
        rp[type_key] = t
        c["rope_scaling"] = rp
    for k in drop:
        c.pop(k, None)
    c.update(extra_top or {})
    c["transformers_version"] = "4.46.0"
    return c


def read_cfg(d):
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)


def add_alt(d, alts):
    p = os.path.join(d, "golden.json")
    with open(p) as f:
        g = json.load(f)
    g["alt_configs"] = alts
    with open(p, "w") as f:
        json.dump(g, f)


def llama_rope(out, name, seed, scaling, **over):
    kw = dict(SMALL)
    kw.update(over)
    m = make(T.LlamaForCausalLM, T.LlamaConfig(rope_scaling=scaling, **kw), seed)
    d = f"{out}/{name}"
    save(m, d, {"tolerance": 1e-4})
    c = read_cfg(d)
    # One old form with "rope_type", one with the older "type".
    add_alt(d, [legacy_rope(c), legacy_rope(c, type_key="type")])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "hf"))
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    out = a.out
    want = lambda n: a.only is None or n in a.only  # noqa: E731
    print(f"transformers {T.__version__}, torch {torch.__version__}")

    if want("llama_rope_linear"):
        llama_rope(out, "llama_rope_linear", 41, {"rope_type": "linear", "factor": 4.0})
    if want("llama_rope_dynamic"):
        # Context 8: the golden's sequences (7, 12, 16 tokens) run below and past it.
        llama_rope(out, "llama_rope_dynamic", 42, {"rope_type": "dynamic", "factor": 4.0},
                   max_position_embeddings=8)
    if want("llama_rope_llama3"):
        # Original context 32: with theta 10000 and 16-dim heads the first frequency is
        # kept, the second on the ramp, the rest divided by the factor.
        llama_rope(out, "llama_rope_llama3", 43, {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 32})
    if want("llama_rope_yarn"):
        llama_rope(out, "llama_rope_yarn", 44, {"rope_type": "yarn", "factor": 4.0, "beta_fast": 8.0,
                                                "beta_slow": 1.0, "original_max_position_embeddings": 16})

    if want("mistral_window"):
        m = make(T.MistralForCausalLM, T.MistralConfig(sliding_window=4, **SMALL), 45)
        d = f"{out}/mistral_window"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d))])

    if want("qwen3"):
        m = make(T.Qwen3ForCausalLM, T.Qwen3Config(tie_word_embeddings=True, **SMALL), 46)
        d = f"{out}/qwen3"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d), drop=["layer_types"])])

    if want("olmo2"):
        kw = dict(SMALL)
        kw.pop("head_dim")
        kw["num_key_value_heads"] = 2
        m = make(T.Olmo2ForCausalLM, T.Olmo2Config(**kw), 47)
        d = f"{out}/olmo2"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d))])

    gemma_kw = dict(SMALL)
    gemma_kw.update(query_pre_attn_scalar=24, hidden_activation="gelu_pytorch_tanh")
    if want("gemma"):
        kw = dict(gemma_kw)
        kw.pop("query_pre_attn_scalar")
        m = make(T.GemmaForCausalLM, T.GemmaConfig(**kw), 48)
        d = f"{out}/gemma"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d))])
    if want("gemma2"):
        # Small caps so that the soft-capping bites on these weights.
        m = make(T.Gemma2ForCausalLM, T.Gemma2Config(sliding_window=4, attn_logit_softcapping=3.0,
                                                     final_logit_softcapping=5.0, **gemma_kw), 49)
        d = f"{out}/gemma2"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d), drop=["layer_types"])])
    if want("gemma3"):
        rope = {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}}
        cfg = T.Gemma3TextConfig(sliding_window=4, layer_types=["sliding_attention", "full_attention"],
                                 rope_parameters=rope, **gemma_kw)
        m = make(T.Gemma3ForCausalLM, cfg, 50)
        d = f"{out}/gemma3"
        save(m, d, {"tolerance": 1e-4})
        c = copy.deepcopy(read_cfg(d))
        c.pop("rope_parameters")
        c.pop("layer_types")
        c.pop("_sliding_window_pattern", None)
        c.update(rope_theta=1000000.0, rope_local_base_freq=10000.0, sliding_window_pattern=2,
                 rope_scaling={"rope_type": "linear", "factor": 8.0}, transformers_version="4.50.0")
        add_alt(d, [c])

    if want("phi3"):
        kw = dict(SMALL)
        kw.pop("head_dim")
        kw.update(num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32,
                  original_max_position_embeddings=8, pad_token_id=0)
        g = torch.Generator().manual_seed(51)
        short = (1.0 + torch.rand(8, generator=g)).tolist()
        long = (1.0 + 8.0 * torch.rand(8, generator=g)).tolist()
        cfg = T.Phi3Config(rope_scaling={"rope_type": "longrope", "short_factor": short, "long_factor": long}, **kw)
        m = make(T.Phi3ForCausalLM, cfg, 51)
        d = f"{out}/phi3"
        save(m, d, {"tolerance": 1e-4})
        add_alt(d, [legacy_rope(read_cfg(d), type_key="type")])

    # Bad inputs of the CLI tests (tests/cli/hf.cmake): config.json alone (the config is
    # refused before any weights are read).
    if want("bad_rope"):
        for name, over in [("bad_rope_type", {"rope_scaling": {"rope_type": "su", "factor": 2.0}}),
                           ("bad_rope_factor", {"rope_scaling": {"rope_type": "linear", "factor": "2"}}),
                           ("bad_layer_types", {"model_type": "mistral", "sliding_window": 4,
                                                "layer_types": ["sliding_attention", "chunked_attention"]})]:
            d = f"{out}/{name}"
            os.makedirs(d, exist_ok=True)
            c = legacy_rope(read_cfg(f"{out}/llama_rope_linear"))
            c.update(over)
            with open(f"{d}/config.json", "w") as f:
                json.dump(c, f, indent=2)


if __name__ == "__main__":
    main()
