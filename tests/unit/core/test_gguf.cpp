// GGUF reader + dequantisation: synthetic files written here, hand-quantised
// blocks, golden values from the independent gguf-py package
// (tests/tools/gguf_reference.py -> tests/data/gguf_golden.json), the real
// SmolLM2-135M test model (skipped, saying why, when it is absent) and bad input.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/dequant.h"
#include "io/error.h"
#include "io/files.h"
#include "io/gguf.h"
#include "io/gguf_info.h"

using namespace sinklab;
using namespace sinklab::gguf;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- a tiny writer
template <typename X>
void put(std::string& b, X v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& b, std::string_view s) {
  put<uint64_t>(b, s.size());
  b.append(s.data(), s.size());
}
uint16_t f2h(float f) {  // exact for the values used here (normal halves)
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int exp = int((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = (x >> 13) & 0x3ffu;
  if ((x & 0x7fffffffu) == 0) return static_cast<uint16_t>(sign);
  return static_cast<uint16_t>(sign | (uint32_t(exp) << 10) | mant);
}

struct Builder {
  std::string kvs;
  uint64_t n_kv = 0;
  struct T {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string data;
  };
  std::vector<T> tensors;

  void kv(const std::string& key, ValueType t, const std::string& payload) {
    put_str(kvs, key);
    put<uint32_t>(kvs, static_cast<uint32_t>(t));
    kvs += payload;
    ++n_kv;
  }
  template <typename X>
  void scalar(const std::string& key, ValueType t, X v) {
    std::string p;
    put(p, v);
    kv(key, t, p);
  }
  void string(const std::string& key, const std::string& v) {
    std::string p;
    put_str(p, v);
    kv(key, ValueType::STRING, p);
  }
  static std::string array(ValueType et, uint64_t n, const std::string& items) {
    std::string p;
    put<uint32_t>(p, static_cast<uint32_t>(et));
    put<uint64_t>(p, n);
    return p + items;
  }
  void tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType t, std::string data) {
    tensors.push_back({name, std::move(dims), static_cast<uint32_t>(t), std::move(data)});
  }
  std::string build(uint32_t version = 3, uint64_t align = 32) const {
    std::string b = "GGUF";
    put<uint32_t>(b, version);
    put<uint64_t>(b, tensors.size());
    put<uint64_t>(b, n_kv);
    b += kvs;
    uint64_t off = 0;
    std::vector<uint64_t> offs;
    for (const auto& t : tensors) {
      offs.push_back(off);
      off += t.data.size();
      off = (off + align - 1) / align * align;
    }
    for (size_t k = 0; k < tensors.size(); ++k) {
      put_str(b, tensors[k].name);
      put<uint32_t>(b, static_cast<uint32_t>(tensors[k].dims.size()));
      for (auto d : tensors[k].dims) put<uint64_t>(b, d);
      put<uint32_t>(b, tensors[k].type);
      put<uint64_t>(b, offs[k]);
    }
    b.resize((b.size() + align - 1) / align * align, '\0');
    size_t base = b.size();
    for (size_t k = 0; k < tensors.size(); ++k) {
      b.resize(base + offs[k], '\0');
      b += tensors[k].data;
    }
    return b;
  }
};

std::string write_tmp(const std::string& name, const std::string& bytes) {
  fs::path dir = fs::temp_directory_path() / "sinklab_gguf_test";
  fs::create_directories(dir);
  std::string p = (dir / name).string();
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return p;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

// ---------------------------------------------------------------- hand quantisation
std::string q8_0_block(float d, const int8_t* q) {
  std::string b;
  put<uint16_t>(b, f2h(d));
  b.append(reinterpret_cast<const char*>(q), 32);
  return b;
}
std::string q4_block(bool with_min, float d, float m, const uint8_t* q /*32 values 0..15*/) {
  std::string b;
  put<uint16_t>(b, f2h(d));
  if (with_min) put<uint16_t>(b, f2h(m));
  for (int j = 0; j < 16; ++j) b.push_back(static_cast<char>(q[j] | (q[j + 16] << 4)));
  return b;
}
std::string q5_block(bool with_min, float d, float m, const uint8_t* q /*32 values 0..31*/) {
  std::string b;
  put<uint16_t>(b, f2h(d));
  if (with_min) put<uint16_t>(b, f2h(m));
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) qh |= uint32_t((q[j] >> 4) & 1) << j;
  put<uint32_t>(b, qh);
  for (int j = 0; j < 16; ++j) b.push_back(static_cast<char>((q[j] & 15) | ((q[j + 16] & 15) << 4)));
  return b;
}

std::string model_path() { return test_model_path(); }

const nlohmann::json& golden() {
  static nlohmann::json g = nlohmann::json::parse(read_file(std::string(SINKLAB_TEST_DATA) + "/gguf_golden.json"));
  return g;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t k = 0; k + 1 < h.size(); k += 2) out.push_back(static_cast<char>(std::stoi(h.substr(k, 2), nullptr, 16)));
  return out;
}

