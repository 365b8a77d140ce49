#include "io/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <unordered_map>

#include "io/error.h"
#include "io/files.h"
#include "io/json_io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp assumes a little-endian host"
#endif

namespace fs = std::filesystem;

namespace sinklab {

// ------------------------------------------------------------------ dtypes

namespace {

struct DTypeInfo {
  DType t;
  const char* name;
  std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

// Makes any string safe for a one-line message: control characters escaped,
// very long strings shortened.
std::string printable(const std::string& s, std::size_t max_len = 120) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max_len) {
      out += fmt::format("...({} bytes)", s.size());
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string quoted_file(const std::string& path) { return "'" + printable(path, 400) + "'"; }

}  // namespace

const char* dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.name;
  return "?";
}

std::size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.size;
  return 0;
}

bool dtype_is_float(DType t) { return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16; }

DType parse_dtype(const std::string& s, const std::string& context) {
  for (const auto& d : kDTypes)
    if (s == d.name) return d.t;
  fail((context.empty() ? std::string() : context + ": ") + "unsupported dtype '" + printable(s, 40) +
       "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

// ------------------------------------------------------------------ half precision

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1u;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal, exact
    return sign ? -f : f;
  }
  std::uint32_t bits;
  if (exp == 31)
    bits = (sign << 31) | 0x7f800000u | (mant << 13);  // inf or NaN (payload kept)
  else
    bits = (sign << 31) | ((exp - 15 + 127) << 23) | (mant << 13);
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_f32(std::uint16_t h) {
  std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t f32_to_f16(float v) {
  std::uint32_t x;
  std::memcpy(&x, &v, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf / NaN
    if (a == 0x7f800000u) return sign | 0x7c00u;
    return sign | 0x7e00u | static_cast<std::uint16_t>((a >> 13) & 0x3ffu);
  }
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65536: infinity
  if (a < 0x38800000u) {                        // below the smallest normal half: subnormal / zero
    float fa;
    std::memcpy(&fa, &a, 4);
    // Exact scaling by 2^24, then round to nearest even (default FP environment).
    return sign | static_cast<std::uint16_t>(std::nearbyint(fa * 16777216.0f));
  }
  std::uint32_t base = (a - ((127u - 15u) << 23)) >> 13;
  const std::uint32_t low = a & 0x1fffu;
  if (low > 0x1000u || (low == 0x1000u && (base & 1u))) ++base;  // carry may bump the exponent
  return sign | static_cast<std::uint16_t>(base);
}

std::uint16_t f32_to_bf16(float v) {
  std::uint32_t x;
  std::memcpy(&x, &v, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  const std::uint32_t bias = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>((x + bias) >> 16);
}

// ------------------------------------------------------------------ views

std::int64_t TensorView::numel() const {
  for (auto d : shape)
    if (d == 0) return 0;
  std::int64_t n = 1;
  for (auto d : shape) n *= d;  // validated at parse/write time not to overflow
  return n;
}

namespace {
template <typename T>
void convert_elements(const std::uint8_t* src, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}
}  // namespace

void to_f32(const TensorView& v, float* out, std::size_t n) {
  const std::size_t es = dtype_size(v.dtype);
  if (es == 0 || v.nbytes != n * es || (v.nbytes != 0 && v.data == nullptr))
    fail(fmt::format("tensor '{}': cannot convert {} bytes of {} into {} floats", printable(v.name), v.nbytes,
                     dtype_name(v.dtype), n));
  const std::uint8_t* p = v.data;
  switch (v.dtype) {
    case DType::F32:
      if (n) std::memcpy(out, p, n * 4);
      break;
    case DType::F64:
      convert_elements<double>(p, out, n);
      break;
    case DType::F16: {
      // A 256 KB table of all 65536 halves: 2-3x faster than the branchy conversion.
      static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (std::uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32(static_cast<std::uint16_t>(h));
        return t;
      }();
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = table[h];
      }
      break;
    }
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      break;
    case DType::I64:
      convert_elements<std::int64_t>(p, out, n);
      break;
    case DType::I32:
      convert_elements<std::int32_t>(p, out, n);
      break;
    case DType::I16:
      convert_elements<std::int16_t>(p, out, n);
      break;
    case DType::I8:
      convert_elements<std::int8_t>(p, out, n);
      break;
    case DType::U8:
      convert_elements<std::uint8_t>(p, out, n);
      break;
    case DType::BOOL:
      for (std::size_t i = 0; i < n; ++i) out[i] = p[i] ? 1.0f : 0.0f;
      break;
  }
}

std::vector<float> to_f32(const TensorView& v) {
  const std::size_t es = dtype_size(v.dtype);
  require(es != 0, fmt::format("tensor '{}': unknown dtype", printable(v.name)));
  std::vector<float> out(v.nbytes / es);
  to_f32(v, out.data(), out.size());
  return out;
}

// ------------------------------------------------------------------ reader

struct SafetensorsFile::Impl {
  std::string path;
  const std::uint8_t* base = nullptr;
  std::size_t size = 0;
  void* mapping = nullptr;           // mmap'ed region (owned) or nullptr
  std::vector<std::uint8_t> buffer;  // owned bytes for from_buffer
  std::uint64_t header_size = 0;
  std::vector<TensorView> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;

  ~Impl() {
    if (mapping) ::munmap(mapping, size);
  }
  void parse();
};

namespace {

// Thrown from the JSON parser callback (duplicate keys, excessive nesting).
struct HeaderShapeError {
  std::string message;
};

// First pass over the header: rejects duplicate keys at any level and nesting deeper
// than a safetensors header can legitimately be, without building anything. (nlohmann's
// parser callback would do this in one pass, but its DOM builder rescans the parent
// object after every child, which is quadratic in the number of tensors.)
class HeaderChecker final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    enter();
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.empty() && !keys_.back().insert(k).second)
      throw HeaderShapeError{"duplicate key '" + printable(k) + "'" + (keys_.size() > 1 ? " inside an entry" : "")};
    return true;
  }
  bool end_object() override {
    if (!keys_.empty()) keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    enter();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  // Syntax errors: stop here; the DOM parse that follows reports them with position.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  void enter() {
    if (++depth_ > 9) throw HeaderShapeError{"header JSON is nested too deeply"};
  }
  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

nlohmann::json parse_header_json(const char* begin, const char* end) {
  HeaderChecker checker;
  nlohmann::json::sax_parse(begin, end, &checker);
  return nlohmann::json::parse(begin, end);
}

// Reads a non-negative JSON integer; returns false if it is not one.
bool json_uint(const nlohmann::json& j, std::uint64_t& out, bool& negative) {
  negative = false;
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    std::int64_t v = j.get<std::int64_t>();
    if (v < 0) {
      negative = true;
      return false;
    }
    out = static_cast<std::uint64_t>(v);
    return true;
  }
  return false;
}

}  // namespace

