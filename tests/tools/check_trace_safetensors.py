"""Checks `sinklab llm trace --save` output the way a Python user opens it.

check_trace_safetensors.py OUT_DIR LAYER

Loads OUT_DIR/hooks.safetensors (with safetensors.numpy when the package is
installed, else by reading the format: an 8-byte little-endian header length, a JSON
header, raw little-endian data) and checks that blocks.LAYER.attn.hook_pattern equals
the weights in OUT_DIR/trace_patterns.csv, and that the rows sum to 1.
"""
import csv
import json
import struct
import sys

import numpy as np


def load(path):
    try:
        from safetensors.numpy import load_file  # the package users have
        return load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(blob[base + a:base + b], dtype="<f4").reshape(info["shape"])
    return out


def main():
    out_dir, layer = sys.argv[1], int(sys.argv[2])
    tensors = load(out_dir + "/hooks.safetensors")
    key = f"blocks.{layer}.attn.hook_pattern"
    assert key in tensors, f"{key} not in {sorted(tensors)[:5]}..."
    pat = tensors[key]
    assert pat.ndim == 4 and pat.shape[0] == 1, pat.shape
    checked = 0
    with open(out_dir + "/trace_patterns.csv", newline="") as f:
        for row in csv.DictReader(f):
            if int(row["layer"]) != layer:
                continue
            h, q, k = int(row["head"]), int(row["query"]), int(row["key"])
            want = float(row["weight"])
            got = float(pat[0, h, q, k])
            assert abs(got - want) <= 1e-5 + 1e-4 * abs(want), (h, q, k, got, want)
            checked += 1
    H, T = pat.shape[1], pat.shape[2]
    assert checked == H * T * (T + 1) // 2, (checked, H, T)
    assert np.allclose(pat[0].sum(-1), 1.0, atol=1e-4)
    print(f"ok: {key} {list(pat.shape)} matches trace_patterns.csv ({checked} weights)")


if __name__ == "__main__":
    main()
