#!/usr/bin/env python3
"""Hugging Face tokenizer files and golden token ids for sinklab's HF tokenizer loader.

Makes (each in its own directory, as a Hugging Face model directory has them):

  bpe2k         GPT-2 style byte-level BPE (tokenizers library: BPE model, ByteLevel
                pre-tokenizer with its regex, ByteLevel post-processor), vocab 2000,
                trained on the corpora in data/domains/. Merges in the "a b" string form.
  bpe2k_llama3  the same vocabulary and merges behind a Llama-3 style pipeline:
                Sequence[Split(Llama-3 regex, Isolated), ByteLevel(use_regex=false)],
                ignore_merges, a TemplateProcessing post-processor that adds a BOS
                token, merges in the newer [a, b] pair form.
  spm1k         SentencePiece BPE with byte_fallback (sentencepiece trainer, vocab
                1000, Llama 2's settings: identity normalizer, dummy prefix, split
                digits), saved by transformers' LlamaTokenizer (slow, legacy) as
                tokenizer.model + tokenizer_config.json.
  smollm2_gguf  SmolLM2-135M-Instruct's tokenizer as transformers converts it from
                the GGUF file (AutoTokenizer.from_pretrained(dir, gguf_file=...)),
                written to the cache (~2 MB: not committed), golden ids committed.

Golden ids: the first --docs documents of each data/domains/*.jsonl,
truncated to --max-chars characters, encoded by transformers' tokenizer loaded from
the written directory (AutoTokenizer, i.e. what a user of that directory gets; for
spm1k the slow LlamaTokenizer, legacy=True, which encodes with sentencepiece) with
tok(text).input_ids (add_special_tokens=True; special tokens in the text are parsed,
HF's default). Written as <out>/<name>.golden.json; checked by
tests/unit/core/test_tokenizer_hf.cpp.

Needs tokenizers, transformers==4.44.2, sentencepiece, gguf (PyPI) in a venv outside
the repo:
  /usr/bin/python3 -m venv --system-site-packages /work/venvs/hftok
  /work/venvs/hftok/bin/pip install tokenizers transformers==4.44.2 sentencepiece gguf
  /work/venvs/hftok/bin/python tests/tools/make_hf_tokenizers.py [--data data]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


SPECIAL_CASES = ["<s>hello</s> world", "hello</s>world", "</s>", "a <unk> b", "  two spaces</s>  x",
                 "\u2581already escaped</s>\u2581x", "tab\t</s>\nnewline", "<s>"]


NFC_CASES = ["Cafe\u0301 au lait", "\u212B ngstr\u00F6m \u2126", "\u1100\u1161\u11A8 \uAC01",
             "\uFB01 ligature stays (NFC, not NFKC)", "q\u0307\u0323 order", "e\u0301\u0301", "plain ascii 123",
             "\u0041\u030A\u0301 x\u0344 \u0958"]


def cache_dir():
    cache = os.environ.get("SINKLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sinklab")
    return cache


def fnv1a(data: bytes) -> str:
    h = 1469598103934665603
    for c in data:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


def read_docs(path, n=None):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if n is not None and len(docs) >= n:
                break
            docs.append(json.loads(line)["text"])
    return docs


def corpus_files(data):
    d = os.path.join(data, "domains")
    return sorted(f for f in os.listdir(d) if f.endswith(".jsonl"))


def write_golden(name, tok_dir, a, out_path, slow_llama=False):
    from transformers import AutoTokenizer, LlamaTokenizer
    if slow_llama:
        tok = LlamaTokenizer.from_pretrained(tok_dir, legacy=True)
    else:
        tok = AutoTokenizer.from_pretrained(tok_dir)
    corpora = []
    for fname in corpus_files(a.data):
        docs = read_docs(os.path.join(a.data, "domains", fname), a.docs)
        out_docs = []
        for i, text in enumerate(docs):
            t = text[: a.max_chars]
            b = t.encode("utf-8")
            ids = tok(t).input_ids
            out_docs.append({"index": i, "n_bytes": len(b), "fnv1a": fnv1a(b), "ids": ids})
        corpora.append({"file": fname, "docs": out_docs})
    import tokenizers
    import transformers
    golden = {
        "generator": f"tests/tools/make_hf_tokenizers.py, transformers {transformers.__version__}, "
                     f"tokenizers {tokenizers.__version__}",
        "tokenizer": name,
        "hf_class": type(tok).__name__,
        "call": ("LlamaTokenizer.from_pretrained(dir, legacy=True)" if slow_llama else
                 "AutoTokenizer.from_pretrained(dir)") + "(text).input_ids (add_special_tokens=True)",
        "special": True,
        "max_chars": a.max_chars,
        "corpora": corpora,
    }
    with open(out_path, "w") as f:
        f.write(json.dumps(golden, separators=(",", ":")) + "\n")
    n_tok = sum(len(d["ids"]) for c in corpora for d in c["docs"])
    print(f"{name}: {type(tok).__name__}, wrote {out_path}: {n_tok} tokens", file=sys.stderr)


def training_texts(a):
    texts = []
    for fname in corpus_files(a.data):
        texts += read_docs(os.path.join(a.data, "domains", fname))
    return texts


def make_bpe(a, texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=2000, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens(["<user_word>"])  # a non-special added token: always matched
    d = os.path.join(a.out, "bpe2k")
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2TokenizerFast", "bos_token": "<|endoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "model_max_length": 1024}, f, indent=2)
    write_golden("bpe2k", d, a, os.path.join(a.out, "bpe2k.golden.json"))

    # GPT-NeoX/OLMo style: the same tokenizer behind an NFC normalizer. Only the
    # ids are committed (the test builds this tokenizer.json from bpe2k's).
    j = json.load(open(os.path.join(d, "tokenizer.json")))
    j["normalizer"] = {"type": "NFC"}
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "tokenizer.json"), "w") as f:
            json.dump(j, f, ensure_ascii=False)
        from transformers import PreTrainedTokenizerFast
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tmp, "tokenizer.json"))
        cases = [{"text": t, "ids": tok(t).input_ids} for t in NFC_CASES]
        with open(os.path.join(a.out, "bpe2k_nfc.cases.json"), "w") as f:
            json.dump({"generator": "tests/tools/make_hf_tokenizers.py: bpe2k/tokenizer.json with "
                                    "normalizer {\"type\": \"NFC\"}, PreTrainedTokenizerFast",
                       "cases": cases}, f, indent=1, ensure_ascii=False)

    # Llama-3 style pipeline over the same vocabulary and merges.
    j = json.load(open(os.path.join(d, "tokenizer.json")))
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    j["model"]["ignore_merges"] = True
    bos = "<|begin_of_text|>"
    j["added_tokens"].append({"id": len(j["model"]["vocab"]) + 1, "content": bos, "single_word": False,
                              "lstrip": False, "rstrip": False, "normalized": False, "special": True})
    j["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {bos: {"id": bos, "ids": [len(j["model"]["vocab"]) + 1], "tokens": [bos]}}}]}
    d3 = os.path.join(a.out, "bpe2k_llama3")
    os.makedirs(d3, exist_ok=True)
    with open(os.path.join(d3, "tokenizer.json"), "w") as f:
        json.dump(j, f, ensure_ascii=False)
    with open(os.path.join(d3, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": bos,
                   "eos_token": "<|endoftext|>"}, f, indent=2)
    write_golden("bpe2k_llama3", d3, a, os.path.join(a.out, "bpe2k_llama3.golden.json"))
    # The pair form of merges (tokenizers >= 0.20 writes it); same ranks, same ids.
    j["model"]["merges"] = [m.split(" ") for m in j["model"]["merges"]]
    assert all(len(m) == 2 for m in j["model"]["merges"])
    with open(os.path.join(d3, "tokenizer.json"), "w") as f:
        json.dump(j, f, ensure_ascii=False)


def make_spm(a, texts):
    import sentencepiece as spm
    from transformers import LlamaTokenizer
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "train.txt")
        with open(inp, "w", encoding="utf-8") as f:
            for t in texts:
                for line in t.split("\n"):
                    if line.strip():
                        f.write(line + "\n")
        prefix = os.path.join(tmp, "spm1k")
        spm.SentencePieceTrainer.train(
            input=inp, model_prefix=prefix, model_type="bpe", vocab_size=1000, byte_fallback=True,
            character_coverage=0.9995, normalization_rule_name="identity", remove_extra_whitespaces=False,
            add_dummy_prefix=True, split_digits=True, allow_whitespace_only_pieces=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
        d = os.path.join(a.out, "spm1k")
        os.makedirs(d, exist_ok=True)
        tok = LlamaTokenizer(vocab_file=prefix + ".model", legacy=True)
        tok.save_pretrained(d)
    write_golden("spm1k", d, a, os.path.join(a.out, "spm1k.golden.json"), slow_llama=True)
    # Special tokens written in the text: legacy=True (a dummy prefix after each
    # special token, as llama.cpp) and legacy=False (only at the start of the text).
    cases = []
    for legacy in (True, False):
        tok = LlamaTokenizer.from_pretrained(d, legacy=legacy)
        for t in SPECIAL_CASES:
            cases.append({"legacy": legacy, "text": t, "ids": tok(t).input_ids})
    with open(os.path.join(a.out, "spm1k.special_cases.json"), "w") as f:
        json.dump({"generator": "tests/tools/make_hf_tokenizers.py (LlamaTokenizer, slow)",
                   "call": "LlamaTokenizer.from_pretrained(dir, legacy=L)(text).input_ids", "cases": cases}, f,
                  indent=1, ensure_ascii=False)


def make_smollm2(a):
    from transformers import AutoTokenizer
    if not os.path.exists(a.model):
        print(f"smollm2_gguf: {a.model} not found, skipped", file=sys.stderr)
        return
    tok = AutoTokenizer.from_pretrained(os.path.dirname(a.model), gguf_file=os.path.basename(a.model))
    d = os.path.join(a.cache, "hf_tok", "smollm2_gguf")
    os.makedirs(d, exist_ok=True)
    tok.save_pretrained(d)
    # transformers 4.44 copies the whole GGUF file as "tokenizer.model": not a tokenizer.
    p = os.path.join(d, "tokenizer.model")
    if os.path.exists(p):
        os.remove(p)
    write_golden("smollm2_gguf", d, a, os.path.join(a.out, "smollm2_gguf.golden.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(REPO, "data"), help="the repository's data/ (corpora in data/domains/)")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "hf_tok"))
    ap.add_argument("--cache", default=cache_dir())
    ap.add_argument("--model", default=os.path.join(cache_dir(), "models", "SmolLM2-135M-Instruct.gguf"))
    ap.add_argument("--docs", type=int, default=48)
    ap.add_argument("--max-chars", type=int, default=2000)
    ap.add_argument("--only", default="", help="comma list of: bpe,spm,smollm2")
    a = ap.parse_args()
    only = set(x for x in a.only.split(",") if x) or {"bpe", "spm", "smollm2"}
    os.makedirs(a.out, exist_ok=True)
    texts = training_texts(a)
    if "bpe" in only:
        make_bpe(a, texts)
    if "spm" in only:
        make_spm(a, texts)
    if "smollm2" in only:
        make_smollm2(a)


if __name__ == "__main__":
    main()
