#!/usr/bin/python3
"""Interoperability of sinklab's safetensors files with Python.

Run with Debian's /usr/bin/python3 (numpy). If the `safetensors` package (and
torch, for BF16) is importable -- e.g. from a venv made with
`python3 -m venv --system-site-packages DIR && DIR/bin/pip install safetensors` --
the reference library is used as well; otherwise the format is written and
checked in plain Python (struct/json/numpy), following the published spec.

  safetensors_interop.py write OUT.safetensors [--plain]
      writes the reference tensors (below); with the library unless --plain.
  safetensors_interop.py check FILE.safetensors [--plain]
      reads a file (e.g. written by sinklab) and checks that it holds exactly the
      reference tensors with the right dtypes, shapes and values, and that the
      layout follows the spec; also loads it with the library when available.
  safetensors_interop.py bad OUT_DIR
      writes the malformed files bad-*.safetensors used by the tests.

The reference tensors are mirrored in tests/unit/core/test_safetensors.cpp
(ReferenceTensors): keep the two in sync.
"""
import json
import os
import struct
import sys

import numpy as np

try:  # the reference library, if present
    import safetensors  # noqa: F401
    HAVE_LIB = True
except ImportError:
    HAVE_LIB = False
HAVE_TORCH = False
if HAVE_LIB:  # torch only serves the library (BF16); importing it is slow, so not otherwise
    try:
        import torch
        HAVE_TORCH = True
    except ImportError:
        pass

DTYPES = {  # name -> (numpy dtype or None for bf16, element size)
    "F64": (np.float64, 8), "F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (None, 2),
    "I64": (np.int64, 8), "I32": (np.int32, 4), "I16": (np.int16, 2), "I8": (np.int8, 1),
    "U8": (np.uint8, 1), "BOOL": (np.bool_, 1),
}

ROUND_VALUES = [1.0 / 3.0, 0.1, 1e-5, 70000.0, 1e-8, -2.5e-6, 65519.0, 65520.0, 3.14159265]
SPECIAL_F16 = [float("inf"), float("-inf"), 65504.0, 2.0 ** -24, -0.0, 2.0 ** -14]


