"""A Llama-2-7B-shaped GGUF file with random Q4_0 weights, for sinklab's memory benchmark
(docs/benchmarks.md, "Weights that stay small in memory").

Shape of Llama-2-7B: 32 layers, d_model 4096, 32 heads (head dim 128), feed-forward 11008,
vocabulary 32000, context 4096, RMSNorm eps 1e-5, rope theta 10000, untied output. Every
matrix (token_embd and output included) is Q4_0, the norms F32, as in the Q4_0 files people
download; 3.8 GB. The weights are random blocks: 4-bit codes uniform, every block scale
0.004 (elements of standard deviation ~0.018, as an initialised model's). The tokenizer is a
made-up SentencePiece-style vocabulary (<unk>, <s>, </s>, the 256 byte tokens, then
"\u2581w<i>" pieces), enough to encode any text.

Written one tensor at a time with the gguf package (PyPI): memory stays ~100 MB.

    .venv-bench/bin/python bench/make_llama7b_q4_0.py /tmp/llama7b-q4_0.gguf
"""
import argparse
import sys

import numpy as np
import gguf

L, D, H, FF, V, CTX = 32, 4096, 32, 11008, 32000, 4096
QK = 32          # Q4_0 block: 32 elements
BLOCK_BYTES = 18  # f16 scale + 16 bytes of 4-bit codes


def q4_0_rows(rng, rows, cols):
    blocks = rng.integers(0, 256, size=(rows, cols // QK, BLOCK_BYTES), dtype=np.uint8)
    scale = np.frombuffer(np.float16(0.004).tobytes(), dtype=np.uint8)
    blocks[:, :, 0] = scale[0]
    blocks[:, :, 1] = scale[1]
    return blocks.reshape(rows, (cols // QK) * BLOCK_BYTES)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output .gguf path")
    ap.add_argument("--layers", type=int, default=L)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("llama2-7b-shaped-random-q4_0")
    w.add_context_length(CTX)
    w.add_embedding_length(D)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(FF)
    w.add_head_count(H)
    w.add_head_count_kv(H)
    w.add_rope_dimension_count(D // H)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    toks += ["\u2581w%d" % i for i in range(V - len(toks))]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * (V - 259)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * 259 + [-float(i) for i in range(V - 259)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)

    # (name, rows, cols) for matrices; (name, n) for F32 norms. File order as llama.cpp's.
    plan = [("token_embd.weight", V, D)]
    for l in range(a.layers):
        p = "blk.%d." % l
        plan += [(p + "attn_norm.weight", D),
                 (p + "attn_q.weight", D, D), (p + "attn_k.weight", D, D), (p + "attn_v.weight", D, D),
                 (p + "attn_output.weight", D, D), (p + "ffn_norm.weight", D),
                 (p + "ffn_gate.weight", FF, D), (p + "ffn_up.weight", FF, D), (p + "ffn_down.weight", D, FF)]
    plan += [("output_norm.weight", D), ("output.weight", V, D)]
    for t in plan:
        if len(t) == 2:
            w.add_tensor_info(t[0], [t[1]], np.dtype(np.float32), t[1] * 4)
        else:
            name, rows, cols = t
            nbytes = rows * (cols // QK) * BLOCK_BYTES
            w.add_tensor_info(name, [rows, (cols // QK) * BLOCK_BYTES], np.dtype(np.uint8), nbytes,
                              raw_dtype=gguf.GGMLQuantizationType.Q4_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(a.seed)
    for i, t in enumerate(plan):
        if len(t) == 2:
            w.write_tensor_data(np.ones(t[1], dtype=np.float32))
        else:
            w.write_tensor_data(q4_0_rows(rng, t[1], t[2]))
        if (i + 1) % 50 == 0 or i + 1 == len(plan):
            print("%d/%d tensors" % (i + 1, len(plan)), file=sys.stderr)
    w.close()
    print("\nwrote", a.out, file=sys.stderr)


if __name__ == "__main__":
    main()
