// safetensors reader/writer: round trips, interop with Python (golden files and,
// when /usr/bin/python3 is there, a live check), and every kind of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "io/error.h"
#include "io/files.h"
#include "io/safetensors.h"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(SINKLAB_TEST_DATA) + "/safetensors";
const std::string kScript = std::string(SINKLAB_SOURCE_DIR) + "/tests/tools/safetensors_interop.py";

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sinklab_st_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// An in-memory file: 8-byte length + header (padded) + data.
std::vector<std::uint8_t> make_file(const std::string& header, const std::string& data = "", bool pad = true) {
  std::string h = header;
  if (pad)
    while ((8 + h.size()) % 8) h += ' ';
  std::string out(8, '\0');
  std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return bytes_of(out + h + data);
}

// Runs `fn`, expects an InputError whose one-line message contains every needle.
template <typename Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no InputError thrown; wanted: " << *needles.begin();
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "message is not one line: " << m;
    for (const auto& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "'" << n << "' not in: " << m;
  }
}

void expect_buffer_error(const std::vector<std::uint8_t>& buf, std::initializer_list<std::string> needles) {
  expect_error([&] { SafetensorsFile::from_buffer(buf, "mem.safetensors"); }, needles);
}

template <typename T>
std::vector<std::uint8_t> raw(const std::vector<T>& v) {
  std::vector<std::uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// ---- the reference tensors of tests/tools/safetensors_interop.py (keep in sync)
struct Ref {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

const std::vector<float> kRoundValues = {1.0f / 3.0f, 0.1f,     1e-5f,    70000.0f,   1e-8f,
                                         -2.5e-6f,    65519.0f, 65520.0f, 3.14159265f};

std::vector<Ref> reference_tensors() {
  auto lin = [](int n) {
    std::vector<double> v(n);
    for (int i = 0; i < n; ++i) v[i] = (i - 3) * 0.375;
    return v;
  };
  auto f32 = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  auto f16 = [](const std::vector<double>& v) {
    std::vector<std::uint16_t> o;
    for (double x : v) o.push_back(f32_to_f16(static_cast<float>(x)));
    return o;
  };
  auto bf16 = [](const std::vector<double>& v) {
    std::vector<std::uint16_t> o;
    for (double x : v) o.push_back(f32_to_bf16(static_cast<float>(x)));
    return o;
  };
  std::vector<Ref> r;
  r.push_back({"t_f64", DType::F64, {2, 3}, raw(lin(6))});
  r.push_back({"t_f32", DType::F32, {3, 4}, raw(f32(lin(12)))});
  r.push_back({"t_f16", DType::F16, {2, 5}, raw(f16(lin(10)))});
  r.push_back({"t_bf16", DType::BF16, {4, 2}, raw(bf16(lin(8)))});
  std::vector<std::int64_t> i64;
  for (int i = 0; i < 5; ++i) i64.push_back(i * (std::int64_t(1) << 33) - 7);
  r.push_back({"t_i64", DType::I64, {5}, raw(i64)});
  r.push_back({"t_i32", DType::I32, {2, 2}, raw(std::vector<std::int32_t>{-3, 99997, 199997, 299997})});
  r.push_back({"t_i16", DType::I16, {3}, raw(std::vector<std::int16_t>{-1500, -500, 500})});
  r.push_back({"t_i8", DType::I8, {2, 3}, raw(std::vector<std::int8_t>{-100, -60, -20, 20, 60, 100})});
  r.push_back({"t_u8", DType::U8, {4}, raw(std::vector<std::uint8_t>{0, 60, 120, 180})});
  r.push_back({"t_bool", DType::BOOL, {5}, raw(std::vector<std::uint8_t>{1, 0, 1, 0, 1})});
  r.push_back({"scalar", DType::F32, {}, raw(std::vector<float>{42.5f})});
  r.push_back({"empty", DType::F16, {0, 3}, {}});
  r.push_back({"t_f16_special",
               DType::F16,
               {6},
               raw(std::vector<std::uint16_t>{0x7c00, 0xfc00, 0x7bff, 0x0001, 0x8000, 0x0400})});
  std::vector<double> rv(kRoundValues.begin(), kRoundValues.end());
  r.push_back({"t_f16_round", DType::F16, {9}, raw(f16(rv))});
  r.push_back({"t_bf16_round", DType::BF16, {9}, raw(bf16(rv))});
  return r;
}

std::vector<TensorToWrite> to_write(const std::vector<Ref>& refs) {
  std::vector<TensorToWrite> w;
  for (const auto& r : refs) w.push_back({r.name, r.dtype, r.shape, r.bytes.data(), r.bytes.size()});
  return w;
}

void expect_reference(const SafetensorsFile& f) {
  auto refs = reference_tensors();
  ASSERT_EQ(f.size(), refs.size());
  for (const auto& r : refs) {
    SCOPED_TRACE(r.name);
    const TensorView* t = f.find(r.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, r.dtype);
    EXPECT_EQ(t->shape, r.shape);
    ASSERT_EQ(t->nbytes, r.bytes.size());
    EXPECT_TRUE(t->nbytes == 0 || std::memcmp(t->data, r.bytes.data(), t->nbytes) == 0);
  }
}

std::string python() {
  const char* p = std::getenv("SINKLAB_PYTHON");
  return p ? p : "/usr/bin/python3";
}

bool python_has_numpy() {
  if (!fs::exists(python())) return false;
  return std::system((python() + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

// ------------------------------------------------------------------ dtypes & halves

TEST(Safetensors, DTypeNamesAndSizes) {
  for (auto [t, n, s] : std::vector<std::tuple<DType, std::string, std::size_t>>{{DType::F64, "F64", 8},
                                                                                 {DType::F32, "F32", 4},
                                                                                 {DType::F16, "F16", 2},
                                                                                 {DType::BF16, "BF16", 2},
                                                                                 {DType::I64, "I64", 8},
                                                                                 {DType::I32, "I32", 4},
                                                                                 {DType::I16, "I16", 2},
                                                                                 {DType::I8, "I8", 1},
                                                                                 {DType::U8, "U8", 1},
                                                                                 {DType::BOOL, "BOOL", 1}}) {
    EXPECT_EQ(dtype_name(t), n);
    EXPECT_EQ(dtype_size(t), s);
    EXPECT_EQ(parse_dtype(n), t);
  }
  expect_error([] { parse_dtype("F8_E4M3", "x"); }, {"x: unsupported dtype 'F8_E4M3'", "BF16"});
  expect_error([] { parse_dtype("f32"); }, {"unsupported dtype 'f32'"});
}

TEST(Safetensors, HalfConversionsRoundTripEveryBitPattern) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(static_cast<std::uint16_t>(h));
    float b = bf16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(b))));
    } else {
      ASSERT_EQ(f32_to_bf16(b), h) << h;
    }
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // below the midpoint: largest finite
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // the midpoint rounds to even: infinity
  EXPECT_EQ(f32_to_f16(1e-8f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie -> even (up)
}

TEST(Safetensors, ToF32MatchesScalarConversionForEveryHalf) {
  std::vector<std::uint16_t> all(65536);
  for (std::uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<std::uint16_t>(h);
  for (DType t : {DType::F16, DType::BF16}) {
    TensorView v{"all", t, {65536}, reinterpret_cast<const std::uint8_t*>(all.data()), all.size() * 2};
    auto out = to_f32(v);
    for (std::uint32_t h = 0; h < 65536; ++h) {
      float want = t == DType::F16 ? f16_to_f32(all[h]) : bf16_to_f32(all[h]);
      ASSERT_EQ(std::memcmp(&out[h], &want, 4), 0) << dtype_name(t) << " " << h;
    }
  }
}

// ------------------------------------------------------------------ round trips

TEST(Safetensors, RoundTripEveryDtype) {
  std::mt19937_64 rng(7);
  std::vector<Ref> refs;
  const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                       DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
  int k = 0;
  for (DType t : all) {
    // Odd sizes so that a naive layout would misalign the wider types.
    std::vector<std::int64_t> shape{3, 5 + k};
    std::vector<std::uint8_t> b(15 * 0 + 3 * (5 + k) * dtype_size(t));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (t == DType::BOOL)
      for (auto& x : b) x &= 1;
    refs.push_back({std::string("x_") + dtype_name(t), t, shape, b});
    ++k;
  }
  refs.push_back({"scalar_i64", DType::I64, {}, raw(std::vector<std::int64_t>{-42})});
  refs.push_back({"zero", DType::F32, {4, 0, 2}, {}});
  std::map<std::string, std::string> meta{{"step", "100"}, {"note", "caf\xc3\xa9 \"quoted\""}};
  auto dir = scratch("roundtrip");
  const std::string path = (dir / "sub" / "ck.safetensors").string();
  write_safetensors(path, to_write(refs), meta);

  // Atomic: only the target file in the directory.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir / "sub")) (void)e, ++files;
  EXPECT_EQ(files, 1);

  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.size(), refs.size());
  EXPECT_EQ((8 + f.header_size()) % 8, 0u);
  for (const auto& r : refs) {
    SCOPED_TRACE(r.name);
    const auto& t = f.get(r.name);
    EXPECT_EQ(t.dtype, r.dtype);
    EXPECT_EQ(t.shape, r.shape);
    ASSERT_EQ(t.nbytes, r.bytes.size());
    EXPECT_EQ(t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype)), static_cast<std::int64_t>(t.nbytes));
    EXPECT_TRUE(t.nbytes == 0 || std::memcmp(t.data, r.bytes.data(), t.nbytes) == 0);
    // Written by sinklab: aligned to the element size.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data) % dtype_size(t.dtype), 0u);
  }
  auto names = f.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  // Same bytes in memory, and parseable from a buffer.
  auto mem = serialize_safetensors(to_write(refs), meta);
  std::string disk = read_file(path);
  EXPECT_EQ(std::string(mem.begin(), mem.end()), disk);
  auto fb = SafetensorsFile::from_buffer(mem, "mem");
  EXPECT_EQ(fb.size(), refs.size());
  EXPECT_EQ(f.file_size(), disk.size());
  fs::remove_all(dir);
}

