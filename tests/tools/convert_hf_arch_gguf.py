"""GGUF copies of the tiny Hugging Face test models (tests/data/hf/<name>, made by
make_hf_arch.py), written by llama.cpp's own converter (convert_hf_to_gguf.py), so that
the GGUF tensor-name tables and metadata sinklab reads are checked against llama.cpp's
conventions, not sinklab's: tests/data/gguf_arch/<name>.gguf, float32 weights.

The tiny models have no tokenizer files, so every converter class's set_vocab is
replaced by llama.cpp's own "no vocabulary" writer (tokenizer.ggml.model = "none"; a
stand-in tokenizer.json only tells Gemma 3's converter the vocabulary size); the tests
feed token ids. The logits of each file are compared with the HF golden.json
of its source directory (tests/unit/torch/test_hf_model.cpp, GgufArch.*).

llama.cpp is not part of sinklab: pass a source tree (its convert_hf_to_gguf.py,
conversion/ and gguf-py/), e.g. the one vendored in the llama-cpp-python sdist from PyPI:

    curl -sL <llama_cpp_python-0.3.36.tar.gz from pypi.org> | tar xz
    .venv-bench/bin/python tests/tools/convert_hf_arch_gguf.py \\
        --llama-cpp llama_cpp_python-0.3.36/vendor/llama.cpp
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["llama_rope_linear", "llama_rope_llama3", "llama_rope_yarn", "mistral_window", "qwen2", "qwen3",
         "olmo2", "gemma", "gemma2", "gemma3", "phi3"]

# Run in a child process per model: the converter's registry is module state.
CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[1] + "/gguf-py")
import importlib
import pkgutil
import convert_hf_to_gguf as conv
import conversion
from conversion import ModelBase

for m in pkgutil.iter_modules(conversion.__path__):  # the classes register on import
    try:
        importlib.import_module("conversion." + m.name)
    except Exception:
        pass

def all_subclasses(c):
    for s in c.__subclasses__():
        yield s
        yield from all_subclasses(s)

def no_vocab(self):
    self._set_vocab_none()

ModelBase.set_vocab = no_vocab
for c in all_subclasses(ModelBase):
    if "set_vocab" in c.__dict__:
        c.set_vocab = no_vocab
sys.argv = ["convert_hf_to_gguf.py", sys.argv[2], "--outfile", sys.argv[3], "--outtype", "f32"]
conv.main()
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source tree")
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    out_dir = ROOT / "tests" / "data" / "gguf_arch"
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in a.only or NAMES:
        src = ROOT / "tests" / "data" / "hf" / name
        out = out_dir / (name + ".gguf")
        with tempfile.TemporaryDirectory() as tmp:
            # A copy with a stand-in tokenizer.json: Gemma 3's converter counts its vocabulary.
            for f in ("config.json", "model.safetensors"):
                shutil.copy(src / f, tmp)
            vocab = json.load(open(src / "config.json"))["vocab_size"]
            json.dump({"model": {"vocab": {"t%d" % i: i for i in range(vocab)}}, "added_tokens": []},
                      open(Path(tmp) / "tokenizer.json", "w"))
            r = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(a.llama_cpp), tmp, str(out)],
                               capture_output=True, text=True)
        if r.returncode != 0:
            failed.append(name)
            print("%s: FAILED\n%s" % (name, r.stderr[-2000:]), file=sys.stderr)
        else:
            print("%s: %s (%d bytes)" % (name, out.relative_to(ROOT), out.stat().st_size))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
