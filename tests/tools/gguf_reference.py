#!/usr/bin/env python3
"""Golden reference for sinklab's GGUF reader and dequantisation.

Uses the independent `gguf` PyPI package (gguf-py, numpy only) -- install it in a
venv OUTSIDE the repo, e.g.
    /usr/bin/python3 -m venv --system-site-packages /work/venvs/gguf
    /work/venvs/gguf/bin/pip install gguf==0.19.0
    /work/venvs/gguf/bin/python tests/tools/gguf_reference.py MODEL.gguf tests/data/gguf_golden.json

Writes a small JSON with
  model:     metadata facts and, for several tensors of the test model, the shape,
             type, first values, float64 sum / sum of squares / min / max and values
             at evenly spaced indices, all computed from gguf-py's dequantisation;
             for every tensor, the float64 sum and sum of squares;
  synthetic: for every block type gguf-py can dequantise, a few random blocks (hex)
             and their dequantised values, so C++ checks each kernel bit for bit.
"""
import json
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize

MODEL_TENSORS = [
    "token_embd.weight",
    "blk.0.attn_q.weight",
    "blk.0.attn_k.weight",
    "blk.0.attn_norm.weight",
    "blk.13.ffn_gate.weight",
    "blk.29.ffn_down.weight",
    "output_norm.weight",
]
N_FIRST = 16
N_STRIDED = 32


def f32list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).ravel()]


def model_part(path):
    r = gguf.GGUFReader(path)

    def field(key):
        return r.fields[key].contents()

    meta = {
        "version": int(field("GGUF.version")),
        "n_tensors": len(r.tensors),
        "n_kv": int(field("GGUF.kv_count")),
        "architecture": field("general.architecture"),
        "name": field("general.name"),
        "block_count": int(field("llama.block_count")),
        "embedding_length": int(field("llama.embedding_length")),
        "feed_forward_length": int(field("llama.feed_forward_length")),
        "head_count": int(field("llama.attention.head_count")),
        "head_count_kv": int(field("llama.attention.head_count_kv")),
        "context_length": int(field("llama.context_length")),
        "rope_freq_base": float(field("llama.rope.freq_base")),
        "rms_eps": float(np.float32(field("llama.attention.layer_norm_rms_epsilon"))),
        "tokenizer_model": field("tokenizer.ggml.model"),
        "n_tokens": len(r.fields["tokenizer.ggml.tokens"].data),
        "n_merges": len(r.fields["tokenizer.ggml.merges"].data),
        "first_tokens": field("tokenizer.ggml.tokens")[:8],
        "first_merges": field("tokenizer.ggml.merges")[:4],
        "first_token_types": [int(x) for x in field("tokenizer.ggml.token_type")[:8]],
        "bos": int(field("tokenizer.ggml.bos_token_id")),
        "eos": int(field("tokenizer.ggml.eos_token_id")),
        "data_offset": int(r.data_offset),
    }
    counts = {}
    for t in r.tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    meta["type_counts"] = counts
    meta["n_params"] = int(sum(int(t.n_elements) for t in r.tensors))

    tensors = {}
    by_name = {t.name: t for t in r.tensors}
    for name in MODEL_TENSORS:
        t = by_name[name]
        x = dequantize(t.data, t.tensor_type).astype(np.float32).ravel()
        x64 = x.astype(np.float64)
        idx = np.linspace(0, x.size - 1, N_STRIDED).astype(np.int64)
        tensors[name] = {
            "type": t.tensor_type.name,
            "dims": [int(d) for d in t.shape],  # ggml order (dims[0] fastest)
            "offset": int(t.data_offset),       # absolute file offset
            "n_elements": int(x.size),
            "first": f32list(x[:N_FIRST]),
            "strided_index": [int(i) for i in idx],
            "strided": f32list(x[idx]),
            "sum": float(x64.sum()),
            "sumsq": float((x64 * x64).sum()),
            "min": float(x.min()),
            "max": float(x.max()),
        }
    # Every tensor: float64 sum and sum of squares of its dequantised values.
    sums = {}
    for t in r.tensors:
        x = dequantize(t.data, t.tensor_type).astype(np.float32).ravel().astype(np.float64)
        sums[t.name] = [float(x.sum()), float((x * x).sum())]
    return {"meta": meta, "tensors": tensors, "sums": sums}


# f16 scale fields per block type (byte offsets), patched to sane values.
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}


def synthetic_part():
    rng = np.random.default_rng(20261129)
    out = {}
    for qt, fields in F16_FIELDS.items():
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        nblk = 2 if bs == 32 else 1
        raw = rng.integers(0, 256, size=(nblk, ts), dtype=np.uint8)
        for b in range(nblk):
            for off in fields:
                v = np.float16(rng.uniform(-0.2, 0.2)).reshape(1).view(np.uint8)
                raw[b, off:off + 2] = v
        y = dequantize(raw.reshape(-1), qt).astype(np.float32).ravel()
        out[qt.name] = {"hex": raw.tobytes().hex(), "n": int(y.size), "values": f32list(y)}
    # Plain 16-bit float types.
    vals = rng.normal(0, 3, size=64).astype(np.float32)
    vals[:4] = [0.0, -0.0, 65504.0, 6.0e-8]  # zero, -zero, largest half, a subnormal half
    h = vals.astype(np.float16)
    out["F16"] = {"hex": h.tobytes().hex(), "n": 64, "values": f32list(h.astype(np.float32))}
    b = dequantize(gguf.quants.quantize(vals, Q.BF16).reshape(-1), Q.BF16)
    out["BF16"] = {"hex": gguf.quants.quantize(vals, Q.BF16).tobytes().hex(), "n": 64,
                   "values": f32list(b)}
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gguf_reference.py MODEL.gguf OUT.json")
    golden = {"generator": f"tests/tools/gguf_reference.py with gguf-py",
              "model": model_part(sys.argv[1]), "synthetic": synthetic_part()}
    with open(sys.argv[2], "w") as f:
        json.dump(golden, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
