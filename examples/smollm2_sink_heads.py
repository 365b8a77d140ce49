"""One prompt's sink heads in SmolLM2-135M-Instruct.

Caches every layer's attention pattern (TransformerLens hook names) and prints, per head,
the mean attention its queries put on the first token; heads above 0.5 are sink heads
(dormant on this prompt). Then zeroes the strongest sink head's output with a hook and
prints what that does to the next-token prediction.

    python examples/smollm2_sink_heads.py [MODEL] [PROMPT]
"""
import sys

import numpy as np

import sinklab

model = sinklab.load(sys.argv[1] if len(sys.argv) > 1 else "SmolLM2-135M-Instruct")
prompt = sys.argv[2] if len(sys.argv) > 2 else "The quick brown fox jumps over the lazy dog because it wanted to"
ids = model.tokenize(prompt)
logits, cache = model.run_with_cache(ids, names=["blocks.*.attn.hook_pattern"])


def arr(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


mass = np.zeros((model.n_layers, model.n_heads))
for layer in range(model.n_layers):
    p = arr(cache[f"blocks.{layer}.attn.hook_pattern"])[0]  # [head, query, key]
    mass[layer] = p[:, 1:, 0].mean(axis=1)                   # queries after the first, on token 0
sinks = np.argwhere(mass > 0.5)
print(f"{model.arch}, {model.n_layers} layers x {model.n_heads} heads; prompt of {arr(ids).shape[1]} tokens")
print(f"sink heads (mean attention on the first token > 0.5): {len(sinks)} of {mass.size}")
for layer, head in sorted(sinks.tolist(), key=lambda lh: -mass[lh[0], lh[1]])[:10]:
    print(f"  L{layer}H{head}: {mass[layer, head]:.3f}")

layer, head = np.unravel_index(np.argmax(mass), mass.shape)


def zero_head(z, hook):
    z[:, :, head] = 0  # hook_z: [batch, token, head, head_dim]


before = arr(logits)[0, -1]
after = arr(model.run_with_hooks(ids, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", zero_head)]))[0, -1]
top = int(before.argmax())
print(f"zeroing L{layer}H{head}: next token {model.to_str_tokens([top])[0]!r} logit {before[top]:.3f} -> "
      f"{after[top]:.3f}; top token after: {model.to_str_tokens([int(after.argmax())])[0]!r}")
