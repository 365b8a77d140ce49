#!/usr/bin/env python3
"""The toy transformer and training step of sinklab, written in PyTorch from Python.

Same model as src/model/transformer.cpp for the BB presets: token + learned position
embeddings; L pre-LN blocks (LayerNorm eps 1e-5 -> causal multi-head attention without
biases, scale 1/sqrt(head_dim) -> residual -> LayerNorm -> MLP d -> 4d -> d, ReLU, no
biases -> residual); final LayerNorm; untied unembedding; init N(0, 0.02) (residual
output projections 0.02/sqrt(2L), as sinklab). Same step: per-token NLL, mean,
zero_grad, backward, loss.item(), AdamW (betas 0.9/0.99, eps 1e-8, wd 1e-4).
Batches are random tokens of the same shape [B, T+1] (timing only).

Run with the PyTorch to compare with: PyPI's, of the version sinklab links
(bench/setup_venv.sh makes .venv-bench), or Debian's python3-torch 1.13:
  .venv-bench/bin/python bench/train_pytorch.py --threads 1 2 [--presets ...] [--tuned]
Prints one JSON object per (preset, threads) line.

--tuned is the step as fast as a user can make it from Python: the fused AdamW kernel
(fused=True, PyTorch >= 2.4 on CPU) and F.scaled_dot_product_attention with is_causal.
--compile also compiles the loss with torch.compile (PyTorch >= 2; the compile time is
spent in warm-up steps, not timed); on the CPU presets here it is slower, not faster
(docs/benchmarks.md), so --tuned leaves it out. What the PyTorch has is in the output.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

# Shapes of sinklab's presets (src/train/config.cpp); paper-* with batch 64 here as in
# bench/torch/bench_train.cpp (the preset's 512 is too slow for a 2-core machine).
PRESETS = {
    "cpu-1l": dict(d=64, layers=1, heads=1, T=64, B=64, lr=1e-3),
    "cpu-3l": dict(d=64, layers=3, heads=1, T=64, B=64, lr=1e-3),
    "paper-1l": dict(d=256, layers=1, heads=1, T=256, B=64, lr=3e-4),
    "paper-3l": dict(d=256, layers=3, heads=1, T=256, B=64, lr=3e-4),
    # `sinklab pretrain --preset cpu-lm`: Llama-style, byte tokens; in PyTorch as users
    # train it: transformers' LlamaForCausalLM with the same config.
    "cpu-lm": dict(d=128, layers=4, heads=4, T=128, B=32, lr=1e-3, ff=352, vocab=258, llama=True),
}


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
        self.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
        self.W_Q = torch.nn.Linear(d, d, bias=False)
        self.W_K = torch.nn.Linear(d, d, bias=False)
        self.W_V = torch.nn.Linear(d, d, bias=False)
        self.W_O = torch.nn.Linear(d, d, bias=False)
        self.W_in = torch.nn.Linear(d, 4 * d, bias=False)
        self.W_out = torch.nn.Linear(4 * d, d, bias=False)

    sdpa = False

    def attn(self, x, mask):
        B, T, _ = x.shape
        q = self.W_Q(x).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.W_K(x).view(B, T, self.heads, self.hd).transpose(1, 2)
        v = self.W_V(x).view(B, T, self.heads, self.hd).transpose(1, 2)
        if Block.sdpa:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.W_O(z.transpose(1, 2).reshape(B, T, -1))
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd))
        s = s.masked_fill(mask, float("-inf"))
        z = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(B, T, -1)
        return self.W_O(z)

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.W_out(torch.relu(self.W_in(self.ln2(x))))


class Model(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, n_ctx):
        super().__init__()
        self.W_E = torch.nn.Parameter(torch.empty(vocab, d))
        self.W_pos = torch.nn.Parameter(torch.empty(n_ctx, d))
        self.blocks = torch.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_final = torch.nn.LayerNorm(d, eps=1e-5)
        self.W_U = torch.nn.Linear(d, vocab, bias=False)
        g = torch.Generator().manual_seed(0)
        for name, p in self.named_parameters():
            with torch.no_grad():
                if p.dim() == 1:
                    p.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("W_O.weight") or name.endswith("W_out.weight"):
                    p.normal_(0.0, 0.02 / math.sqrt(2 * layers), generator=g)
                else:
                    p.normal_(0.0, 0.02, generator=g)

    def forward(self, tokens):
        T = tokens.shape[1]
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        h = F.embedding(tokens, self.W_E) + self.W_pos[:T].unsqueeze(0)
        for b in self.blocks:
            h = b(h, mask)
        return self.W_U(self.ln_final(h))

    def token_nll(self, tokens):
        T = tokens.shape[1] - 1
        logits = self.forward(tokens[:, :T])
        return -torch.log_softmax(logits, -1).gather(2, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)


class LlamaNll(torch.nn.Module):
    """transformers' LlamaForCausalLM with the loss sinklab's trainer takes."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def token_nll(self, tokens):
        T = tokens.shape[1] - 1
        logits = self.m(tokens[:, :T]).logits
        return -torch.log_softmax(logits, -1).gather(2, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)