void SafetensorsFile::Impl::parse() {
  const std::string file = quoted_file(path);
  if (size < 8)
    fail(
        fmt::format("{}: truncated: {} bytes, but a safetensors file starts with an 8-byte header length", file, size));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base[i];
  if (n > kMaxSafetensorsHeaderBytes)
    fail(fmt::format("{}: header length {} exceeds the limit of {} bytes (corrupt or not a safetensors file)", file, n,
                     kMaxSafetensorsHeaderBytes));
  if (n > size - 8)
    fail(
        fmt::format("{}: header length {} runs past the end of the file ({} bytes): truncated or not a "
                    "safetensors file",
                    file, n, size));
  header_size = n;
  const char* hb = reinterpret_cast<const char*>(base + 8);
  const char* he = hb + n;
  {
    const char* p = hb;
    while (p < he && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
    if (p == he || *p != '{') fail(file + ": header is not a JSON object (not a safetensors file?)");
  }
  // nlohmann-json stops at a NUL byte as if the input ended there, which would let
  // the bytes after it pass unchecked (found by fuzzing). A NUL is never part of JSON
  // text; trailing NUL padding (written by some third-party tools, rejected by the
  // reference library) is tolerated, anything after a NUL that is not NUL is not.
  if (const void* nul = std::memchr(hb, 0, n)) {
    const char* z = static_cast<const char*>(nul);
    for (const char* q = z; q < he; ++q)
      if (*q != 0)
        fail(fmt::format("{}: header holds a NUL byte at offset {} followed by more text (not valid JSON)", file,
                         8 + (z - hb)));
    he = z;
  }
  nlohmann::json root;
  try {
    root = parse_header_json(hb, he);
  } catch (const HeaderShapeError& e) {
    fail(file + ": " + e.message);
  } catch (const nlohmann::json::exception& e) {
    std::string m = e.what();
    auto p = m.find("] ");
    fail(file + ": malformed JSON header (" + printable(p == std::string::npos ? m : m.substr(p + 2), 200) + ")");
  }
  if (!(root.is_object())) fail(file + ": header is not a JSON object");

  const std::uint64_t data_size = size - 8 - n;
  const std::uint8_t* data = base + 8 + n;
  tensors.reserve(root.size());
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& e = it.value();
    if (name == "__metadata__") {
      if (!(e.is_object())) fail(file + ": __metadata__ is not a JSON object");
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!(m.value().is_string()))
          fail(file + ": __metadata__ value of '" + printable(m.key()) + "' is not a string");
        metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    const std::string where = file + ": tensor '" + printable(name) + "'";
    if (!(e.is_object())) fail(where + ": entry is not a JSON object");
    auto dt = e.find("dtype");
    auto sh = e.find("shape");
    auto off = e.find("data_offsets");
    if (!(dt != e.end())) fail(where + ": missing \"dtype\"");
    if (!(sh != e.end())) fail(where + ": missing \"shape\"");
    if (!(off != e.end())) fail(where + ": missing \"data_offsets\"");
    if (!(dt->is_string())) fail(where + ": \"dtype\" is not a string");
    TensorView v;
    v.name = name;
    v.dtype = parse_dtype(dt->get<std::string>(), where);
    if (!(sh->is_array())) fail(where + ": \"shape\" is not an array");
    std::uint64_t numel = 1;
    bool overflow = false;
    for (std::size_t k = 0; k < sh->size(); ++k) {
      std::uint64_t d = 0;
      bool neg = false;
      if (!json_uint((*sh)[k], d, neg)) {
        if (neg) fail(fmt::format("{}: negative dimension {} in shape", where, (*sh)[k].get<std::int64_t>()));
        fail(fmt::format("{}: shape entry {} is not a non-negative integer", where, k));
      }
      if (!(d <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
        fail(fmt::format("{}: dimension {} is too large", where, d));
      v.shape.push_back(static_cast<std::int64_t>(d));
      if (!overflow && __builtin_mul_overflow(numel, d, &numel)) overflow = true;
    }
    // A zero dimension makes the product 0 even if other dims are huge.
    bool has_zero = std::find(v.shape.begin(), v.shape.end(), 0) != v.shape.end();
    if (has_zero) {
      numel = 0;
      overflow = false;
    }
    std::uint64_t nbytes = 0;
    if (overflow || numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(v.dtype)), &nbytes))
      fail(where + ": shape has too many elements (size overflows)");
    if (!(off->is_array() && off->size() == 2)) fail(where + ": \"data_offsets\" is not an array [begin, end]");
    std::uint64_t b = 0, en = 0;
    bool neg = false;
    if (!(json_uint((*off)[0], b, neg) && json_uint((*off)[1], en, neg)))
      fail(where + ": \"data_offsets\" are not non-negative integers");
    if (!(b <= en)) fail(fmt::format("{}: data_offsets [{}, {}] end before they begin", where, b, en));
    if (!(en - b == nbytes))
      fail(fmt::format("{}: data_offsets [{}, {}] hold {} bytes, but {} {} needs {} bytes", where, b, en, en - b,
                       dtype_name(v.dtype), nlohmann::json(v.shape).dump(), nbytes));
    if (!(en <= data_size))
      fail(
          fmt::format("{}: data_offsets [{}, {}] run past the end of the data section ({} bytes): truncated "
                      "or corrupt file",
                      where, b, en, data_size));
    v.data = data + b;
    v.nbytes = static_cast<std::size_t>(nbytes);
    tensors.push_back(std::move(v));
  }
  // nlohmann's object is a std::map: names are already sorted; keep it explicit.
  std::sort(tensors.begin(), tensors.end(), [](const TensorView& a, const TensorView& b) { return a.name < b.name; });

  // Overlaps: sort the non-empty ranges by start.
  std::vector<const TensorView*> by_off;
  for (const auto& t : tensors)
    if (t.nbytes) by_off.push_back(&t);
  std::sort(by_off.begin(), by_off.end(), [](const TensorView* a, const TensorView* b) {
    return a->data != b->data ? a->data < b->data : a->name < b->name;
  });
  for (std::size_t i = 1; i < by_off.size(); ++i) {
    const TensorView* a = by_off[i - 1];
    const TensorView* b = by_off[i];
    if (a->data + a->nbytes > b->data)
      fail(fmt::format("{}: tensor '{}': data [{}, {}) overlaps tensor '{}' [{}, {})", file, printable(b->name),
                       b->data - data, b->data - data + b->nbytes, printable(a->name), a->data - data,
                       a->data - data + a->nbytes));
  }
  // The specification: the tensors fill the data section, with no byte between or after
  // them that no tensor owns.
  std::uint64_t at = 0;
  for (const TensorView* t : by_off) {
    const auto b = static_cast<std::uint64_t>(t->data - data);
    if (b != at)
      fail(fmt::format("{}: bytes [{}, {}) of the data section belong to no tensor (before '{}'): not a valid "
                       "safetensors file",
                       file, at, b, printable(t->name)));
    at = b + t->nbytes;
  }
  if (at != data_size)
    fail(fmt::format("{}: bytes [{}, {}) at the end of the data section belong to no tensor: not a valid "
                     "safetensors file",
                     file, at, data_size));
}

