#!/usr/bin/env python3
"""Reference outputs of llama.cpp (through llama-cpp-python) for the SmolLM2 test model.

An independent implementation to check sinklab against. Writes two golden files:

  tests/data/golden/smollm2_tokens.json   token ids of the first N documents of the
      prose and code corpora (data/domains/) (each truncated to --max-chars characters), as
      llama.cpp tokenizes them: llama_tokenize(add_special=True, parse_special=False),
      so a BOS is added exactly when the file says so (tokenizer.ggml.add_bos_token;
      false for SmolLM2). Checked by tests/unit/core/test_tokenizer.cpp.

  tests/data/golden/smollm2_logits.json   for >= 20 prompts: the token ids, the top-10
      next-token ids and logits at the last position, the argmax and max logit at
      every position, and the full last-position logit vector (float32, base64) for
      a few prompts; the perplexity on the first 16 prose documents at ctx 256; and
      llama.cpp's prompt-processing throughput. Used by the forward-pass parity tests.

Perplexity protocol (see "perplexity.method" in the golden): each document is
tokenized on its own (no BOS, as the file says; parse_special=False), its token
sequence is cut into consecutive non-overlapping chunks of ctx tokens (the last chunk
may be shorter; chunks of fewer than 2 tokens are dropped); every chunk is evaluated
from an empty KV cache, and every position but the first of each chunk is scored:
NLL of token[i] given token[0..i-1] of the same chunk. PPL = exp(sum NLL / count).

Usage (llama-cpp-python lives in a venv outside the repo, see docs):
  /work/venvs/llamacpp/bin/python tests/tools/llamacpp_reference.py \
      [--model ~/.cache/sinklab/models/SmolLM2-135M-Instruct.gguf] [--data data] \
      [--out tests/data/golden] [--docs 64] [--max-chars 3000] [--threads 2]
"""
import argparse
import base64
import json
import math
import os
import platform
import sys
import time

import numpy as np

try:
    import llama_cpp
    from llama_cpp import Llama
except ImportError:
    sys.exit("llamacpp_reference.py: llama-cpp-python is not installed in this interpreter "
             "(python3 -m venv /work/venvs/llamacpp && CMAKE_ARGS=-DGGML_NATIVE=OFF "
             "/work/venvs/llamacpp/bin/pip install llama-cpp-python numpy)")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def default_model():
    cache = os.environ.get("SINKLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sinklab")
    return os.path.join(cache, "models", "SmolLM2-135M-Instruct.gguf")


def fnv1a(data: bytes) -> str:
    h = 1469598103934665603
    for c in data:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


def read_docs(path, n):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(docs) >= n:
                break
            docs.append(json.loads(line)["text"])
    return docs