#define SKIP_WITHOUT_MODEL(path)                                                              \
  std::string path = model_path();                                                          \
  if (path.empty())                                                                         \
    GTEST_SKIP() << "test model SmolLM2-135M-Instruct.gguf not found in the sinklab cache " \
                    "(run scripts/setup.sh, or set SINKLAB_CACHE)";

// A file holding every metadata type, nested arrays and a few tensors.
Builder every_type_builder() {
  Builder b;
  b.string("general.architecture", "llama");
  b.scalar<uint8_t>("t.u8", ValueType::UINT8, 200);
  b.scalar<int8_t>("t.i8", ValueType::INT8, -100);
  b.scalar<uint16_t>("t.u16", ValueType::UINT16, 60000);
  b.scalar<int16_t>("t.i16", ValueType::INT16, -30000);
  b.scalar<uint32_t>("t.u32", ValueType::UINT32, 4000000000u);
  b.scalar<int32_t>("t.i32", ValueType::INT32, -2000000000);
  b.scalar<float>("t.f32", ValueType::FLOAT32, 1.5f);
  b.scalar<uint8_t>("t.bool", ValueType::BOOL, 1);
  b.string("t.str", "h\xc3\xa9llo");
  b.scalar<uint64_t>("t.u64", ValueType::UINT64, (uint64_t(1) << 63) + 5);
  b.scalar<int64_t>("t.i64", ValueType::INT64, -(int64_t(1) << 62));
  b.scalar<double>("t.f64", ValueType::FLOAT64, 2.718281828459045);
  {
    std::string items;
    for (const char* s : {"<s>", "</s>", "a", "\xc4\xa0x"}) put_str(items, s);
    b.kv("tokenizer.ggml.tokens", ValueType::ARRAY, Builder::array(ValueType::STRING, 4, items));
  }
  {
    std::string items;
    for (int32_t v : {3, 3, 1, -1}) put(items, v);
    b.kv("t.arr_i32", ValueType::ARRAY, Builder::array(ValueType::INT32, 4, items));
  }
  {
    std::string items;
    for (float v : {0.5f, -1.0f}) put(items, v);
    b.kv("t.arr_f32", ValueType::ARRAY, Builder::array(ValueType::FLOAT32, 2, items));
  }
  {
    std::string inner1 = Builder::array(ValueType::UINT8, 2, std::string("\x01\x02", 2));
    std::string s;
    put_str(s, "x");
    put_str(s, "yz");
    std::string inner2 = Builder::array(ValueType::STRING, 2, s);
    b.kv("t.nested", ValueType::ARRAY, Builder::array(ValueType::ARRAY, 2, inner1 + inner2));
  }
  b.kv("t.empty", ValueType::ARRAY, Builder::array(ValueType::UINT32, 0, ""));
  std::string f32data;
  for (int k = 0; k < 6; ++k) put<float>(f32data, float(k) - 2.5f);
  b.tensor("w.f32", {3, 2}, GgmlType::F32, f32data);
  std::string bf;
  for (int k = 0; k < 4; ++k) put<uint16_t>(bf, uint16_t(0x3f80 + k * 0x80));  // 1, 2?, ...
  b.tensor("w.bf16", {4}, GgmlType::BF16, bf);
  return b;
}

}  // namespace

// ================================================================ synthetic files