SafetensorsFile::SafetensorsFile() : impl_(std::make_unique<Impl>()) {}

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const std::string file = quoted_file(path);
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("cannot read " + file + ": is a directory");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read " + file + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail("cannot read " + file + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("cannot read " + file + ": not a regular file");
  }
  impl_->size = static_cast<std::size_t>(st.st_size);
  if (impl_->size > 0) {
    void* p = ::mmap(nullptr, impl_->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail("cannot map " + file + ": " + std::strerror(err));
    }
    impl_->mapping = p;
    impl_->base = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);
  impl_->parse();
}

SafetensorsFile SafetensorsFile::from_buffer(std::vector<std::uint8_t> bytes, const std::string& name) {
  SafetensorsFile f;
  f.impl_->path = name;
  f.impl_->buffer = std::move(bytes);
  f.impl_->base = f.impl_->buffer.data();
  f.impl_->size = f.impl_->buffer.size();
  f.impl_->parse();
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
std::size_t SafetensorsFile::size() const { return impl_->tensors.size(); }
std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->tensors.size());
  for (const auto& t : impl_->tensors) out.push_back(t.name);
  return out;
}
const std::vector<TensorView>& SafetensorsFile::tensors() const { return impl_->tensors; }
const TensorView* SafetensorsFile::find(const std::string& name) const {
  const auto& ts = impl_->tensors;
  auto it = std::lower_bound(ts.begin(), ts.end(), name,
                             [](const TensorView& t, const std::string& n) { return t.name < n; });
  return (it != ts.end() && it->name == name) ? &*it : nullptr;
}
bool SafetensorsFile::contains(const std::string& name) const { return find(name) != nullptr; }
const TensorView& SafetensorsFile::get(const std::string& name) const {
  const TensorView* t = find(name);
  if (!t) fail(quoted_file(impl_->path) + ": no tensor named '" + printable(name) + "'");
  return *t;
}
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }
std::uint64_t SafetensorsFile::file_size() const { return impl_->size; }
std::uint64_t SafetensorsFile::header_size() const { return impl_->header_size; }

