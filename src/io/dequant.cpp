// Dequantisation of ggml blocks, written from the block layouts:
//   Q4_0  {f16 d; u8 qs[16]}                      x = (q - 8) * d
//   Q4_1  {f16 d, m; u8 qs[16]}                   x = q * d + m
//   Q5_0  {f16 d; u8 qh[4]; u8 qs[16]}            x = (q5 - 16) * d
//   Q5_1  {f16 d, m; u8 qh[4]; u8 qs[16]}         x = q5 * d + m
//   Q8_0  {f16 d; i8 qs[32]}                      x = q * d
//   Q8_1  {f16 d, s; i8 qs[32]}                   x = q * d
//   (32-element blocks: element j < 16 is the low nibble of qs[j], j >= 16 the high
//    nibble of qs[j-16]; the fifth bit of element j is bit j of qh)
//   Q2_K  {u8 scales[16]; u8 qs[64]; f16 d, dmin}         256 elements, 16 groups of 16
//   Q3_K  {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d} 16 groups of 16, 6-bit scales
//   Q4_K  {f16 d, dmin; u8 scales[12]; u8 qs[128]}        8 groups of 32, 6-bit scale+min
//   Q5_K  {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//   Q6_K  {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}   16 groups of 16
//   Q8_K  {f32 d; i8 qs[256]; i16 bsums[16]}
#include "io/dequant.h"

#include <omp.h>

#include <cstring>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab::gguf {

namespace {

float half_bits_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct HalfTable {
  float v[65536];
  HalfTable() {
    for (uint32_t k = 0; k < 65536; ++k) v[k] = half_bits_to_float(static_cast<uint16_t>(k));
  }
};

const float* half_table() {
  static const HalfTable* t = new HalfTable();
  return t->v;
}

inline uint16_t ld16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t ld32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- per-block kernels: b = block bytes, y = block output.

void blk_q4_0(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)];
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

void blk_q4_1(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)], m = H[ld16(b + 2)];
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0xF) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Fifth bits of the 32 elements of a Q5 block as bytes 0 or 16 (a table lookup per
// qh byte keeps the inner loops free of variable shifts, so they vectorise).
struct BitTable {
  uint8_t v[256][8];
  BitTable() {
    for (int b = 0; b < 256; ++b)
      for (int k = 0; k < 8; ++k) v[b][k] = static_cast<uint8_t>(((b >> k) & 1) << 4);
  }
};
const BitTable& bit_table() {
  static const BitTable t;
  return t;
}

inline void q5_high_bits(const uint8_t* qh, uint8_t* hb) {
  const BitTable& t = bit_table();
  for (int k = 0; k < 4; ++k) std::memcpy(hb + 8 * k, t.v[qh[k]], 8);
}

void blk_q5_0(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)];
  uint8_t hb[32];
  q5_high_bits(b + 2, hb);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(((qs[j] & 0xF) | hb[j]) - 16) * d;
    y[j + 16] = static_cast<float>(((qs[j] >> 4) | hb[j + 16]) - 16) * d;
  }
}

void blk_q5_1(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)], m = H[ld16(b + 2)];
  uint8_t hb[32];
  q5_high_bits(b + 4, hb);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) | hb[j]) * d + m;
    y[j + 16] = static_cast<float>((qs[j] >> 4) | hb[j + 16]) * d + m;
  }
}

void blk_q8_0(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)];
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

void blk_q8_1(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)];
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

void blk_q2_k(const uint8_t* b, float* y, const float* H) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = H[ld16(b + 80)], dmin = H[ld16(b + 82)];
  // Two halves of 128; in each, 4 bit-planes (shift 0,2,4,6) over 32 bytes of qs,
  // each plane two groups of 16 with their own 4-bit scale and min.
  int is = 0;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int g = 0; g < 2; ++g) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 0xF);
        const float ml = dmin * static_cast<float>(sc >> 4);
        const uint8_t* qq = q + 16 * g;
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((qq[l] >> shift) & 3) - ml;
      }
    }
    q += 32;
  }
}

// 16 six-bit scales of Q3_K from 12 bytes: low 4 bits in bytes 0..7 (low nibble for
// groups 0..7, high nibble for 8..15), high 2 bits in bytes 8..11.
inline void q3k_scales(const uint8_t* s, int* out) {
  for (int i = 0; i < 16; ++i) {
    int lo = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
    int hi = (s[8 + (i % 4)] >> (2 * (i / 4))) & 3;
    out[i] = (lo | (hi << 4)) - 32;
  }
}

