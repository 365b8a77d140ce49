#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every tensor dequantised to float32 (gguf-py).

Used for the float32 parity check of docs/parity.md: llama.cpp run on this file computes
in float32 throughout (its float32 matmuls take float32 activations), so it can be
compared with sinklab, which dequantises the quantised file to the same float32
weights, to float32 rounding. Metadata is copied unchanged except general.file_type
(0 = ALL_F32).

  /work/venvs/gguf/bin/python tests/tools/gguf_dequantize.py IN.gguf OUT.gguf
"""
import os
import sys

import numpy as np

try:
    import gguf
    from gguf.quants import dequantize
except ImportError:
    sys.exit("gguf_dequantize.py: needs gguf-py (pip install gguf) in this interpreter")


def copy_field(w, name, f):
    vt = f.types[0]
    if vt == gguf.GGUFValueType.ARRAY:
        st = f.types[1]
        if st == gguf.GGUFValueType.STRING:
            val = [bytes(f.parts[i]).decode("utf-8", "surrogateescape") for i in f.data]
        else:
            val = [f.parts[i].tolist()[0] for i in f.data]
        w.add_key_value(name, val, vt, sub_type=st)
    elif vt == gguf.GGUFValueType.STRING:
        w.add_key_value(name, bytes(f.parts[f.data[0]]).decode("utf-8", "surrogateescape"), vt)
    else:
        w.add_key_value(name, f.parts[f.data[0]].tolist()[0], vt)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    r = gguf.GGUFReader(src)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    tmp = dst + ".tmp"
    w = gguf.GGUFWriter(tmp, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        copy_field(w, name, f)
    w.add_file_type(0)
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, a.reshape([int(x) for x in reversed(t.shape.tolist())]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, dst)
    print(f"wrote {dst} ({os.path.getsize(dst)} bytes, {len(r.tensors)} tensors as F32)", file=sys.stderr)


if __name__ == "__main__":
    main()