// ------------------------------------------------------------------ writer

namespace {

// Validates the tensors and returns the padded header plus the data order.
std::string build_header(const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata,
                         const std::string& what, std::vector<const TensorToWrite*>& order) {
  order.clear();
  std::set<std::string> seen;
  for (const auto& t : tensors) {
    auto where = [&] { return what + ": tensor '" + printable(t.name) + "'"; };
    if (t.name.empty()) fail(what + ": a tensor has an empty name");
    if (t.name == "__metadata__") fail(where() + ": the name is reserved");
    if (!seen.insert(t.name).second) fail(where() + ": duplicate tensor name");
    if (dtype_size(t.dtype) == 0) fail(where() + ": unknown dtype");
    std::uint64_t numel = 1;
    for (auto d : t.shape) {
      if (d < 0) fail(fmt::format("{}: negative dimension {}", where(), d));
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel))
        fail(where() + ": shape has too many elements");
    }
    std::uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(t.dtype)), &nbytes))
      fail(where() + ": shape has too many elements");
    if (nbytes != t.nbytes)
      fail(fmt::format("{}: {} bytes given, but {} {} needs {} bytes", where(), t.nbytes, dtype_name(t.dtype),
                       nlohmann::json(t.shape).dump(), nbytes));
    if (t.nbytes != 0 && t.data == nullptr) fail(where() + ": no data");
    order.push_back(&t);
  }
  // Largest element size first, then by name: every tensor is aligned to its element size.
  std::sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    std::size_t sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  // The header text is assembled here rather than through nlohmann::ordered_json,
  // whose key lookup is linear (quadratic for a file with many tensors).
  std::string text;
  try {
    text = "{";
    if (!metadata.empty()) text += "\"__metadata__\":" + nlohmann::json(metadata).dump();
    std::uint64_t off = 0;
    for (const auto* t : order) {
      if (text.size() > 1) text += ',';
      text += nlohmann::json(t->name).dump();
      text += ":{\"dtype\":\"";
      text += dtype_name(t->dtype);
      text += "\",\"shape\":";
      text += nlohmann::json(t->shape).dump();
      text += fmt::format(",\"data_offsets\":[{},{}]}}", off, off + t->nbytes);
      off += t->nbytes;
    }
    text += '}';
  } catch (const nlohmann::json::exception&) {
    fail(what + ": a tensor name or metadata string is not valid UTF-8");
  }
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  return text;
}