def f32_to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bits, round to nearest even (no NaNs here)."""
    x = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bias = 0x7FFF + ((x >> 16) & 1)
    return ((x + bias) >> 16).astype(np.uint16)


def reference():
    """name -> (dtype name, shape, little-endian bytes)."""
    out = {}

    def lin(n):
        return np.arange(n, dtype=np.float64)

    def put(name, dt, shape, values):
        npdt, _ = DTYPES[dt]
        if npdt is None:
            raw = f32_to_bf16_bits(np.asarray(values, dtype=np.float32)).astype("<u2").tobytes()
        else:
            with np.errstate(over="ignore"):  # 70000 -> F16 is meant to overflow to inf
                raw = np.asarray(values).astype(np.dtype(npdt).newbyteorder("<")).tobytes()
        out[name] = (dt, list(shape), raw)

    put("t_f64", "F64", [2, 3], (lin(6) - 3) * 0.375)
    put("t_f32", "F32", [3, 4], (lin(12) - 3) * 0.375)
    put("t_f16", "F16", [2, 5], (lin(10) - 3) * 0.375)
    put("t_bf16", "BF16", [4, 2], (lin(8) - 3) * 0.375)
    put("t_i64", "I64", [5], np.arange(5, dtype=np.int64) * (1 << 33) - 7)
    put("t_i32", "I32", [2, 2], np.arange(4, dtype=np.int64) * 100000 - 3)
    put("t_i16", "I16", [3], np.arange(3, dtype=np.int64) * 1000 - 1500)
    put("t_i8", "I8", [2, 3], np.arange(6, dtype=np.int64) * 40 - 100)
    put("t_u8", "U8", [4], np.arange(4, dtype=np.int64) * 60)
    put("t_bool", "BOOL", [5], np.arange(5) % 2 == 0)
    put("scalar", "F32", [], np.float32(42.5))
    put("empty", "F16", [0, 3], np.zeros((0, 3)))
    put("t_f16_special", "F16", [len(SPECIAL_F16)], SPECIAL_F16)
    # float32 -> half conversions whose rounding the C++ side must reproduce bit for bit
    put("t_f16_round", "F16", [len(ROUND_VALUES)], np.asarray(ROUND_VALUES, dtype=np.float32))
    put("t_bf16_round", "BF16", [len(ROUND_VALUES)], np.asarray(ROUND_VALUES, dtype=np.float32))
    if HAVE_TORCH:  # cross-check the numpy bfloat16 rounding against torch's
        tb = torch.tensor(ROUND_VALUES, dtype=torch.float32).to(torch.bfloat16).view(torch.int16).numpy()
        assert tb.astype("<i2").tobytes() == out["t_bf16_round"][2], "bf16 rounding differs from torch"
    return out


METADATA = {"format": "pt", "writer": "safetensors_interop.py"}


# ------------------------------------------------------------------ plain writer/reader

def serialize_plain(tensors, metadata, header_override=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    off = 0
    blobs = []
    for name in sorted(tensors, key=lambda n: (-DTYPES[tensors[n][0]][1], n)):
        dt, shape, raw = tensors[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode("utf-8")
    text += b" " * ((-(8 + len(text))) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def parse_plain(buf):
    """Returns (metadata, {name: (dtype, shape, bytes)}) after checking the spec."""
    assert len(buf) >= 8, "file shorter than 8 bytes"
    (n,) = struct.unpack_from("<Q", buf, 0)
    assert n <= 100_000_000 and 8 + n <= len(buf), "bad header length %d" % n
    raw_header = buf[8:8 + n]
    assert raw_header[:1] == b"{", "header does not start with '{'"
    pairs = json.loads(raw_header.decode("utf-8"), object_pairs_hook=lambda kv: kv)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys"
    header = dict(pairs)
    meta = dict(header.pop("__metadata__", []) or [])
    data = buf[8 + n:]
    out = {}
    ranges = []
    for name, entry in header.items():
        entry = dict(entry)
        dt, shape, (b, e) = entry["dtype"], entry["shape"], entry["data_offsets"]
        assert dt in DTYPES, "unsupported dtype " + dt
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        assert e - b == numel * DTYPES[dt][1], "offsets/shape mismatch for " + name
        assert 0 <= b <= e <= len(data), "offsets outside data for " + name
        out[name] = (dt, list(shape), bytes(data[b:e]))
        ranges.append((b, e, name))
    ranges.sort()
    pos = 0
    for b, e, name in ranges:  # the spec (and the library) want a contiguous, gap-free data section
        assert b == pos, "gap or overlap before %s (%d != %d)" % (name, b, pos)
        pos = e
    assert pos == len(data), "trailing bytes after the last tensor"
    return meta, out


# ------------------------------------------------------------------ library writer/reader

def write_with_lib(path, tensors, metadata):
    if HAVE_TORCH:
        import safetensors.torch as st
        tdt = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
               "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
               "U8": torch.uint8, "BOOL": torch.bool}
        d = {}
        for name, (dt, shape, raw) in tensors.items():
            t = torch.frombuffer(bytearray(raw), dtype=tdt[dt]) if raw else torch.zeros(0, dtype=tdt[dt])
            d[name] = t.reshape(shape).clone()
        st.save_file(d, path, metadata=metadata)
    else:
        import safetensors.numpy as sn
        d = {}
        for name, (dt, shape, raw) in tensors.items():
            if dt == "BF16":
                continue  # numpy has no bfloat16
            d[name] = np.frombuffer(raw, dtype=np.dtype(DTYPES[dt][0]).newbyteorder("<")).reshape(shape).copy()
        sn.save_file(d, path, metadata=metadata)


def load_with_lib(path):
    """name -> (dtype name, shape, bytes) via the library."""
    from safetensors import safe_open
    out = {}
    fw = "pt" if HAVE_TORCH else "numpy"
    with safe_open(path, framework=fw) as f:
        meta = f.metadata() or {}
        for name in f.keys():
            t = f.get_tensor(name)
            if HAVE_TORCH:
                rev = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                       torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                       torch.uint8: "U8", torch.bool: "BOOL"}
                dt = rev[t.dtype]
                if dt == "BF16":
                    raw = t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
                else:
                    raw = t.contiguous().numpy().astype(np.dtype(DTYPES[dt][0]).newbyteorder("<")).tobytes()
                out[name] = (dt, list(t.shape), raw)
            else:
                rev = {np.dtype(v[0]): k for k, v in DTYPES.items() if v[0] is not None}
                out[name] = (rev[t.dtype], list(t.shape), t.astype(t.dtype.newbyteorder("<")).tobytes())
    return meta, out


# ------------------------------------------------------------------ commands

def compare(got, want, skip_bf16=False):
    errors = []
    for name, (dt, shape, raw) in want.items():
        if skip_bf16 and dt == "BF16":
            continue
        if name not in got:
            errors.append("missing tensor " + name)
            continue
        g = got[name]
        if g[0] != dt or list(g[1]) != list(shape) or g[2] != raw:
            errors.append("tensor %s differs: got %s %s %r, want %s %s %r" % (name, g[0], g[1], g[2][:16], dt,
                                                                               shape, raw[:16]))
    extra = set(got) - set(want)
    if extra:
        errors.append("unexpected tensors " + ", ".join(sorted(extra)))
    return errors


def cmd_write(path, plain):
    tensors = reference()
    if plain or not HAVE_LIB:
        data = serialize_plain(tensors, METADATA)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        print("wrote %s (plain writer)" % path)
    else:
        write_with_lib(path, tensors, METADATA)
        print("wrote %s (safetensors %s%s)" % (path, safetensors.__version__, ", torch" if HAVE_TORCH else ""))
    return 0


def cmd_check(path, plain):
    want = reference()
    with open(path, "rb") as f:
        buf = f.read()
    errors = []
    try:
        meta, got = parse_plain(buf)
        errors += compare(got, want)
        if meta.get("format") != "pt":
            errors.append("metadata 'format' missing: %r" % meta)
    except (AssertionError, ValueError, KeyError) as e:
        errors.append("plain parser: %s" % e)
    used = "plain"
    if HAVE_LIB and not plain:
        meta, got = load_with_lib(path)
        errors += ["library: " + e for e in compare(got, want, skip_bf16=not HAVE_TORCH)]
        used += " + safetensors %s" % safetensors.__version__
    if errors:
        for e in errors:
            print("FAIL " + e, file=sys.stderr)
        return 1
    print("ok: %s matches the reference tensors (%s)" % (path, used))
    return 0


def cmd_bad(outdir):
    os.makedirs(outdir, exist_ok=True)
    good = serialize_plain({"w": ("F32", [2, 3], bytes(24))}, {})

    def hdr(obj_or_text, data=b"", pad=True, length=None):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        text = text.encode("utf-8")
        if pad:
            text += b" " * ((-(8 + len(text))) % 8)
        n = len(text) if length is None else length
        return struct.pack("<Q", n) + text + data

    w = lambda offs, shape=(2, 3), dt="F32": {"dtype": dt, "shape": list(shape), "data_offsets": list(offs)}
    files = {
        "truncated": good[:-5],
        "tiny": b"\x10\x00\x00",
        "header-beyond-file": struct.pack("<Q", 4096) + b'{"w":{}}',
        "header-oversized": struct.pack("<Q", 1 << 40) + b"{" + b" " * 15,
        "malformed-json": hdr('{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]', bytes(24)),
        "not-object": hdr("[1, 2, 3]"),
        "dtype": hdr({"w": w((0, 6), dt="F8_E4M3")}, bytes(6)),
        "shape-mismatch": hdr({"w": w((0, 20))}, bytes(24)),
        "offsets-out-of-bounds": hdr({"w": w((16, 40))}, bytes(24)),
        "offsets-reversed": hdr({"w": w((24, 0))}, bytes(24)),
        "overlap": hdr({"a": w((0, 24)), "b": w((12, 36))}, bytes(36)),
        "duplicate": hdr('{"w": %s, "w": %s}' % (json.dumps(w((0, 24))), json.dumps(w((24, 48)))), bytes(48)),
        "negative-dim": hdr({"w": w((0, 24), shape=(-2, -3))}, bytes(24)),
        "shape-overflow": hdr({"w": w((0, 0), shape=(1 << 62, 1 << 62))}),
        "metadata": hdr({"__metadata__": {"step": 10}, "w": w((0, 24))}, bytes(24)),
        "deep-nesting": hdr('{"w": ' + "[" * 100 + "]" * 100 + "}"),
        "nul-in-header": hdr(json.dumps({"w": w((0, 24))}) + "\0 , \"x\": 1}", bytes(24)),
    }
    for name, data in files.items():
        with open(os.path.join(outdir, "bad-%s.safetensors" % name), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(files), outdir))
    return 0


def main(argv):
    if len(argv) < 3 or argv[1] not in ("write", "check", "bad"):
        print(__doc__, file=sys.stderr)
        return 2
    plain = "--plain" in argv
    if argv[1] == "write":
        return cmd_write(argv[2], plain)
    if argv[1] == "check":
        return cmd_check(argv[2], plain)
    return cmd_bad(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