class GgufVersions : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufVersions, EveryMetadataTypeRoundTrips) {
  const uint32_t version = GetParam();
  std::string bytes = every_type_builder().build(version);
  std::string path = write_tmp("every_v" + std::to_string(version) + ".gguf", bytes);
  GgufFile f(path);
  EXPECT_EQ(f.version(), version);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.metadata().size(), 18u);
  EXPECT_EQ(f.metadata()[1].first, "t.u8");  // file order kept
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get_u32("t.u8"), 200u);
  EXPECT_EQ(f.get_i32("t.i8"), -100);
  EXPECT_EQ(f.get_u32("t.u16"), 60000u);
  EXPECT_EQ(f.get_i64("t.i16"), -30000);
  EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_i32("t.i32"), -2000000000);
  EXPECT_EQ(f.get_f32("t.f32"), 1.5f);
  EXPECT_TRUE(f.get_bool("t.bool"));
  EXPECT_EQ(f.get_string("t.str"), "h\xc3\xa9llo");
  EXPECT_EQ(f.get_u64("t.u64"), (uint64_t(1) << 63) + 5);
  EXPECT_EQ(f.get_i64("t.i64"), -(int64_t(1) << 62));
  EXPECT_DOUBLE_EQ(f.get_f64("t.f64"), 2.718281828459045);
  EXPECT_EQ(f.get("t.f64").type, ValueType::FLOAT64);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"<s>", "</s>", "a", "\xc4\xa0x"}));
  auto views = f.get_string_views("tokenizer.ggml.tokens");
  ASSERT_EQ(views.size(), 4u);
  EXPECT_EQ(views[3], "\xc4\xa0x");
  EXPECT_EQ(f.get_i32_array("t.arr_i32"), (std::vector<int32_t>{3, 3, 1, -1}));
  EXPECT_EQ(f.get_f32_array("t.arr_f32"), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(f.array_size("t.empty"), 0u);
  const MetaValue& nested = f.get("t.nested");
  ASSERT_EQ(nested.type, ValueType::ARRAY);
  EXPECT_EQ(nested.elem_type, ValueType::ARRAY);
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(nested.items[0].elem_type, ValueType::UINT8);
  EXPECT_EQ(nested.items[0].items[1].u, 2u);
  EXPECT_EQ(nested.items[1].items[1].s, "yz");
  EXPECT_EQ(nested.to_string(), "[[1, 2], ['x', 'yz']]");

  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorInfo& t = f.tensor("w.f32");
  EXPECT_EQ(t.dims, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.shape_string(), "[2, 3]");
  EXPECT_EQ(t.n_elements, 6u);
  EXPECT_EQ(t.n_bytes, 24u);
  EXPECT_EQ(t.file_offset % 32, 0u);
  EXPECT_EQ(f.tensor("w.bf16").offset, 32u);
  EXPECT_EQ(dequantize(f, t), (std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}));
  EXPECT_EQ(f.find_tensor("nope"), nullptr);

  // from_memory reads the same.
  GgufFile m = GgufFile::from_memory(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(m.get_u64("t.u64"), f.get_u64("t.u64"));
  EXPECT_EQ(dequantize(m, m.tensor("w.bf16")), dequantize(f, f.tensor("w.bf16")));
  // Moves keep the views valid.
  GgufFile moved = std::move(f);
  EXPECT_EQ(moved.get_string_views("tokenizer.ggml.tokens")[2], "a");
}

INSTANTIATE_TEST_SUITE_P(V2V3, GgufVersions, ::testing::Values(2u, 3u));

TEST(Gguf, GetterErrorsAreClear) {
  std::string bytes = every_type_builder().build();
  GgufFile f = GgufFile::from_memory(bytes.data(), bytes.size(), "x.gguf");
  EXPECT_EQ(error_of([&] { f.get_u32("llama.block_count"); }),
            "'x.gguf': metadata key 'llama.block_count' is missing");
  EXPECT_EQ(error_of([&] { f.get_u32("t.str"); }),
            "'x.gguf': metadata key 't.str' has type string, expected an integer");
  EXPECT_EQ(error_of([&] { f.get_u32("t.i8"); }),
            "'x.gguf': metadata key 't.i8' has value -100, which does not fit in uint32");
  EXPECT_EQ(error_of([&] { f.get_i32("t.u32"); }),
            "'x.gguf': metadata key 't.u32' has value 4000000000, which does not fit in int32");
  EXPECT_EQ(error_of([&] { f.get_string("t.u8"); }),
            "'x.gguf': metadata key 't.u8' has type uint8, expected string");
  EXPECT_EQ(error_of([&] { f.get_string_array("t.arr_i32"); }),
            "'x.gguf': metadata key 't.arr_i32' has type array of int32, expected an array of string");
  EXPECT_EQ(error_of([&] { f.get_bool("t.u8"); }),
            "'x.gguf': metadata key 't.u8' has type uint8, expected bool");
  EXPECT_EQ(error_of([&] { f.tensor("missing"); }), "'x.gguf': tensor 'missing' is missing");
  EXPECT_EQ(f.get_u32_or("absent", 7), 7u);
  EXPECT_EQ(f.get_string_or("absent", "d"), "d");
  EXPECT_THROW(f.get_u32_or("t.str", 7), InputError);  // present but wrong type
  EXPECT_EQ(f.get_f64("t.u16"), 60000.0);              // integers widen to floats
}