TEST(Safetensors, ToF32ConvertsEveryDtype) {
  auto mem = serialize_safetensors(to_write(reference_tensors()));
  auto f = SafetensorsFile::from_buffer(mem);
  auto lin = [](std::size_t i) { return static_cast<float>((static_cast<double>(i) - 3) * 0.375); };
  for (const char* n : {"t_f64", "t_f32", "t_f16", "t_bf16"}) {
    auto v = to_f32(f.get(n));
    ASSERT_EQ(static_cast<std::int64_t>(v.size()), f.get(n).numel());
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], lin(i)) << n << " " << i;
  }
  EXPECT_EQ(to_f32(f.get("t_i64")),
            (std::vector<float>{-7.0f, 8589934585.0f, 17179869177.0f, 25769803769.0f, 34359738361.0f}));
  EXPECT_EQ(to_f32(f.get("t_i8")), (std::vector<float>{-100, -60, -20, 20, 60, 100}));
  EXPECT_EQ(to_f32(f.get("t_u8")), (std::vector<float>{0, 60, 120, 180}));
  EXPECT_EQ(to_f32(f.get("t_bool")), (std::vector<float>{1, 0, 1, 0, 1}));
  EXPECT_EQ(to_f32(f.get("scalar")), (std::vector<float>{42.5f}));
  EXPECT_TRUE(to_f32(f.get("empty")).empty());
  auto sp = to_f32(f.get("t_f16_special"));
  EXPECT_EQ(sp[0], INFINITY);
  EXPECT_EQ(sp[1], -INFINITY);
  EXPECT_EQ(sp[2], 65504.0f);
  EXPECT_EQ(sp[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(sp[4] == 0.0f && std::signbit(sp[4]));
  EXPECT_EQ(sp[5], std::ldexp(1.0f, -14));
  std::vector<float> buf(3);
  expect_error([&] { to_f32(f.get("t_u8"), buf.data(), buf.size()); }, {"t_u8", "cannot convert"});
}

TEST(Safetensors, ViewsSurviveMoves) {
  auto mem = serialize_safetensors(to_write(reference_tensors()));
  auto a = SafetensorsFile::from_buffer(mem);
  const TensorView* t = a.find("t_f32");
  const std::uint8_t* p = t->data;
  SafetensorsFile b = std::move(a);
  EXPECT_EQ(b.find("t_f32")->data, p);
  EXPECT_EQ(to_f32(*b.find("t_f32"))[4], 0.375f);
}

// ------------------------------------------------------------------ interop with Python

TEST(Safetensors, ReadsGoldenFilesWrittenByPython) {
  // golden-library: written by the safetensors library 0.8.0 (safetensors.torch);
  // golden-plain: written by the plain-Python writer of the interop script.
  for (const char* name : {"golden-library.safetensors", "golden-plain.safetensors"}) {
    SCOPED_TRACE(name);
    SafetensorsFile f(kData + "/" + name);
    expect_reference(f);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    // Conversions rounded by numpy (F16) and numpy/torch (BF16) match ours bit for bit.
    const auto& r16 = f.get("t_f16_round");
    const auto& rb = f.get("t_bf16_round");
    for (std::size_t i = 0; i < kRoundValues.size(); ++i) {
      std::uint16_t h, b;
      std::memcpy(&h, r16.data + 2 * i, 2);
      std::memcpy(&b, rb.data + 2 * i, 2);
      EXPECT_EQ(h, f32_to_f16(kRoundValues[i])) << kRoundValues[i];
      EXPECT_EQ(b, f32_to_bf16(kRoundValues[i])) << kRoundValues[i];
    }
  }
}

TEST(Safetensors, LivePythonInterop) {
  if (!python_has_numpy()) GTEST_SKIP() << python() << " with numpy not available";
  auto dir = scratch("interop");
  // (a) Python checks a file written by sinklab.
  const std::string ours = (dir / "sinklab.safetensors").string();
  write_safetensors(ours, to_write(reference_tensors()), {{"format", "pt"}});
  std::string cmd = python() + " " + kScript + " check " + ours + " >" + (dir / "check.log").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << read_file((dir / "check.log").string());
  // (b) sinklab reads a file written by Python.
  const std::string theirs = (dir / "python.safetensors").string();
  cmd = python() + " " + kScript + " write " + theirs + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  expect_reference(SafetensorsFile(theirs));
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ bad input

TEST(Safetensors, BadFilesFromTheGenerator) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", "run past the end of the data section"},
      {"tiny", "truncated: 3 bytes"},
      {"header-beyond-file", "header length 4096 runs past the end of the file"},
      {"header-oversized", "exceeds the limit of 100000000 bytes"},
      {"malformed-json", "malformed JSON header"},
      {"not-object", "header is not a JSON object"},
      {"dtype", "tensor 'w': unsupported dtype 'F8_E4M3'"},
      {"shape-mismatch", "tensor 'w': data_offsets [0, 20] hold 20 bytes, but F32 [2,3] needs 24 bytes"},
      {"offsets-out-of-bounds", "tensor 'w': data_offsets [16, 40] run past the end of the data section"},
      {"offsets-reversed", "end before they begin"},
      {"overlap", "tensor 'b': data [12, 36) overlaps tensor 'a' [0, 24)"},
      {"duplicate", "duplicate key 'w'"},
      {"negative-dim", "tensor 'w': negative dimension -2"},
      {"shape-overflow", "tensor 'w': shape has too many elements"},
      {"metadata", "__metadata__ value of 'step' is not a string"},
      {"deep-nesting", "header JSON is nested too deeply"},
      {"nul-in-header", "header holds a NUL byte at offset 73 followed by more text"},
  };
  for (const auto& [name, msg] : cases) {
    SCOPED_TRACE(name);
    const std::string path = kData + "/bad-" + name + ".safetensors";
    ASSERT_TRUE(fs::exists(path));
    expect_error([&] { SafetensorsFile f(path); }, {"bad-" + name + ".safetensors'", msg});
  }
}