def llama_model(c, vocab, attn):
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=c["d"], intermediate_size=c["ff"],
                      num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
                      num_key_value_heads=c["heads"], max_position_embeddings=c["T"], rms_norm_eps=1e-5,
                      tie_word_embeddings=False, attn_implementation=attn)
    return LlamaNll(LlamaForCausalLM(cfg).train())


def step_flops(d, layers, vocab, B, T, ff=None, mats=2):
    """Same analytic count as bench/torch/bench_train.cpp (forward + backward)."""
    ff = ff or 4 * d
    per_token = layers * (2.0 * 4 * d * d + 2.0 * mats * d * ff) + 2.0 * d * vocab
    return 3.0 * B * (T * per_token + layers * 4.0 * T * T * d)


def set_openblas_threads(n):
    """Debian's torch uses the system OpenBLAS, whose thread pool torch.set_num_threads
    does not reach; this sets it through ctypes (False if the BLAS is not OpenBLAS)."""
    import ctypes
    try:
        ctypes.CDLL("libblas.so.3").openblas_set_num_threads(ctypes.c_int(n))
        return True
    except (OSError, AttributeError):
        return False


def bench(preset, threads, vocab, min_time, min_steps, max_steps, match_blas=False, tuned=False,
          compile_=False):
    torch.set_num_threads(threads)
    blas = set_openblas_threads(threads) if match_blas else False
    c = PRESETS[preset]
    vocab = c.get("vocab", vocab)
    torch.manual_seed(0)
    if c.get("llama"):
        model = llama_model(c, vocab, "sdpa" if tuned else "eager")
        kw = dict(lr=c["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    else:
        model = Model(vocab, c["d"], c["layers"], c["heads"], c["T"])
        kw = dict(lr=c["lr"], betas=(0.9, 0.99), eps=1e-8, weight_decay=1e-4)
    fused, compiled = False, False
    if tuned:
        Block.sdpa = hasattr(F, "scaled_dot_product_attention")
        try:
            opt = torch.optim.AdamW(model.parameters(), fused=True, **kw)
            fused = True
        except (TypeError, RuntimeError):
            opt = torch.optim.AdamW(model.parameters(), **kw)
    else:
        Block.sdpa = False
        opt = torch.optim.AdamW(model.parameters(), **kw)
    B, T = c["B"], c["T"]

    def loss_fn(tokens):
        return model.token_nll(tokens).mean()

    if compile_ and hasattr(torch, "compile"):
        loss_fn = torch.compile(loss_fn)
        compiled = True

    def step():
        tokens = torch.randint(0, vocab, (B, T + 1), dtype=torch.int64)
        loss = loss_fn(tokens)
        opt.zero_grad()
        loss.backward()
        lv = loss.item()
        opt.step()
        return lv

    for _ in range(3 if compiled else 1):
        step()  # warm-up: allocates the optimizer state (and compiles)
    n, t0 = 0, time.perf_counter()
    while n < min_steps or (time.perf_counter() - t0 < min_time and n < max_steps):
        step()
        n += 1
    dt = time.perf_counter() - t0
    fl = step_flops(c["d"], c["layers"], vocab, B, T, c.get("ff"), 3 if c.get("llama") else 2)
    return {"preset": preset, "threads": threads, "batch": B, "seq_len": T, "d_model": c["d"],
            "layers": c["layers"], "vocab": vocab, "steps": n, "seconds": dt,
            "steps_per_s": n / dt, "tokens_per_s": n * B * T / dt, "gflops": n * fl / dt / 1e9,
            "openblas_threads_set": blas, "torch": torch.__version__,
            "tuned": tuned, "fused_adamw": fused, "sdpa": Block.sdpa, "compiled": compiled}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["cpu-1l", "cpu-3l", "paper-1l"], choices=sorted(PRESETS))
    ap.add_argument("--threads", nargs="+", type=int, default=[1, os.cpu_count() or 1])
    ap.add_argument("--vocab", type=int, default=49, help="model vocabulary (sinklab's synthetic BB: 48 + 1 BOS)")
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds per measurement (cpu presets)")
    ap.add_argument("--paper-steps", type=int, default=4, help="timed steps for paper-* presets")
    ap.add_argument("--match-blas-threads", action="store_true",
                    help="also set OpenBLAS's threads to --threads (not what torch.set_num_threads does)")
    ap.add_argument("--tuned", action="store_true", help="fused AdamW and SDPA (see above)")
    ap.add_argument("--compile", action="store_true", help="also torch.compile the loss (see above)")
    a = ap.parse_args()
    for p in a.presets:
        for t in dict.fromkeys(a.threads):
            if p.startswith("paper-"):
                r = bench(p, t, a.vocab, 0.0, a.paper_steps, a.paper_steps, a.match_blas_threads, a.tuned, a.compile)
            else:
                r = bench(p, t, a.vocab, a.min_time, 3, 10**9, a.match_blas_threads, a.tuned, a.compile)
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