template <typename Sink>
void emit(const std::string& header, const std::vector<const TensorToWrite*>& order, Sink&& sink) {
  std::uint8_t len[8];
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(n >> (8 * i));
  sink(len, 8);
  sink(header.data(), header.size());
  for (const auto* t : order)
    if (t->nbytes) sink(t->data, t->nbytes);
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  const std::string header = build_header(tensors, metadata, quoted_file(path), order);
  write_file_atomic(path, [&](std::ostream& out) {
    emit(header, order, [&](const void* p, std::size_t n) {
      out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    });
  });
}

std::vector<std::uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  const std::string header = build_header(tensors, metadata, "safetensors buffer", order);
  std::vector<std::uint8_t> out;
  std::size_t total = 8 + header.size();
  for (const auto* t : order) total += t->nbytes;
  out.reserve(total);
  emit(header, order, [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  });
  return out;
}

// ------------------------------------------------------------------ sharded

struct ShardedSafetensors::Impl {
  std::string path;
  std::vector<SafetensorsFile> shards;
  std::vector<std::pair<std::string, const TensorView*>> entries;  // sorted by name
};

ShardedSafetensors::ShardedSafetensors(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  std::error_code ec;
  std::string target = path;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    if (fs::exists(dir / "model.safetensors.index.json", ec))
      target = (dir / "model.safetensors.index.json").string();
    else if (fs::exists(dir / "model.safetensors", ec))
      target = (dir / "model.safetensors").string();
    else
      fail("directory " + quoted_file(path) + " has neither model.safetensors.index.json nor model.safetensors");
  }
  const bool is_index = fs::path(target).extension() == ".json";
  if (!is_index) {
    impl_->shards.emplace_back(target);
    for (const auto& t : impl_->shards[0].tensors()) impl_->entries.emplace_back(t.name, &t);
    return;
  }
  const std::string file = quoted_file(target);
  nlohmann::json idx = read_json_file(target);
  require(idx.is_object(), file + ": index is not a JSON object");
  auto wm = idx.find("weight_map");
  require(wm != idx.end(), file + ": missing \"weight_map\"");
  require(wm->is_object(), file + ": \"weight_map\" is not a JSON object");
  require(!wm->empty(), file + ": \"weight_map\" is empty");
  const fs::path dir = fs::path(target).parent_path();
  std::map<std::string, std::size_t> shard_of_file;
  std::vector<std::pair<std::string, std::size_t>> mapping;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    const std::string where = file + ": tensor '" + printable(it.key()) + "'";
    require(it.value().is_string(), where + ": shard file name is not a string");
    const std::string shard = it.value().get<std::string>();
    fs::path sp(shard);
    bool bad = shard.empty() || sp.is_absolute();
    for (const auto& part : sp)
      if (part == "..") bad = true;
    require(!bad, where + ": shard '" + printable(shard) + "' is not a file name inside the model directory");
    auto found = shard_of_file.find(shard);
    std::size_t si;
    if (found == shard_of_file.end()) {
      const fs::path full = dir / sp;
      require(fs::exists(full, ec),
              where + ": shard '" + printable(shard) + "' not found (looked for " + quoted_file(full.string()) + ")");
      si = impl_->shards.size();
      impl_->shards.emplace_back(full.string());
      shard_of_file.emplace(shard, si);
    } else {
      si = found->second;
    }
    mapping.emplace_back(it.key(), si);
  }
  for (const auto& [name, si] : mapping) {
    const TensorView* t = impl_->shards[si].find(name);
    require(t != nullptr, file + ": tensor '" + printable(name) + "' is mapped to shard " +
                              quoted_file(impl_->shards[si].path()) + ", which does not contain it");
    impl_->entries.emplace_back(name, t);
  }
  std::sort(impl_->entries.begin(), impl_->entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

ShardedSafetensors::ShardedSafetensors(ShardedSafetensors&&) noexcept = default;
ShardedSafetensors& ShardedSafetensors::operator=(ShardedSafetensors&&) noexcept = default;
ShardedSafetensors::~ShardedSafetensors() = default;

const std::string& ShardedSafetensors::path() const { return impl_->path; }
std::size_t ShardedSafetensors::size() const { return impl_->entries.size(); }
std::vector<std::string> ShardedSafetensors::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->entries.size());
  for (const auto& e : impl_->entries) out.push_back(e.first);
  return out;
}
const TensorView* ShardedSafetensors::find(const std::string& name) const {
  const auto& es = impl_->entries;
  auto it =
      std::lower_bound(es.begin(), es.end(), name, [](const auto& e, const std::string& n) { return e.first < n; });
  return (it != es.end() && it->first == name) ? it->second : nullptr;
}
bool ShardedSafetensors::contains(const std::string& name) const { return find(name) != nullptr; }
const TensorView& ShardedSafetensors::get(const std::string& name) const {
  const TensorView* t = find(name);
  if (!t) fail(quoted_file(impl_->path) + ": no tensor named '" + printable(name) + "'");
  return *t;
}
std::size_t ShardedSafetensors::num_shards() const { return impl_->shards.size(); }
const SafetensorsFile& ShardedSafetensors::shard(std::size_t i) const { return impl_->shards.at(i); }

}  // namespace sinklab