TEST(Safetensors, BadHeadersInMemory) {
  const std::string w24 = R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  const std::string d24(24, '\0');
  expect_buffer_error({}, {"'mem.safetensors': truncated: 0 bytes"});
  expect_buffer_error(make_file("", "", false), {"header is not a JSON object"});
  expect_buffer_error(make_file("   "), {"header is not a JSON object"});
  expect_buffer_error(make_file("{}x"), {"malformed JSON"});
  expect_buffer_error(make_file(R"({"w":[1]})"), {"tensor 'w': entry is not a JSON object"});
  expect_buffer_error(make_file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd"), {"missing \"dtype\""});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"), {"missing \"shape\""});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":[1]}})", "abcd"), {"missing \"data_offsets\""});
  expect_buffer_error(make_file(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                      {"\"dtype\" is not a string"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", "abcd"),
                      {"\"shape\" is not an array"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", "abcd"),
                      {"shape entry 0 is not a non-negative integer"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "abcd"),
                      {"is not an array [begin, end]"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", "abcd"),
                      {"are not non-negative integers"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":[]})", "abcd"),
                      {"__metadata__ is not a JSON object"});
  // Duplicate keys inside an entry, and nesting deeper than any header needs.
  expect_buffer_error(make_file(R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                      {"duplicate key 'dtype' inside an entry"});
  expect_buffer_error(make_file("{\"w\":" + std::string(5000, '[') + std::string(5000, ']') + "}"),
                      {"nested too deeply"});
  // Invalid UTF-8 in a name.
  expect_buffer_error(make_file("{\"\xff\":1}"), {"malformed JSON"});
  // Control characters and huge names are escaped/shortened: the message stays one line.
  expect_buffer_error(make_file("{\"a\\nb" + std::string(1000, 'x') +
                                "\":{\"dtype\":\"Q\",\"shape\":[],"
                                "\"data_offsets\":[0,0]}}"),
                      {"tensor 'a\\x0abxxx", "bytes)'", "unsupported dtype 'Q'"});
  // Header length field right at the limit of the file.
  {
    auto b = make_file("{" + w24 + "}", d24);
    b[0] = static_cast<std::uint8_t>(b[0] + d24.size() + 1);
    expect_buffer_error(b, {"runs past the end of the file"});
  }
  // Huge dimension that does not overflow alone but makes the byte count overflow.
  expect_buffer_error(make_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                      {"shape has too many elements"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"F64","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
                      {"dimension 18446744073709551615 is too large"});
  // Unknown dtypes that the real format has but sinklab does not read.
  for (const char* dt : {"F8_E5M2", "U16", "U32", "U64", "C64", ""})
    expect_buffer_error(
        make_file(std::string(R"({"w":{"dtype":")") + dt + R"(","shape":[1],"data_offsets":[0,1]}})", "a"),
        {"unsupported dtype"});
}

TEST(Safetensors, TolerantWhereTheFormatAllows) {
  // Zero dims with huge others: 0 elements, no overflow; empty tensors never overlap.
  auto f = SafetensorsFile::from_buffer(
      make_file(R"({"z":{"dtype":"F32","shape":[4611686018427387904,8,0],"data_offsets":[2,2]},)"
                R"("w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"__metadata__":{}})",
                "abcd"));
  EXPECT_EQ(f.get("z").numel(), 0);
  EXPECT_EQ(f.get("z").nbytes, 0u);
  EXPECT_TRUE(to_f32(f.get("z")).empty());
  EXPECT_TRUE(f.metadata().empty());
  // Unknown per-tensor keys are ignored.
  auto g = SafetensorsFile::from_buffer(
      make_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":1}})", "ab"));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(g.get("w").data), 2), "ab");
  // The specification: the data section is entirely indexed, without holes (no bytes
  // before, between or after the tensors that no tensor owns).
  expect_buffer_error(make_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", "xxab"),
                      {"bytes [0, 2) of the data section belong to no tensor (before 'w')"});
  expect_buffer_error(make_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "abyy"),
                      {"bytes [2, 4) at the end of the data section belong to no tensor"});
  expect_buffer_error(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
                                "a_b"),
                      {"bytes [1, 2) of the data section belong to no tensor (before 'b')"});
  // Empty file: header "{}" and no tensors.
  EXPECT_EQ(SafetensorsFile::from_buffer(make_file("{}")).size(), 0u);
  expect_error([&] { g.get("nope"); }, {"no tensor named 'nope'"});
}