TEST(Gguf, CustomAlignment) {
  Builder b = every_type_builder();
  b.scalar<uint32_t>("general.alignment", ValueType::UINT32, 64);
  std::string bytes = b.build(3, 64);
  GgufFile f = GgufFile::from_memory(bytes.data(), bytes.size());
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("w.bf16").offset, 64u);
  EXPECT_EQ(dequantize(f, f.tensor("w.f32"))[5], 2.5f);
}

// ================================================================ dequantisation

TEST(Dequant, HalfAndBfloat) {
  EXPECT_EQ(fp16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(fp16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(fp16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7e00)));
  EXPECT_TRUE(std::signbit(fp16_to_f32(0x8000)));
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
}

TEST(Dequant, HandQuantisedBlocks) {
  std::mt19937 rng(5);
  std::vector<float> out(64);
  // Q8_0: x = q * d
  int8_t q8[64];
  for (auto& q : q8) q = static_cast<int8_t>(int(rng() % 255) - 127);
  std::string b8 = q8_0_block(0.25f, q8) + q8_0_block(-0.5f, q8 + 32);
  dequantize_into(GgmlType::Q8_0, b8.data(), out.data(), 64);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(out[j], q8[j] * (j < 32 ? 0.25f : -0.5f)) << j;
  // Q8_1: same with an extra (ignored) sum
  std::string b81;
  put<uint16_t>(b81, f2h(0.125f));
  put<uint16_t>(b81, f2h(3.0f));
  b81.append(reinterpret_cast<const char*>(q8), 32);
  dequantize_into(GgmlType::Q8_1, b81.data(), out.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], q8[j] * 0.125f);
  // Q4_0: x = (q - 8) * d ; Q4_1: x = q * d + m
  uint8_t q4[32];
  for (int j = 0; j < 32; ++j) q4[j] = static_cast<uint8_t>((j * 7 + 3) % 16);
  std::string b40 = q4_block(false, 0.5f, 0, q4);
  dequantize_into(GgmlType::Q4_0, b40.data(), out.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], (q4[j] - 8) * 0.5f) << j;
  std::string b41 = q4_block(true, 0.25f, -1.0f, q4);
  dequantize_into(GgmlType::Q4_1, b41.data(), out.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], q4[j] * 0.25f - 1.0f) << j;
  // Q5_0: x = (q - 16) * d ; Q5_1: x = q * d + m
  uint8_t q5[32];
  for (int j = 0; j < 32; ++j) q5[j] = static_cast<uint8_t>((j * 13 + 5) % 32);
  std::string b50 = q5_block(false, 2.0f, 0, q5);
  dequantize_into(GgmlType::Q5_0, b50.data(), out.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], (q5[j] - 16) * 2.0f) << j;
  std::string b51 = q5_block(true, 0.5f, 0.25f, q5);
  dequantize_into(GgmlType::Q5_1, b51.data(), out.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], q5[j] * 0.5f + 0.25f) << j;
  // Q8_K: float d, 256 int8, 16 int16 sums
  std::string b8k;
  put<float>(b8k, 0.01f);
  std::vector<int8_t> qk(256);
  for (int j = 0; j < 256; ++j) qk[j] = static_cast<int8_t>(j - 128);
  b8k.append(reinterpret_cast<const char*>(qk.data()), 256);
  b8k.append(32, '\0');
  std::vector<float> outk(256);
  dequantize_into(GgmlType::Q8_K, b8k.data(), outk.data(), 256);
  for (int j = 0; j < 256; ++j) EXPECT_EQ(outk[j], float(j - 128) * 0.01f);
  // F16, I8, I32
  std::string h;
  for (float v : {1.0f, -2.0f, 0.5f, 65504.0f}) put<uint16_t>(h, f2h(v));
  dequantize_into(GgmlType::F16, h.data(), out.data(), 4);
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4), (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f}));
  int32_t i32[3] = {-5, 0, 70000};
  dequantize_into(GgmlType::I32, i32, out.data(), 3);
  EXPECT_EQ(out[0], -5.0f);
  EXPECT_EQ(out[2], 70000.0f);
}