void blk_q3_k(const uint8_t* b, float* y, const float* H) {
  const uint8_t* hm = b;
  const uint8_t* q = b + 32;
  int sc[16];
  q3k_scales(b + 96, sc);
  const float d = H[ld16(b + 108)];
  int is = 0;
  uint8_t m = 1;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int g = 0; g < 2; ++g) {
        const float dl = d * static_cast<float>(sc[is++]);
        for (int l = 16 * g; l < 16 * g + 16; ++l) {
          int v = ((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4);
          *y++ = dl * static_cast<float>(v);
        }
      }
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// Six-bit scale and min of group j (0..7) of Q4_K / Q5_K from 12 bytes.
inline void k4_scale_min(int j, const uint8_t* s, int& sc, int& mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void blk_q4_k(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)], dmin = H[ld16(b + 2)];
  const uint8_t* s = b + 4;
  const uint8_t* q = b + 16;
  for (int c = 0; c < 4; ++c) {  // 64 elements: low nibbles (group 2c), high (2c+1)
    int sc0, m0, sc1, m1;
    k4_scale_min(2 * c, s, sc0, m0);
    k4_scale_min(2 * c + 1, s, sc1, m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    for (int l = 0; l < 32; ++l) y[l] = d0 * static_cast<float>(q[l] & 0xF) - mm0;
    for (int l = 0; l < 32; ++l) y[32 + l] = d1 * static_cast<float>(q[l] >> 4) - mm1;
    y += 64;
    q += 32;
  }
}

void blk_q5_k(const uint8_t* b, float* y, const float* H) {
  const float d = H[ld16(b)], dmin = H[ld16(b + 2)];
  const uint8_t* s = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + 48;
  for (int c = 0; c < 4; ++c) {
    int sc0, m0, sc1, m1;
    k4_scale_min(2 * c, s, sc0, m0);
    k4_scale_min(2 * c + 1, s, sc1, m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    const int b0 = 2 * c, b1 = 2 * c + 1;  // bit of qh holding the fifth bit
    for (int l = 0; l < 32; ++l)
      y[l] = d0 * static_cast<float>((q[l] & 0xF) | (((qh[l] >> b0) & 1) << 4)) - mm0;
    for (int l = 0; l < 32; ++l)
      y[32 + l] = d1 * static_cast<float>((q[l] >> 4) | (((qh[l] >> b1) & 1) << 4)) - mm1;
    y += 64;
    q += 32;
  }
}

void blk_q6_k(const uint8_t* b, float* y, const float* H) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = H[ld16(b + 208)];
  for (int half = 0; half < 2; ++half) {
    // 128 elements: four runs of 32; run r takes 4 low bits from ql (low nibble of
    // ql[l] / ql[l+32] for runs 0/1, high nibble for runs 2/3) and 2 high bits from
    // qh[l] at bit 2r. Scales: one per 16 elements.
    for (int g = 0; g < 2; ++g) {
      const float s1 = d * sc[g], s2 = d * sc[g + 2], s3 = d * sc[g + 4], s4 = d * sc[g + 6];
      for (int l = 16 * g; l < 16 * g + 16; ++l) {
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = s1 * static_cast<float>(q1);
        y[l + 32] = s2 * static_cast<float>(q2);
        y[l + 64] = s3 * static_cast<float>(q3);
        y[l + 96] = s4 * static_cast<float>(q4);
      }
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void blk_q8_k(const uint8_t* b, float* y, const float*) {
  float d;
  std::memcpy(&d, b, 4);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < 256; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// Plain types: "block" of 1 element, but processed in runs for speed.
using BlockFn = void (*)(const uint8_t*, float*, const float*);

BlockFn block_fn(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0: return blk_q4_0;
    case GgmlType::Q4_1: return blk_q4_1;
    case GgmlType::Q5_0: return blk_q5_0;
    case GgmlType::Q5_1: return blk_q5_1;
    case GgmlType::Q8_0: return blk_q8_0;
    case GgmlType::Q8_1: return blk_q8_1;
    case GgmlType::Q2_K: return blk_q2_k;
    case GgmlType::Q3_K: return blk_q3_k;
    case GgmlType::Q4_K: return blk_q4_k;
    case GgmlType::Q5_K: return blk_q5_k;
    case GgmlType::Q6_K: return blk_q6_k;
    case GgmlType::Q8_K: return blk_q8_k;
    default: return nullptr;
  }
}

bool is_plain(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::F64:
    case GgmlType::I8: case GgmlType::I16: case GgmlType::I32:
      return true;
    default: return false;
  }
}

// Elements [0, n) of a plain type.
void plain_range(GgmlType t, const uint8_t* src, float* dst, size_t n) {
  switch (t) {
    case GgmlType::F32: std::memcpy(dst, src, n * 4); break;
    case GgmlType::F16: {
      const float* H = half_table();
      for (size_t k = 0; k < n; ++k) dst[k] = H[ld16(src + 2 * k)];
      break;
    }
    case GgmlType::BF16:
      for (size_t k = 0; k < n; ++k) dst[k] = bf16_to_f32(ld16(src + 2 * k));
      break;
    case GgmlType::F64:
      for (size_t k = 0; k < n; ++k) {
        double v;
        std::memcpy(&v, src + 8 * k, 8);
        dst[k] = static_cast<float>(v);
      }
      break;
    case GgmlType::I8:
      for (size_t k = 0; k < n; ++k) dst[k] = static_cast<float>(static_cast<int8_t>(src[k]));
      break;
    case GgmlType::I16:
      for (size_t k = 0; k < n; ++k) dst[k] = static_cast<float>(static_cast<int16_t>(ld16(src + 2 * k)));
      break;
    case GgmlType::I32:
      for (size_t k = 0; k < n; ++k) dst[k] = static_cast<float>(static_cast<int32_t>(ld32(src + 4 * k)));
      break;
    default: break;
  }
}

// Work split: chunks of this many elements per OpenMP iteration (dynamic, so a
// descheduled thread does not hold back a static share). Tensors under kParallelMin
// elements (a few ms of work) stay serial: each parallel region ends in a barrier,
// and on a busy machine waiting there for a descheduled thread costs more than the
// work itself (measured: 210 Q4_1 tensors of 0.9 M elements were 10x slower with two
// threads than with one on a loaded 2-core machine).
constexpr size_t kChunk = size_t(1) << 16;
constexpr size_t kParallelMin = size_t(1) << 22;

}  // namespace

float fp16_to_f32(uint16_t h) { return half_table()[h]; }

bool dequant_supported(GgmlType t) { return is_plain(t) || block_fn(t) != nullptr; }

void dequantize_into(GgmlType t, const void* src_v, float* dst, size_t n, bool threads) {
  const TypeTraits* tr = type_traits(t);
  if (!tr || !dequant_supported(t))
    fail(fmt::format("dequantisation of tensor type {} is not supported", type_name(t)));
  if (n % tr->block_size != 0)
    fail(fmt::format("cannot dequantise {} elements of type {}: not a multiple of the block size {}",
                     n, tr->name, tr->block_size));
  const uint8_t* src = static_cast<const uint8_t*>(src_v);
  const size_t bs = tr->block_size, ts = tr->type_size;
  const size_t n_chunks = (n + kChunk - 1) / kChunk;  // kChunk is a multiple of every block size
  const bool par = threads && n >= kParallelMin && omp_get_max_threads() > 1 && !omp_in_parallel();
  if (is_plain(t)) {
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (long long c = 0; c < static_cast<long long>(n_chunks); ++c) {
      size_t a = static_cast<size_t>(c) * kChunk, e = std::min(n, a + kChunk);
      plain_range(t, src + a * ts, dst + a, e - a);
    }
    return;
  }
  const BlockFn fn = block_fn(t);
  const float* H = half_table();
#pragma omp parallel for schedule(dynamic, 1) if (par)
  for (long long c = 0; c < static_cast<long long>(n_chunks); ++c) {
    size_t a = static_cast<size_t>(c) * kChunk, e = std::min(n, a + kChunk);
    for (size_t k = a; k < e; k += bs) fn(src + (k / bs) * ts, dst + k, H);
  }
}

void dequantize_into(const GgufFile& file, const TensorInfo& t, float* dst) {
  if (!dequant_supported(t.type))
    fail(fmt::format("'{}': tensor '{}' has type {}, which sinklab cannot dequantise", file.path(),
                     t.name, type_name(t.type)));
  dequantize_into(t.type, file.tensor_data(t), dst, t.n_elements);
}

std::vector<float> dequantize(const GgufFile& file, const TensorInfo& t) {
  if (!dequant_supported(t.type))
    fail(fmt::format("'{}': tensor '{}' has type {}, which sinklab cannot dequantise", file.path(),
                     t.name, type_name(t.type)));
  std::vector<float> out(t.n_elements);
  dequantize_into(t.type, file.tensor_data(t), out.data(), t.n_elements);
  return out;
}

void dequantize_row(const GgufFile& file, const TensorInfo& t, uint64_t row, float* dst) {
  if (row >= t.n_rows())
    fail(fmt::format("'{}': row {} of tensor '{}' is out of range ({} rows)", file.path(), row,
                     t.name, t.n_rows()));
  if (!dequant_supported(t.type))
    fail(fmt::format("'{}': tensor '{}' has type {}, which sinklab cannot dequantise", file.path(),
                     t.name, type_name(t.type)));
  const uint64_t rl = t.row_length();
  const uint64_t rb = type_bytes(t.type, rl);
  dequantize_into(t.type, file.tensor_data(t) + row * rb, dst, rl, false);
}

}  // namespace sinklab::gguf
