#!/usr/bin/env python3
"""Writes the small GGUF files of tests/data/gguf/ (committed; rerun to regenerate):

  ok_v2.gguf, ok_v3.gguf   valid files: every metadata value type, nested arrays,
                           llama-style keys, one small tensor per supported type
  bad_*.gguf               one defect each; `sinklab model info` must exit 2

and, with --seeds DIR --model MODEL.gguf, a fuzz seed corpus: the valid files plus a
reduced copy of the real model (its metadata with arrays cut to 64 items and three
of its tensors). Plain Python (struct) only, independent of the C++ reader.
Usage: /usr/bin/python3 tests/tools/make_gguf_files.py tests/data/gguf [--seeds DIR --model M]
"""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
# ggml types: (id, block size, bytes per block)
TYPES = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20),
         "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24), "Q8_0": (8, 32, 34), "Q2_K": (10, 256, 84),
         "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176),
         "Q6_K": (14, 256, 210), "Q8_K": (15, 256, 292), "BF16": (30, 1, 2)}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(value(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def build(kvs, tensors, version=3, alignment=32, magic=b"GGUF", pad_data=True):
    """kvs: [(key, type, value)]; tensors: [(name, dims, type_id, data bytes[, offset])]."""
    out = bytearray(magic + struct.pack("<IQQ", version, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + value(t, v)
    offsets, off = [], 0
    for tt in tensors:
        if len(tt) > 4:
            offsets.append(tt[4])
        else:
            offsets.append(off)
            off += len(tt[3])
            off = (off + alignment - 1) // alignment * alignment
    for (name, dims, tid, data, *_), o in zip(tensors, offsets):
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", tid, o)
    if pad_data:
        out += b"\0" * ((-len(out)) % alignment)
    base = len(out)
    for (name, dims, tid, data, *_), o in zip(tensors, offsets):
        if o > (1 << 24):  # deliberately out of bounds: write no data
            continue
        if base + o > len(out):
            out += b"\0" * (base + o - len(out))
        out[base + o: base + o + len(data)] = data
    return bytes(out)


def tensor_bytes(tname, n, seed):
    """Deterministic bytes for n elements of a type; f16 scale fields kept finite."""
    tid, bs, ts = TYPES[tname]
    nb = n // bs * ts
    x = seed
    data = bytearray()
    for _ in range(nb):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        data.append((x >> 16) & 0xFF)
    if tname == "F32":
        data = bytearray(b"".join(struct.pack("<f", (i % 17 - 8) * 0.25) for i in range(n)))
    elif tname in ("F16", "BF16"):
        data = bytearray(b"".join(struct.pack("<H", 0x3C00 + (i % 64) if tname == "F16" else 0x3F80 + (i % 64)) for i in range(n)))
    else:
        half = struct.pack("<e", 0.0625)
        fields = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
                  "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}
        for b in range(nb // ts):
            for f in fields.get(tname, []):
                data[b * ts + f: b * ts + f + 2] = half
            if tname == "Q8_K":
                data[b * ts: b * ts + 4] = struct.pack("<f", 0.01)
    return bytes(data)


def all_kvs():
    return [
        ("general.architecture", STR, "llama"),
        ("general.name", STR, "tiny test"),
        ("general.alignment", U32, 32),
        ("llama.block_count", U32, 2),
        ("llama.embedding_length", U32, 64),
        ("llama.attention.head_count", U32, 4),
        ("llama.attention.head_count_kv", U32, 2),
        ("llama.feed_forward_length", U32, 128),
        ("llama.context_length", U32, 256),
        ("llama.rope.freq_base", F32, 10000.0),
        ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
        ("tokenizer.ggml.model", STR, "gpt2"),
        ("tokenizer.ggml.tokens", ARR, (STR, ["<s>", "</s>", "a", "b", "ab", "\u0120x"])),
        ("tokenizer.ggml.token_type", ARR, (I32, [3, 3, 1, 1, 1, 1])),
        ("tokenizer.ggml.merges", ARR, (STR, ["a b"])),
        ("tokenizer.ggml.bos_token_id", U32, 0),
        ("tokenizer.ggml.eos_token_id", U32, 1),
        ("test.u8", U8, 200), ("test.i8", I8, -100), ("test.u16", U16, 60000),
        ("test.i16", I16, -30000), ("test.u32", U32, 4000000000), ("test.i32", I32, -2000000000),
        ("test.f32", F32, 1.5), ("test.bool", BOOL, True), ("test.string", STR, "h\u00e9llo"),
        ("test.u64", U64, 2**63 + 5), ("test.i64", I64, -2**62), ("test.f64", F64, 2.718281828459045),
        ("test.arr_f32", ARR, (F32, [0.5, -1.0, 2.0])),
        ("test.nested", ARR, (ARR, [(U8, [1, 2]), (STR, ["x", "yz"]), (ARR, [(I64, [-7])])])),
        ("test.empty", ARR, (U32, [])),
    ]


def all_tensors():
    out = []
    for i, name in enumerate(TYPES):
        tid, bs, ts = TYPES[name]
        n = 2 * max(bs, 32)  # two rows of 32 or 256 elements... dims = [row, 2]
        out.append((f"t.{name.lower()}", [n // 2, 2], tid, tensor_bytes(name, n, i + 1)))
    return out


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def bad_files(d):
    kv = [("general.architecture", STR, "llama")]
    t = [("w", [32, 2], 0, tensor_bytes("F32", 64, 1))]
    good = build(kv, t)
    write(os.path.join(d, "bad_magic.gguf"), b"GGUX" + good[4:])
    write(os.path.join(d, "bad_truncated_header.gguf"), good[:20])
    write(os.path.join(d, "bad_truncated_data.gguf"), good[:-100])
    write(os.path.join(d, "bad_version1.gguf"), build(kv, t, version=1))
    write(os.path.join(d, "bad_bigendian.gguf"), b"GGUF" + struct.pack(">I", 3) + good[8:])
    write(os.path.join(d, "bad_tensor_oob.gguf"), build(kv, [("w", [32, 2], 0, tensor_bytes("F32", 64, 1), 1 << 40)], pad_data=True))
    write(os.path.join(d, "bad_absurd_count.gguf"), good[:8] + struct.pack("<Q", 1 << 60) + good[16:])
    write(os.path.join(d, "bad_absurd_dims.gguf"), build(kv, [("w", [1 << 40, 1 << 40], 0, b"")]))
    write(os.path.join(d, "bad_too_many_dims.gguf"), build(kv, [("w", [2, 2, 2, 2, 2], 0, b"\0" * 128)]))
    write(os.path.join(d, "bad_zero_dim.gguf"), build(kv, [("w", [32, 0], 0, b"")]))
    write(os.path.join(d, "bad_unknown_type.gguf"), build(kv, [("w", [32, 2], 77, b"\0" * 256)]))
    write(os.path.join(d, "bad_alignment.gguf"), build(kv + [("general.alignment", U32, 24)], t, alignment=24))
    write(os.path.join(d, "bad_overlap.gguf"),
          build(kv, [("a", [32, 2], 0, b"\0" * 256, 0), ("b", [32], 0, b"\0" * 128, 128)]))
    write(os.path.join(d, "bad_string_length.gguf"),
          good[:24] + struct.pack("<Q", 1 << 50) + good[32:])
    write(os.path.join(d, "bad_value_type.gguf"), b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<I", 99) + b"\0" * 8)


def seed_from_model(model, path):
    """A reduced copy of the real model: its metadata (arrays cut to 64) and 3 tensors."""
    sys.path.insert(0, os.path.dirname(__file__))
    with open(model, "rb") as f:
        blob = f.read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, blob, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def rstr():
        n = rd("<Q")
        nonlocal pos
        s = blob[pos:pos + n]
        pos += n
        return s

    def rval(t):
        if t == STR:
            return rstr()
        if t == ARR:
            et = rd("<I")
            n = rd("<Q")
            return (et, [rval(et) for _ in range(n)])
        return rd(SCALAR_FMT[t])

    assert blob[:4] == b"GGUF"
    pos = 4
    version, nt, nkv = rd("<I"), rd("<Q"), rd("<Q")
    kvs = []
    for _ in range(nkv):
        k = rstr()
        t = rd("<I")
        v = rval(t)
        if t == ARR:
            v = (v[0], v[1][:64])
        kvs.append((k, t, v))
    infos = []
    for _ in range(nt):
        name = rstr()
        nd = rd("<I")
        dims = [rd("<Q") for _ in range(nd)]
        tid, off = rd("<I"), rd("<Q")
        infos.append((name, dims, tid, off))
    data_start = (pos + 31) // 32 * 32
    id2 = {v[0]: (v[1], v[2]) for v in TYPES.values()}
    chosen = []
    for name, dims, tid, off in infos:
        if name in (b"token_embd.weight", b"blk.0.attn_norm.weight", b"blk.0.attn_k.weight"):
            bs, ts = id2[tid]
            if name == b"token_embd.weight":
                dims = [dims[0], 4]  # first 4 rows only
            n = 1
            for d in dims:
                n *= d
            chosen.append((name, dims, tid, blob[data_start + off: data_start + off + n // bs * ts]))
    write(path, build(kvs, chosen, version=version))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out = args[0]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "ok_v3.gguf"), build(all_kvs(), all_tensors(), version=3))
    write(os.path.join(out, "ok_v2.gguf"), build(all_kvs(), all_tensors(), version=2))
    # Valid, but with names that are not UTF-8 and hold control characters.
    write(os.path.join(out, "odd_names.gguf"),
          build([("general.architecture", STR, b"ll\xffama"), ("general.name", STR, b"two\nlines\xc3")],
                [(b"w\xfe\nx", [32], 0, tensor_bytes("F32", 32, 3))]))
    bad_files(out)
    if "--seeds" in args:
        seeds = args[args.index("--seeds") + 1]
        os.makedirs(seeds, exist_ok=True)
        for f in os.listdir(out):
            if f.endswith(".gguf"):
                with open(os.path.join(out, f), "rb") as src:
                    write(os.path.join(seeds, f), src.read())
        if "--model" in args:
            seed_from_model(args[args.index("--model") + 1], os.path.join(seeds, "smollm_reduced.gguf"))


if __name__ == "__main__":
    main()