TEST(Dequant, RejectsBadRequests) {
  std::string z(64, '\0');
  std::vector<float> out(64);
  EXPECT_THROW(dequantize_into(GgmlType::Q4_0, z.data(), out.data(), 31), InputError);
  EXPECT_THROW(dequantize_into(GgmlType::IQ2_XXS, z.data(), out.data(), 256), InputError);
  EXPECT_FALSE(dequant_supported(GgmlType::IQ4_NL));
  for (auto t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                 GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                 GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K})
    EXPECT_TRUE(dequant_supported(t)) << type_name(t);
}

// Random blocks of every type dequantised by gguf-py (golden JSON): bit-exact up
// to float rounding order.
TEST(Dequant, MatchesGgufPyOnRandomBlocks) {
  const auto& syn = golden().at("synthetic");
  int checked = 0;
  for (const auto& [name, entry] : syn.items()) {
    GgmlType type = GgmlType::F32;
    bool found = false;
    for (uint32_t id = 0; id < 64; ++id)
      if (const TypeTraits* tr = type_traits(id); tr && name == tr->name) type = GgmlType(id), found = true;
    ASSERT_TRUE(found) << name;
    std::string raw = unhex(entry.at("hex").get<std::string>());
    size_t n = entry.at("n").get<size_t>();
    ASSERT_EQ(raw.size(), type_bytes(type, n)) << name;
    std::vector<float> out(n);
    dequantize_into(type, raw.data(), out.data(), n);
    const auto& want = entry.at("values");
    ASSERT_EQ(want.size(), n);
    for (size_t k = 0; k < n; ++k) {
      float w = want[k].get<float>();
      EXPECT_NEAR(out[k], w, 1e-6 * std::max(1.0f, std::fabs(w))) << name << " element " << k;
    }
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(Dequant, ThreadedEqualsSerialAndRowsMatch) {
  // A Q4_1 tensor large enough to be split over threads.
  const size_t rows = 1040, cols = 4096, n = rows * cols;  // over the parallel threshold
  std::string data;
  std::mt19937 rng(11);
  for (size_t b = 0; b < n / 32; ++b) {
    uint8_t q[32];
    for (auto& x : q) x = static_cast<uint8_t>(rng() % 16);
    data += q4_block(true, 0.01f * float(1 + b % 7), -0.03f, q);
  }
  Builder bld;
  bld.tensor("big", {cols, rows}, GgmlType::Q4_1, data);
  std::string bytes = bld.build();
  GgufFile f = GgufFile::from_memory(bytes.data(), bytes.size());
  const TensorInfo& t = f.tensor("big");
  std::vector<float> a = dequantize(f, t), s(n);
  dequantize_into(t.type, f.tensor_data(t), s.data(), n, /*threads=*/false);
  EXPECT_EQ(a, s);
  std::vector<float> row(cols);
  for (uint64_t r : {uint64_t(0), uint64_t(37), uint64_t(rows - 1)}) {
    dequantize_row(f, t, r, row.data());
    EXPECT_TRUE(std::equal(row.begin(), row.end(), a.begin() + r * cols)) << r;
  }
  EXPECT_THROW(dequantize_row(f, t, rows, row.data()), InputError);
}

// ================================================================ the real model

TEST(GgufModel, MetadataMatchesGgufPy) {
  SKIP_WITHOUT_MODEL(path);
  GgufFile f(path);
  const auto& m = golden().at("model").at("meta");
  EXPECT_EQ(f.version(), m.at("version").get<uint32_t>());
  EXPECT_EQ(f.tensors().size(), m.at("n_tensors").get<size_t>());
  EXPECT_EQ(f.metadata().size(), m.at("n_kv").get<size_t>());
  EXPECT_EQ(f.data_offset(), m.at("data_offset").get<uint64_t>());
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get_u32("llama.block_count"), 30u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count"), 9u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count_kv"), 3u);
  EXPECT_EQ(f.get_u32("llama.embedding_length"), 576u);
  EXPECT_EQ(f.get_u32("llama.feed_forward_length"), 1536u);
  EXPECT_EQ(f.get_u32("llama.context_length"), m.at("context_length").get<uint32_t>());
  EXPECT_EQ(f.get_f32("llama.rope.freq_base"), 100000.0f);
  EXPECT_EQ(f.get_f32("llama.attention.layer_norm_rms_epsilon"), m.at("rms_eps").get<float>());
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  auto tokens = f.get_string_views("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.size(), 49152u);
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(tokens[k], m.at("first_tokens")[k].get<std::string>());
  auto merges = f.get_string_array("tokenizer.ggml.merges");
  EXPECT_EQ(merges.size(), m.at("n_merges").get<size_t>());
  for (size_t k = 0; k < 4; ++k) EXPECT_EQ(merges[k], m.at("first_merges")[k].get<std::string>());
  auto tt = f.get_i32_array("tokenizer.ggml.token_type");
  EXPECT_EQ(tt.size(), 49152u);
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(tt[k], m.at("first_token_types")[k].get<int32_t>());
  EXPECT_EQ(f.get_u32("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.eos_token_id"), 2u);

  GgufSummary s = summarize(f);
  EXPECT_EQ(s.n_layers, 30u);
  EXPECT_EQ(s.n_heads, 9u);
  EXPECT_EQ(s.n_kv_heads, 3u);
  EXPECT_EQ(s.head_dim, 64u);
  EXPECT_EQ(s.vocab_size, 49152u);
  EXPECT_EQ(s.n_params, m.at("n_params").get<uint64_t>());
  for (const auto& [type, count] : m.at("type_counts").items())
    EXPECT_EQ(s.tensors_per_type[type], count.get<uint64_t>()) << type;
  auto j = summary_to_json(s, true);
  EXPECT_EQ(j.at("tensors").size(), 272u);
  EXPECT_EQ(j.at("dims").at("n_kv_heads"), 3);
}

TEST(GgufModel, DequantMatchesGgufPy) {
  SKIP_WITHOUT_MODEL(path);
  GgufFile f(path);
  for (const auto& [name, g] : golden().at("model").at("tensors").items()) {
    SCOPED_TRACE(name);
    const TensorInfo& t = f.tensor(name);
    EXPECT_EQ(type_name(t.type), g.at("type").get<std::string>());
    EXPECT_EQ(t.dims, g.at("dims").get<std::vector<uint64_t>>());
    EXPECT_EQ(t.file_offset, g.at("offset").get<uint64_t>());
    std::vector<float> x = dequantize(f, t);
    ASSERT_EQ(x.size(), g.at("n_elements").get<size_t>());
    for (size_t k = 0; k < g.at("first").size(); ++k)
      EXPECT_NEAR(x[k], g.at("first")[k].get<float>(), 1e-6);
    const auto& idx = g.at("strided_index");
    for (size_t k = 0; k < idx.size(); ++k)
      EXPECT_NEAR(x[idx[k].get<size_t>()], g.at("strided")[k].get<float>(), 1e-6);
    double sum = 0, sumsq = 0;
    float mn = x[0], mx = x[0];
    for (float v : x) sum += v, sumsq += double(v) * v, mn = std::min(mn, v), mx = std::max(mx, v);
    const double gsum = g.at("sum").get<double>(), gsq = g.at("sumsq").get<double>();
    EXPECT_NEAR(sum, gsum, 1e-6 * std::max(1.0, std::sqrt(gsq) * std::sqrt(double(x.size()))));
    EXPECT_NEAR(sumsq, gsq, 1e-6 * std::max(1.0, gsq));
    EXPECT_EQ(mn, g.at("min").get<float>());
    EXPECT_EQ(mx, g.at("max").get<float>());
  }
}

// Every tensor of the model: finite, and its float64 sum / sum of squares agree with
// gguf-py's dequantisation of the same tensor.
TEST(GgufModel, EveryTensorMatchesGgufPySums) {
  SKIP_WITHOUT_MODEL(path);
  GgufFile f(path);
  const auto& sums = golden().at("model").at("sums");
  ASSERT_EQ(sums.size(), f.tensors().size());
  std::vector<float> buf;
  for (const auto& t : f.tensors()) {
    ASSERT_TRUE(dequant_supported(t.type)) << t.name;
    buf.resize(t.n_elements);
    dequantize_into(f, t, buf.data());
    double sum = 0, sumsq = 0;
    for (float v : buf) {
      ASSERT_TRUE(std::isfinite(v)) << t.name;
      sum += v;
      sumsq += double(v) * v;
    }
    const auto& g = sums.at(t.name);
    const double gsum = g[0].get<double>(), gsq = g[1].get<double>();
    // float64 accumulation of identical float32 values: only summation order differs.
    EXPECT_NEAR(sum, gsum, 1e-9 * std::max(1.0, std::sqrt(gsq * double(t.n_elements)))) << t.name;
    EXPECT_NEAR(sumsq, gsq, 1e-9 * std::max(1.0, gsq)) << t.name;
  }
}

// ================================================================ bad input

TEST(GgufBad, CommittedBadFilesGiveOneLineErrors) {
  const std::string dir = std::string(SINKLAB_TEST_DATA) + "/gguf";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_magic.gguf", "not a GGUF file"},
      {"bad_truncated_header.gguf", "truncated file"},
      {"bad_truncated_data.gguf", "truncated file: tensor 'w' data ends at byte"},
      {"bad_version1.gguf", "version 1 is not supported"},
      {"bad_bigendian.gguf", "big-endian"},
      {"bad_tensor_oob.gguf", "tensor 'w' data ends at byte"},
      {"bad_absurd_count.gguf", "absurd tensor count"},
      {"bad_absurd_dims.gguf", "absurd dimensions"},
      {"bad_too_many_dims.gguf", "5 dimensions"},
      {"bad_zero_dim.gguf", "zero dimension"},
      {"bad_unknown_type.gguf", "unknown tensor type 77"},
      {"bad_alignment.gguf", "not a power of two"},
      {"bad_overlap.gguf", "overlap"},
      {"bad_string_length.gguf", "has length"},
      {"bad_value_type.gguf", "unknown value type 99"},
  };
  for (const auto& [file, want] : cases) {
    std::string path = dir + "/" + file;
    std::string msg = error_of([&] { GgufFile f(path); });
    EXPECT_NE(msg.find(want), std::string::npos) << file << ": " << msg;
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_NE(error_of([] { GgufFile f("/nonexistent/m.gguf"); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([] { GgufFile f("/tmp"); }).find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of([] { GgufFile::from_memory("", 0, "e"); }).find("empty file"), std::string::npos);
}

// Inputs from the fuzzer (tests/data/gguf/crash-* for crashes found, fuzz-* for a
// sample of its corpus): replayed through the fuzz target's steps; each must parse
// or throw InputError, never crash (run under ASan in the fuzz build).
TEST(GgufBad, FuzzRegressions) {
  const std::string dir = std::string(SINKLAB_TEST_DATA) + "/gguf";
  int replayed = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string fname = e.path().filename().string();
    if (fname.rfind("crash-", 0) != 0 && fname.rfind("fuzz-", 0) != 0) continue;
    ++replayed;
    std::string bytes = read_file(e.path().string());
    try {
      GgufFile f = GgufFile::from_memory(bytes.data(), bytes.size(), e.path().string());
      std::vector<float> buf;
      for (const auto& t : f.tensors())
        if (dequant_supported(t.type)) buf.resize(t.n_elements), dequantize_into(f, t, buf.data());
      GgufSummary sum = summarize(f);
      (void)summary_to_text(sum, true);
      (void)summary_to_json(sum, true).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const InputError&) {
    }
  }
  EXPECT_GE(replayed, 1);
}

TEST(GgufBad, EveryTruncationIsAnInputError) {
  std::string bytes = read_file(std::string(SINKLAB_TEST_DATA) + "/gguf/ok_v3.gguf");
  { GgufFile ok = GgufFile::from_memory(bytes.data(), bytes.size()); EXPECT_GT(ok.tensors().size(), 10u); }
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<char> prefix(bytes.begin(), bytes.begin() + std::ptrdiff_t(len));  // exact-size copy
    EXPECT_THROW(GgufFile::from_memory(prefix.data(), len, "t.gguf"), InputError) << "length " << len;
  }
}

TEST(GgufBad, RandomCorruptionNeverEscapesInputError) {
  std::string bytes = read_file(std::string(SINKLAB_TEST_DATA) + "/gguf/ok_v2.gguf");
  std::mt19937 rng(1234);
  int parsed = 0;
  std::vector<float> buf;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string m = bytes;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      size_t at = rng() % m.size();
      if (rng() % 2) m[at] = static_cast<char>(rng());
      else m[at] ^= static_cast<char>(1u << (rng() % 8));
    }
    try {
      GgufFile f = GgufFile::from_memory(m.data(), m.size(), "c.gguf");
      for (const auto& t : f.tensors())
        if (dequant_supported(t.type)) buf.resize(t.n_elements), dequantize_into(f, t, buf.data());
      (void)summary_to_text(summarize(f), true);
      ++parsed;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  EXPECT_GT(parsed, 100);  // most flips land in tensor data and are harmless
}

TEST(GgufBad, AbsurdArrayAndNesting) {
  // An array claiming 2^40 strings in a tiny file.
  Builder b;
  b.kv("k", ValueType::ARRAY, Builder::array(ValueType::STRING, uint64_t(1) << 40, ""));
  std::string bytes = b.build();
  EXPECT_NE(error_of([&] { GgufFile::from_memory(bytes.data(), bytes.size(), "a.gguf"); }).find("cannot fit"),
            std::string::npos);
  // Arrays nested 100 deep.
  std::string inner = Builder::array(ValueType::UINT8, 0, "");
  for (int d = 0; d < 100; ++d) inner = Builder::array(ValueType::ARRAY, 1, inner);
  Builder n;
  n.kv("deep", ValueType::ARRAY, inner);
  std::string nb = n.build();
  EXPECT_NE(error_of([&] { GgufFile::from_memory(nb.data(), nb.size(), "d.gguf"); }).find("deeper than"),
            std::string::npos);
  // Duplicate keys and tensor names.
  Builder d;
  d.scalar<uint8_t>("k", ValueType::UINT8, 1);
  d.scalar<uint8_t>("k", ValueType::UINT8, 2);
  std::string db = d.build();
  EXPECT_NE(error_of([&] { GgufFile::from_memory(db.data(), db.size(), "k.gguf"); }).find("duplicate metadata key 'k'"),
            std::string::npos);
  Builder t;
  t.tensor("w", {4}, GgmlType::F32, std::string(16, '\0'));
  t.tensor("w", {4}, GgmlType::F32, std::string(16, '\0'));
  std::string tb = t.build();
  EXPECT_NE(error_of([&] { GgufFile::from_memory(tb.data(), tb.size(), "t.gguf"); }).find("duplicate tensor name"),
            std::string::npos);
  // Row length not a multiple of the block size; control characters kept on one line.
  Builder r;
  r.tensor("bad\nname", {33}, GgmlType::Q8_0, std::string(64, '\0'));
  std::string rb = r.build();
  std::string msg = error_of([&] { GgufFile::from_memory(rb.data(), rb.size(), "r.gguf"); });
  EXPECT_NE(msg.find("not a multiple of the block size 32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad\\x0aname"), std::string::npos) << msg;
  // Bad bool byte.
  Builder bb;
  bb.scalar<uint8_t>("flag", ValueType::BOOL, 7);
  std::string bbs = bb.build();
  EXPECT_THROW(GgufFile::from_memory(bbs.data(), bbs.size()), InputError);
}

TEST(GgufBad, OddNamesArePrintedSafely) {
  EXPECT_EQ(printable("a\nb\xff\xc3\xa9"), "a\\x0ab\\xff\xc3\xa9");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // UTF-16 surrogate: not UTF-8
  EXPECT_EQ(printable(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
  GgufFile f(std::string(SINKLAB_TEST_DATA) + "/gguf/odd_names.gguf");
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].name, "w\xfe\nx");  // the raw name is kept for lookups
  std::string text = summary_to_text(summarize(f), true);
  EXPECT_NE(text.find("w\\xfe\\x0ax"), std::string::npos) << text;
  EXPECT_NE(text.find("two\\x0alines\\xc3"), std::string::npos) << text;
  EXPECT_NO_THROW(summary_to_json(summarize(f), true).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

TEST(Gguf, CacheDirectoryFollowsEnvironment) {
  const char* old = std::getenv("SINKLAB_CACHE");
  std::string saved = old ? old : "";
  fs::path dir = fs::temp_directory_path() / "sinklab_gguf_cache_test";
  fs::create_directories(dir / "models");
  setenv("SINKLAB_CACHE", dir.c_str(), 1);
  EXPECT_EQ(sinklab_cache_dir(), dir.string());
  EXPECT_EQ(test_model_path(), "");
  fs::copy_file(std::string(SINKLAB_TEST_DATA) + "/gguf/ok_v3.gguf", dir / "models/SmolLM2-135M-Instruct.gguf",
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(test_model_path(), (dir / "models/SmolLM2-135M-Instruct.gguf").string());
  if (old) setenv("SINKLAB_CACHE", saved.c_str(), 1);
  else unsetenv("SINKLAB_CACHE");
  fs::remove_all(dir);
}