PROMPTS = [
    ("prose", "The capital of France is"),
    ("prose", "Once upon a time, in a small village at the foot of the mountains, there lived"),
    ("prose", "Photosynthesis is the process by which green plants"),
    ("prose", "The Hohe Villerspitze is a mountain in the Stubai Alps in the Austrian state of"),
    ("prose", "In 1969, Neil Armstrong became the first person to"),
    ("code", "def fibonacci(n):\n    if n < 2:\n        return n\n    return"),
    ("code", "import numpy as np\n\nx = np.arange(10)\nprint(x."),
    ("code", "for (int i = 0; i < n; ++i) {\n    sum +="),
    ("code", "SELECT name, COUNT(*) FROM users GROUP BY"),
    ("code", "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items."),
    ("numbers", "1, 2, 3, 4, 5, 6, 7,"),
    ("numbers", "The year 2024 had 366 days because it was a leap"),
    ("numbers", "3.14159 is an approximation of"),
    ("numbers", "12 + 35 = 47, 100 - 58 ="),
    ("unicode", "Zürich, Köln und Genève sind Städte in"),
    ("unicode", "日本の首都は"),
    ("unicode", "Emoji: 🙂 means"),
    ("unicode", "Привет, как"),
    ("chat", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
             "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ("chat", "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n"),
    ("chat", "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello! How can I help you today?<|im_end|>\n"
             "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n"),
    ("edge", "   leading spaces and\ttabs\n\n\nnewlines"),
    ("edge", "a"),
    ("edge", "The the the the the the the the the the"),
]
FULL_LOGITS = {0, 5, 18}  # indices of the prompts whose whole last-position logit vector is stored


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--data", default=os.path.join(REPO, "data"), help="the repository's data/ (corpora in data/domains/)")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "golden"))
    ap.add_argument("--docs", type=int, default=64)
    ap.add_argument("--max-chars", type=int, default=3000)
    ap.add_argument("--ppl-docs", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: tokens,logits,ppl,speed")
    ap.add_argument("--logits-name", default="smollm2_logits.json",
                    help="file name (in --out) of the logits/perplexity golden; smollm2_f32_logits.json for "
                         "the float32 file made by tests/tools/gguf_dequantize.py")
    a = ap.parse_args()
    skip = set(x for x in a.skip.split(",") if x)
    if not os.path.exists(a.model):
        sys.exit(f"llamacpp_reference.py: model {a.model} not found (run scripts/setup.sh)")
    os.makedirs(a.out, exist_ok=True)
    version = getattr(llama_cpp, "__version__", "?")
    print(f"llama-cpp-python {version}, model {a.model}", file=sys.stderr)

    # ------------------------------------------------------------ tokens
    if "tokens" not in skip:
        tok = Llama(model_path=a.model, vocab_only=True, verbose=False)
        add_bos_meta = tok.metadata.get("tokenizer.ggml.add_bos_token", "unset")
        bos = tok.token_bos()
        corpora = []
        for name in ("prose_wikipedia.jsonl", "code_python.jsonl"):
            docs = read_docs(os.path.join(a.data, "domains", name), a.docs)
            out_docs = []
            for i, text in enumerate(docs):
                t = text[: a.max_chars]
                b = t.encode("utf-8")
                ids = tok.tokenize(b, add_bos=True, special=False)  # add_special=True: BOS iff the file says so
                out_docs.append({"index": i, "n_bytes": len(b), "fnv1a": fnv1a(b), "ids": ids})
            corpora.append({"file": name, "docs": out_docs})
        added_bos = any(d["ids"][:1] == [bos] for c in corpora for d in c["docs"])
        golden = {
            "generator": f"tests/tools/llamacpp_reference.py, llama-cpp-python {version}",
            "model": os.path.basename(a.model),
            "tokenize_call": "llama_tokenize(add_special=True, parse_special=False)",
            "file_add_bos_token": add_bos_meta,
            "add_bos": bool(added_bos),
            "special": False,
            "max_chars": a.max_chars,
            "corpora": corpora,
        }
        path = os.path.join(a.out, "smollm2_tokens.json")
        with open(path, "w") as f:
            f.write(json.dumps(golden, separators=(",", ":")) + "\n")
        n_tok = sum(len(d["ids"]) for c in corpora for d in c["docs"])
        print(f"wrote {path}: {sum(len(c['docs']) for c in corpora)} docs, {n_tok} tokens, "
              f"{os.path.getsize(path)} bytes", file=sys.stderr)
        del tok

    if skip >= {"logits", "ppl", "speed"}:
        return

    # ------------------------------------------------------------ logits
    # KV cache in F32 so that the reference is as exact as llama.cpp's CPU path gets
    # (the weights stay Q4_1; llama.cpp quantizes activations to Q8_1 for the matmuls).
    n_ctx = 512
    llm = Llama(model_path=a.model, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True,
                n_threads=a.threads, n_threads_batch=a.threads, type_k=0, type_v=0, verbose=False)
    n_vocab = llm.n_vocab()
    out = {
        "generator": f"tests/tools/llamacpp_reference.py, llama-cpp-python {version}",
        "model": os.path.basename(a.model),
        "settings": {"n_ctx": n_ctx, "n_batch": n_ctx, "kv_cache_type": "f32", "n_threads": a.threads,
                     "flash_attn": False,
                     "tokenize_call": "llama_tokenize(add_special=True, parse_special=True)"},
        "n_vocab": n_vocab,
    }
    if "logits" not in skip:
        prompts = []
        for k, (kind, text) in enumerate(PROMPTS):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            llm.reset()
            llm.eval(ids)
            logits = np.array(llm.scores[: len(ids), :], dtype=np.float32)
            last = logits[-1]
            top = np.argsort(-last, kind="stable")[:10]
            p = {
                "kind": kind, "text": text, "ids": [int(x) for x in ids],
                "top10_ids": [int(x) for x in top],
                "top10_logits": [float(last[x]) for x in top],
                "argmax_all": [int(x) for x in logits.argmax(axis=1)],
                "max_logit_all": [float(x) for x in logits.max(axis=1)],
            }
            if k in FULL_LOGITS:
                p["last_logits_f32_b64"] = base64.b64encode(last.astype("<f4").tobytes()).decode()
            prompts.append(p)
        out["prompts"] = prompts
        print(f"logits: {len(prompts)} prompts", file=sys.stderr)

    # ------------------------------------------------------------ perplexity
    if "ppl" not in skip:
        docs = read_docs(os.path.join(a.data, "domains", "prose_wikipedia.jsonl"), a.ppl_docs)
        total_nll, total_n, per_doc = 0.0, 0, []
        t0 = time.perf_counter()
        for i, text in enumerate(docs):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
            nll, cnt = 0.0, 0
            for s in range(0, len(ids), a.ctx):
                chunk = ids[s: s + a.ctx]
                if len(chunk) < 2:
                    continue
                llm.reset()
                llm.eval(chunk)
                lg = np.array(llm.scores[: len(chunk), :], dtype=np.float64)
                lg = lg[:-1]
                m = lg.max(axis=1, keepdims=True)
                lse = (m[:, 0] + np.log(np.exp(lg - m).sum(axis=1)))
                tgt = np.array(chunk[1:])
                nll += float((lse - lg[np.arange(len(tgt)), tgt]).sum())
                cnt += len(tgt)
            per_doc.append({"index": i, "n_tokens": len(ids), "nll_sum": nll, "n_scored": cnt})
            total_nll += nll
            total_n += cnt
        dt = time.perf_counter() - t0
        out["perplexity"] = {
            "corpus": "prose_wikipedia.jsonl",
            "n_docs": len(docs),
            "ctx": a.ctx,
            "method": ("each document tokenized alone (no BOS: tokenizer.ggml.add_bos_token=false; "
                       "parse_special=False); its tokens cut into consecutive non-overlapping chunks of "
                       "ctx tokens (last chunk shorter, chunks < 2 tokens dropped); each chunk evaluated from "
                       "an empty KV cache; every position but the first of a chunk scored: "
                       "NLL(token[i] | chunk tokens before i), natural log; ppl = exp(sum NLL / n_scored)"),
            "n_scored": total_n,
            "nll_sum": total_nll,
            "ppl": math.exp(total_nll / total_n),
            "per_doc": per_doc,
            "seconds": dt,
        }
        print(f"ppl {out['perplexity']['ppl']:.4f} over {total_n} tokens ({dt:.1f} s)", file=sys.stderr)

    # ------------------------------------------------------------ throughput
    if "speed" not in skip:
        del llm
        sp = Llama(model_path=a.model, n_ctx=512, n_batch=512, n_ubatch=512, logits_all=False,
                   n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
        text = read_docs(os.path.join(a.data, "domains", "prose_wikipedia.jsonl"), 1)[0]
        ids = sp.tokenize(text.encode("utf-8"), add_bos=True, special=False)[:256]
        assert len(ids) == 256, len(ids)
        pp = []
        for _ in range(4):
            sp.reset()
            sp._ctx.kv_cache_clear() if hasattr(sp._ctx, "kv_cache_clear") else None
            t0 = time.perf_counter()
            sp.eval(ids)
            pp.append(time.perf_counter() - t0)
        pp_best = min(pp[1:])  # the first run warms up
        # single-token decode after the 256-token prompt
        tg = []
        for k in range(16):
            t0 = time.perf_counter()
            sp.eval([ids[k]])
            tg.append(time.perf_counter() - t0)
        try:
            load = os.getloadavg()
        except OSError:
            load = None
        out["throughput_threads%d" % a.threads] = {
            "what": "prompt processing of the first 256 tokens of prose doc 0 (one batch of 256), "
                    "n_threads=%d, default KV cache (f16), best of 3 after one warm-up; decode: median "
                    "of 16 single-token evals after it" % a.threads,
            "pp256_tokens_per_s": 256.0 / pp_best,
            "pp256_seconds_all": pp,
            "decode_tokens_per_s": 1.0 / float(np.median(tg)),
            "n_threads": a.threads,
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_at_end": load,
            "note": "the machine is shared with other jobs; treat as an order of magnitude",
        }
        print(f"pp256 {256.0 / pp_best:.1f} tok/s, decode {1.0 / float(np.median(tg)):.1f} tok/s",
              file=sys.stderr)

    path = os.path.join(a.out, a.logits_name)
    if os.path.exists(path) and skip:
        # A partial run updates only the parts it made.
        old = json.load(open(path))
        if {"logits", "ppl"} <= skip:
            out.pop("settings", None)
        old.update(out)
        out = old
    with open(path, "w") as f:
        f.write(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path}: {os.path.getsize(path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