TEST(Safetensors, OpenErrors) {
  auto dir = scratch("open");
  expect_error([&] { SafetensorsFile f((dir / "missing.safetensors").string()); },
               {"cannot read", "missing.safetensors", "No such file"});
  expect_error([&] { SafetensorsFile f(dir.string()); }, {"is a directory"});
  write_file_atomic((dir / "empty.safetensors").string(), std::string());
  expect_error([&] { SafetensorsFile f((dir / "empty.safetensors").string()); }, {"truncated: 0 bytes"});
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRejectsBadTensors) {
  float x[6] = {};
  auto dir = scratch("writer");
  const std::string p = (dir / "w.safetensors").string();
  expect_error(
      [&] {
        write_safetensors(p, {{"a", DType::F32, {2, 3}, x, 24}, {"a", DType::F32, {6}, x, 24}});
      },
      {"tensor 'a': duplicate tensor name"});
  expect_error(
      [&] {
        write_safetensors(p, {{"a", DType::F32, {2, 3}, x, 20}});
      },
      {"20 bytes given, but F32 [2,3] needs 24 bytes"});
  expect_error([&] { write_safetensors(p, {{"a", DType::F32, {-2, -3}, x, 24}}); }, {"negative dimension -2"});
  expect_error([&] { write_safetensors(p, {{"__metadata__", DType::F32, {6}, x, 24}}); }, {"reserved"});
  expect_error([&] { write_safetensors(p, {{"", DType::F32, {6}, x, 24}}); }, {"empty name"});
  expect_error([&] { write_safetensors(p, {{"a", DType::F32, {6}, nullptr, 24}}); }, {"no data"});
  expect_error([&] { write_safetensors(p, {{"\xff", DType::F32, {6}, x, 24}}); }, {"not valid UTF-8"});
  EXPECT_FALSE(fs::exists(p));  // nothing half-written
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ sharded models

namespace {
void write_text(const fs::path& p, const std::string& s) { write_file_atomic(p.string(), s); }
}  // namespace

TEST(Safetensors, ShardedIndex) {
  auto dir = scratch("sharded");
  std::vector<float> a(6, 1.5f), b(4, -2.0f), c(2, 3.0f);
  write_safetensors((dir / "model-00001-of-00002.safetensors").string(),
                    {{"embed.weight", DType::F32, {2, 3}, a.data(), 24}, {"unused", DType::F32, {2}, c.data(), 8}});
  write_safetensors((dir / "model-00002-of-00002.safetensors").string(),
                    {{"head.weight", DType::F32, {4}, b.data(), 16}, {"head.bias", DType::F32, {2}, c.data(), 8}});
  write_text(dir / "model.safetensors.index.json",
             R"({"metadata":{"total_size":48},"weight_map":{"embed.weight":"model-00001-of-00002.safetensors",)"
             R"("head.weight":"model-00002-of-00002.safetensors","head.bias":"model-00002-of-00002.safetensors"}})");
  for (const std::string& p : {dir.string(), (dir / "model.safetensors.index.json").string()}) {
    ShardedSafetensors m(p);
    EXPECT_EQ(m.num_shards(), 2u);
    EXPECT_EQ(m.names(), (std::vector<std::string>{"embed.weight", "head.bias", "head.weight"}));
    EXPECT_EQ(to_f32(m.get("embed.weight")), a);
    EXPECT_EQ(to_f32(m.get("head.weight")), b);
    EXPECT_FALSE(m.contains("unused"));  // only what the weight map lists
    expect_error([&] { m.get("x"); }, {"no tensor named 'x'"});
  }
  // A single-file model directory and a bare file.
  auto single = scratch("single");
  write_safetensors((single / "model.safetensors").string(), {{"w", DType::F32, {4}, b.data(), 16}});
  EXPECT_EQ(ShardedSafetensors(single.string()).names(), std::vector<std::string>{"w"});
  EXPECT_EQ(ShardedSafetensors((single / "model.safetensors").string()).size(), 1u);
  fs::remove_all(single);

  auto idx = dir / "bad.index.json";
  write_text(idx, R"({"weight_map":{"x":"model-00003-of-00003.safetensors"}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); },
               {"bad.index.json': tensor 'x': shard 'model-00003-of-00003.safetensors' not found"});
  write_text(idx, R"({"weight_map":{"head.weight":"model-00001-of-00002.safetensors"}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"tensor 'head.weight' is mapped to shard",
                                                             "model-00001-of-00002.safetensors', which does not "
                                                             "contain it"});
  write_text(idx, R"({"weight_map":{"x":"../../etc/passwd"}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"is not a file name inside the model directory"});
  write_text(idx, R"({"weight_map":{"x":"/etc/passwd"}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"is not a file name inside the model directory"});
  write_text(idx, R"({"weight_map":{"x":3}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"shard file name is not a string"});
  write_text(idx, R"({"metadata":{}})");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"missing \"weight_map\""});
  write_text(idx, R"({"weight_map":)");
  expect_error([&] { ShardedSafetensors m(idx.string()); }, {"malformed JSON"});
  // A corrupt shard names the shard file.
  write_text(dir / "model-00002-of-00002.safetensors", "garbage");
  expect_error([&] { ShardedSafetensors m(dir.string()); }, {"model-00002-of-00002.safetensors'", "truncated"});
  auto empty = scratch("emptydir");
  expect_error([&] { ShardedSafetensors m(empty.string()); }, {"has neither model.safetensors.index.json"});
  fs::remove_all(empty);
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ fuzz regressions

namespace {
// What fuzz/fuzz_safetensors.cpp does with an input; returns "" if it parsed.
std::string replay_like_the_fuzzer(const std::string& path) {
  std::string bytes = read_file(path);
  try {
    auto f = SafetensorsFile::from_buffer(bytes_of(bytes), path);
    std::vector<TensorToWrite> out;
    for (const auto& t : f.tensors()) {
      EXPECT_EQ(static_cast<std::int64_t>(to_f32(t).size()), t.numel());
      out.push_back({t.name, t.dtype, t.shape, t.data, t.nbytes});
    }
    auto g = SafetensorsFile::from_buffer(serialize_safetensors(out, f.metadata()));
    EXPECT_EQ(g.names(), f.names());
    return "";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
}
}  // namespace

TEST(Safetensors, FuzzRegressions) {
  // Inputs kept from the fuzzer's corpus (docs/fuzzing.md); the first two showed that
  // nlohmann-json treats a NUL byte as the end of input, letting junk after it through.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fuzz-nul-in-header", "header holds a NUL byte at offset 15 followed by more text"},
      {"fuzz-nul-padded-header", "at the end of the data section belong to no tensor"},  // trailing bytes: a hole
      {"fuzz-deep-nesting", "NUL byte at offset 93"},
      {"fuzz-number-overflow", "malformed JSON header (number overflow"},
      {"fuzz-duplicate-inside-entry", "duplicate key 'sRape' inside an entry"},
      {"fuzz-dimension-too-large", "dimension 9223372036854775808 is too large"},
      {"fuzz-minus-zero-dim", "negative dimension -3"},
  };
  for (const auto& [name, want] : cases) {
    SCOPED_TRACE(name);
    std::string got = replay_like_the_fuzzer(kData + "/" + name + ".safetensors");
    if (want.empty())
      EXPECT_EQ(got, "");
    else
      EXPECT_NE(got.find(want), std::string::npos) << got;
  }
  // Every committed input (golden, bad-*, fuzz-*) goes through the fuzzer's path cleanly.
  int n = 0;
  for (const auto& e : fs::directory_iterator(kData))
    if (e.path().extension() == ".safetensors") replay_like_the_fuzzer(e.path().string()), ++n;
  EXPECT_GE(n, 26);  // 2 golden + 17 bad + 7 fuzz
}

TEST(Safetensors, NulBytesInHeader) {
  const std::string w = R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  // Trailing NUL padding: tolerated.
  auto f = SafetensorsFile::from_buffer(make_file(w + std::string(3, '\0'), "ab", false));
  EXPECT_EQ(f.get("w").nbytes, 2u);
  // A NUL followed by anything else: rejected, even if the JSON before it is complete.
  expect_buffer_error(make_file(w + std::string(1, '\0') + "}", "ab", false), {"NUL byte at offset 61"});
  expect_buffer_error(make_file(std::string("{\"w\0\":1}", 8), "", true), {"NUL byte at offset 11"});
}

TEST(Safetensors, ManyTensorsParseInLinearTime) {
  // 20000 entries: the header check must not rescan the object per entry
  // (nlohmann's callback parser does, which took seconds here); see bench_safetensors.
  std::vector<std::uint8_t> data(20000);
  std::vector<TensorToWrite> ts;
  for (int i = 0; i < 20000; ++i) ts.push_back({"t" + std::to_string(i), DType::U8, {1}, &data[i], 1});
  auto f = SafetensorsFile::from_buffer(serialize_safetensors(ts));
  EXPECT_EQ(f.size(), 20000u);
  EXPECT_EQ(f.get("t19999").nbytes, 1u);
}
