// GGUF reader: see gguf.h. Layout (all little-endian):
//   u32 magic "GGUF", u32 version, u64 tensor_count, u64 kv_count,
//   kv_count x { string key, u32 value_type, value },
//   tensor_count x { string name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset },
//   padding to general.alignment (default 32), tensor data.
// string = u64 length + bytes (no terminator); array = u32 elem_type, u64 n, n values.
#include "io/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab::gguf {

namespace {

constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 16;
constexpr uint64_t kMaxAlignment = uint64_t(1) << 30;

// Known types. Sizes follow the ggml block structures.
struct TypeEntry {
  uint32_t id;
  TypeTraits traits;
};
constexpr TypeEntry kTypes[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},        {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},      {6, {"Q5_0", 32, 22}},     {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},     {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},  {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},  {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}},  {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}}, {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},        {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},       {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},   {30, {"BF16", 1, 2}},      {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},
};

// Smallest encoded size of one value of a type (for count sanity checks).
uint64_t min_value_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t t) { return t <= 12; }

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t rd64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

// Length of the valid UTF-8 sequence starting at s[k] (0 if invalid).
static size_t utf8_len(std::string_view s, size_t k) {
  const unsigned char c = static_cast<unsigned char>(s[k]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (k + n > s.size()) return 0;
  for (size_t j = 1; j < n; ++j) {
    const unsigned char d = static_cast<unsigned char>(s[k + j]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string printable(std::string_view s, size_t max_len) {
  std::string out;
  for (size_t k = 0; k < s.size();) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[k]);
    size_t n = utf8_len(s, k);
    if (n == 0 || c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++k;
    } else {
      out.append(s.data() + k, n);
      k += n;
    }
  }
  return out;
}

const TypeTraits* type_traits(uint32_t type) {
  for (const auto& e : kTypes)
    if (e.id == type) return &e.traits;
  return nullptr;
}

std::string type_name(GgmlType t) {
  const TypeTraits* tr = type_traits(t);
  return tr ? std::string(tr->name) : fmt::format("type {}", static_cast<uint32_t>(t));
}

uint64_t type_bytes(GgmlType t, uint64_t n) {
  const TypeTraits* tr = type_traits(t);
  if (!tr) fail("unknown ggml tensor type " + std::to_string(static_cast<uint32_t>(t)));
  return n / tr->block_size * tr->type_size;
}

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "uint8";
    case ValueType::INT8: return "int8";
    case ValueType::UINT16: return "uint16";
    case ValueType::INT16: return "int16";
    case ValueType::UINT32: return "uint32";
    case ValueType::INT32: return "int32";
    case ValueType::FLOAT32: return "float32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::UINT64: return "uint64";
    case ValueType::INT64: return "int64";
    case ValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

bool MetaValue::is_integer() const {
  switch (type) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
    case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64:
      return true;
    default: return false;
  }
}

static bool is_signed_type(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

std::string MetaValue::to_string(size_t max_items) const {
  switch (type) {
    case ValueType::BOOL: return u ? "true" : "false";
    case ValueType::STRING: return printable(s, 120);
    case ValueType::FLOAT32: return fmt::format("{}", static_cast<float>(f));
    case ValueType::FLOAT64: return fmt::format("{}", f);
    case ValueType::ARRAY: {
      std::string out = "[";
      for (size_t k = 0; k < items.size() && k < max_items; ++k) {
        if (k) out += ", ";
        out += items[k].type == ValueType::STRING ? "'" + items[k].to_string(max_items) + "'"
                                                  : items[k].to_string(max_items);
      }
      if (items.size() > max_items) out += fmt::format(", ... ({} items)", items.size());
      return out + "]";
    }
    default: return is_signed_type(type) ? std::to_string(i) : std::to_string(u);
  }
}

std::vector<int64_t> TensorInfo::shape() const {
  return std::vector<int64_t>(dims.rbegin(), dims.rend());
}

std::string TensorInfo::shape_string() const {
  std::string out = "[";
  for (size_t k = dims.size(); k-- > 0;) {
    out += std::to_string(dims[k]);
    if (k) out += ", ";
  }
  return out + "]";
}

// ------------------------------------------------------------------ parsing

namespace {

class Parser {
 public:
  Parser(const GgufFile& f, const std::string& path, const uint8_t* base, uint64_t size)
      : path_(path), base_(base), size_(size) {
    (void)f;
  }

  [[noreturn]] void bad(const std::string& what) const { fail("'" + path_ + "': " + what); }

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& what) {
    if (n > remaining())
      bad(fmt::format("truncated file: {} needs {} bytes at offset {} but the file has {} bytes",
                      what, n, pos_, size_));
  }
  const uint8_t* take(uint64_t n, const char* what) {
    if (n > remaining()) need(n, ctx_.empty() ? std::string(what) : ctx_ + " " + what);
    const uint8_t* p = base_ + pos_;
    pos_ += n;
    return p;
  }
  uint32_t u32(const char* what) { return rd32(take(4, what)); }
  uint64_t u64(const char* what) { return rd64(take(8, what)); }
  std::string_view str(const char* what) {
    uint64_t len = u64(what);
    if (len > remaining())
      bad(fmt::format("truncated file: {}{}{} has length {} but only {} bytes remain at offset {}",
                      ctx_, ctx_.empty() ? "" : " ", what, len, remaining(), pos_));
    const uint8_t* p = take(len, what);
    return std::string_view(reinterpret_cast<const char*>(p), len);
  }

  void value(ValueType t, MetaValue& v, int depth) {
    v.type = t;
    switch (t) {
      case ValueType::UINT8: v.u = *take(1, "value"); break;
      case ValueType::INT8: v.i = static_cast<int8_t>(*take(1, "value")); break;
      case ValueType::BOOL: {
        uint8_t b = *take(1, "value");
        if (b > 1) bad(fmt::format("{} holds the bool value {} (must be 0 or 1)", ctx_, b));
        v.u = b;
        break;
      }
      case ValueType::UINT16: {
        uint16_t x;
        std::memcpy(&x, take(2, "value"), 2);
        v.u = x;
        break;
      }
      case ValueType::INT16: {
        int16_t x;
        std::memcpy(&x, take(2, "value"), 2);
        v.i = x;
        break;
      }
      case ValueType::UINT32: v.u = u32("value"); break;
      case ValueType::INT32: v.i = static_cast<int32_t>(u32("value")); break;
      case ValueType::UINT64: v.u = u64("value"); break;
      case ValueType::INT64: v.i = static_cast<int64_t>(u64("value")); break;
      case ValueType::FLOAT32: {
        float x;
        std::memcpy(&x, take(4, "value"), 4);
        v.f = x;
        break;
      }
      case ValueType::FLOAT64: {
        double x;
        std::memcpy(&x, take(8, "value"), 8);
        v.f = x;
        break;
      }
      case ValueType::STRING: v.s = str("string value"); break;
      case ValueType::ARRAY: {
        if (depth >= kMaxArrayDepth)
          bad(fmt::format("{} nests arrays deeper than {} levels", ctx_, kMaxArrayDepth));
        uint32_t et = u32("array element type");
        if (!valid_value_type(et))
          bad(fmt::format("{} is an array of unknown value type {}", ctx_, et));
        v.elem_type = static_cast<ValueType>(et);
        uint64_t n = u64("array length");
        if (n > remaining() / min_value_size(v.elem_type))
          bad(fmt::format("truncated file: {} is an array of {} {} values, which cannot fit in the "
                          "{} bytes left at offset {}",
                          ctx_, n, value_type_name(v.elem_type), remaining(), pos_));
        v.items.resize(n);
        for (uint64_t k = 0; k < n; ++k) value(v.elem_type, v.items[k], depth + 1);
        break;
      }
    }
  }

  std::string ctx_;  // "metadata key 'x'" / "tensor 'y'" for messages

 private:
  const std::string& path_;
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

}  // namespace

GgufFile::GgufFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(fmt::format("'{}': cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(fmt::format("'{}': cannot stat: {}", path, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(fmt::format("'{}': not a regular file", path));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail(fmt::format("'{}': cannot map: {}", path, std::strerror(e)));
    }
    map_ = m;
    map_size_ = size_;
    base_ = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
  try {
    parse();
  } catch (...) {
    if (map_) ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

GgufFile GgufFile::from_memory(const void* data, size_t size, std::string name) {
  GgufFile f;
  f.path_ = std::move(name);
  f.base_ = static_cast<const uint8_t*>(data);
  f.size_ = size;
  f.parse();
  return f;
}

GgufFile::GgufFile(GgufFile&& o) noexcept { *this = std::move(o); }

GgufFile& GgufFile::operator=(GgufFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_size_);
    path_ = std::move(o.path_);
    base_ = o.base_;
    size_ = o.size_;
    map_ = o.map_;
    map_size_ = o.map_size_;
    version_ = o.version_;
    alignment_ = o.alignment_;
    data_offset_ = o.data_offset_;
    kv_ = std::move(o.kv_);
    kv_index_ = std::move(o.kv_index_);
    tensors_ = std::move(o.tensors_);
    tensor_index_ = std::move(o.tensor_index_);
    o.map_ = nullptr;
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

GgufFile::~GgufFile() {
  if (map_) ::munmap(map_, map_size_);
}

void GgufFile::bad(const std::string& what) const { fail("'" + path_ + "': " + what); }

void GgufFile::parse() {
  Parser p(*this, path_, base_, size_);
  if (size_ == 0) bad("empty file (not a GGUF file)");
  if (size_ < 4 || std::memcmp(base_, "GGUF", 4) != 0) {
    std::string magic = printable(std::string_view(reinterpret_cast<const char*>(base_),
                                                   std::min<uint64_t>(size_, 4)));
    bad(fmt::format("not a GGUF file (magic is '{}', expected 'GGUF')", magic));
  }
  p.take(4, "magic");
  version_ = p.u32("version");
  if (version_ != 2 && version_ != 3) {
    if (version_ == 1) bad("GGUF version 1 is not supported (only versions 2 and 3)");
    uint32_t swapped = __builtin_bswap32(version_);
    if (swapped == 2 || swapped == 3)
      bad(fmt::format("GGUF version field reads {} (a big-endian file?); only little-endian "
                      "versions 2 and 3 are supported",
                      version_));
    bad(fmt::format("unsupported GGUF version {} (only versions 2 and 3)", version_));
  }
  uint64_t n_tensors = p.u64("tensor count");
  uint64_t n_kv = p.u64("metadata count");
  // Each key/value takes >= 13 bytes (key length, type, 1-byte value); each tensor
  // info >= 24 bytes (name length, n_dims, type, offset).
  if (n_kv > p.remaining() / 13)
    bad(fmt::format("absurd metadata count {} for a file of {} bytes", n_kv, size_));
  if (n_tensors > p.remaining() / 24)
    bad(fmt::format("absurd tensor count {} for a file of {} bytes", n_tensors, size_));
  if (n_kv + n_tensors > 0 && (n_kv * 13 + n_tensors * 24) > p.remaining())
    bad(fmt::format("truncated file: {} metadata entries and {} tensor infos cannot fit in {} bytes",
                    n_kv, n_tensors, size_));

  kv_.reserve(n_kv);
  kv_index_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    p.ctx_ = fmt::format("metadata entry {}", k);
    std::string_view key = p.str("key");
    p.ctx_ = fmt::format("metadata key '{}'", printable(key, 80));
    uint32_t t = p.u32("value type");
    if (!valid_value_type(t)) bad(fmt::format("{} has unknown value type {}", p.ctx_, t));
    MetaValue v;
    p.value(static_cast<ValueType>(t), v, 0);
    std::string skey(key);
    if (!kv_index_.emplace(skey, kv_.size()).second)
      bad(fmt::format("duplicate metadata key '{}'", printable(key, 80)));
    kv_.emplace_back(std::move(skey), std::move(v));
  }

  alignment_ = 32;
  if (const MetaValue* a = find("general.alignment")) {
    if (!a->is_integer() || (is_signed_type(a->type) && a->i < 0))
      bad(fmt::format("general.alignment has type {}, expected an unsigned integer",
                      value_type_name(a->type)));
    uint64_t al = is_signed_type(a->type) ? static_cast<uint64_t>(a->i) : a->u;
    if (al == 0 || (al & (al - 1)) != 0 || al > kMaxAlignment)
      bad(fmt::format("general.alignment is {}, which is not a power of two between 1 and 2^30", al));
    alignment_ = al;
  }

  tensors_.reserve(n_tensors);
  tensor_index_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    p.ctx_ = fmt::format("tensor info {}", k);
    TensorInfo ti;
    std::string_view name = p.str("name");
    ti.name = std::string(name);
    p.ctx_ = fmt::format("tensor '{}'", printable(name, 80));
    uint32_t nd = p.u32("n_dims");
    if (nd > kMaxDims) bad(fmt::format("{} has {} dimensions (at most {})", p.ctx_, nd, kMaxDims));
    ti.dims.resize(nd);
    uint64_t ne = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      ti.dims[d] = p.u64("dimension");
      if (ti.dims[d] == 0) bad(fmt::format("{} has a zero dimension", p.ctx_));
      if (ti.dims[d] > uint64_t(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(ne, ti.dims[d], &ne) ||
          ne > uint64_t(std::numeric_limits<int64_t>::max()))
        bad(fmt::format("{} has absurd dimensions (the element count overflows)", p.ctx_));
    }
    ti.n_elements = ne;
    uint32_t type = p.u32("type");
    const TypeTraits* tr = type_traits(type);
    if (!tr) bad(fmt::format("{} has unknown tensor type {}", p.ctx_, type));
    ti.type = static_cast<GgmlType>(type);
    if (ti.row_length() % tr->block_size != 0)
      bad(fmt::format("{} of type {} has row length {}, not a multiple of the block size {}",
                      p.ctx_, tr->name, ti.row_length(), tr->block_size));
    if (__builtin_mul_overflow(ne / tr->block_size, uint64_t(tr->type_size), &ti.n_bytes))
      bad(fmt::format("{} has absurd dimensions (the byte size overflows)", p.ctx_));
    ti.offset = p.u64("data offset");
    if (ti.offset % alignment_ != 0)
      bad(fmt::format("{} data offset {} is not a multiple of the alignment {}", p.ctx_, ti.offset,
                      alignment_));
    if (!tensor_index_.emplace(ti.name, tensors_.size()).second)
      bad(fmt::format("duplicate tensor name '{}'", printable(name, 80)));
    tensors_.push_back(std::move(ti));
  }
  p.ctx_.clear();

  // Data section: aligned start (alignment <= 2^30 and pos <= size: no overflow).
  data_offset_ = (p.pos() + alignment_ - 1) / alignment_ * alignment_;
  for (auto& t : tensors_) {
    uint64_t end;
    if (__builtin_add_overflow(data_offset_, t.offset, &t.file_offset) ||
        __builtin_add_overflow(t.file_offset, t.n_bytes, &end))
      bad(fmt::format("tensor '{}' data offset {} is outside the file ({} bytes)", printable(t.name),
                      t.offset, size_));
    if (end > size_)
      bad(fmt::format("truncated file: tensor '{}' data ends at byte {} but the file has {} bytes",
                      printable(t.name), end, size_));
  }
  // Overlaps.
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& a = tensors_[order[k - 1]];
    const TensorInfo& b = tensors_[order[k]];
    if (a.offset + a.n_bytes > b.offset)
      bad(fmt::format("tensors '{}' and '{}' overlap in the data section", printable(a.name),
                      printable(b.name)));
  }
}

// ------------------------------------------------------------------ metadata

const MetaValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const MetaValue& GgufFile::get(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) bad(fmt::format("metadata key '{}' is missing", key));
  return *v;
}

namespace {

std::string type_desc(const MetaValue& v) {
  if (v.type == ValueType::ARRAY) return std::string("array of ") + value_type_name(v.elem_type);
  return value_type_name(v.type);
}

// Integer value as a signed 128-bit-ish pair: returns false if not an integer.
bool int_value(const MetaValue& v, bool& negative, uint64_t& mag) {
  if (!v.is_integer()) return false;
  if (is_signed_type(v.type)) {
    negative = v.i < 0;
    mag = negative ? uint64_t(0) - static_cast<uint64_t>(v.i) : static_cast<uint64_t>(v.i);
  } else {
    negative = false;
    mag = v.u;
  }
  return true;
}

template <typename T>
bool fits(const MetaValue& v, T& out) {
  bool neg;
  uint64_t mag;
  if (!int_value(v, neg, mag)) return false;
  if (neg) {
    if (!std::numeric_limits<T>::is_signed) return false;
    if (mag > uint64_t(std::numeric_limits<T>::max()) + 1) return false;
    out = static_cast<T>(-static_cast<int64_t>(mag - 1) - 1);
  } else {
    if (mag > uint64_t(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(mag);
  }
  return true;
}

}  // namespace

template <typename T>
static T get_int(const GgufFile& f, const std::string& key, const MetaValue& v, const char* tname) {
  if (!v.is_integer())
    fail(fmt::format("'{}': metadata key '{}' has type {}, expected an integer", f.path(), key,
                     type_desc(v)));
  T out{};
  if (!fits(v, out))
    fail(fmt::format("'{}': metadata key '{}' has value {}, which does not fit in {}", f.path(), key,
                     v.to_string(), tname));
  return out;
}

uint32_t GgufFile::get_u32(const std::string& key) const {
  return get_int<uint32_t>(*this, key, get(key), "uint32");
}
uint64_t GgufFile::get_u64(const std::string& key) const {
  return get_int<uint64_t>(*this, key, get(key), "uint64");
}
int32_t GgufFile::get_i32(const std::string& key) const {
  return get_int<int32_t>(*this, key, get(key), "int32");
}
int64_t GgufFile::get_i64(const std::string& key) const {
  return get_int<int64_t>(*this, key, get(key), "int64");
}

double GgufFile::get_f64(const std::string& key) const {
  const MetaValue& v = get(key);
  if (v.is_float()) return v.f;
  if (v.is_integer()) return is_signed_type(v.type) ? double(v.i) : double(v.u);
  bad(fmt::format("metadata key '{}' has type {}, expected a number", key, type_desc(v)));
}
float GgufFile::get_f32(const std::string& key) const { return static_cast<float>(get_f64(key)); }

bool GgufFile::get_bool(const std::string& key) const {
  const MetaValue& v = get(key);
  if (v.type != ValueType::BOOL)
    bad(fmt::format("metadata key '{}' has type {}, expected bool", key, type_desc(v)));
  return v.u != 0;
}

std::string GgufFile::get_string(const std::string& key) const {
  const MetaValue& v = get(key);
  if (v.type != ValueType::STRING)
    bad(fmt::format("metadata key '{}' has type {}, expected string", key, type_desc(v)));
  return std::string(v.s);
}

uint32_t GgufFile::get_u32_or(const std::string& key, uint32_t dflt) const {
  return has(key) ? get_u32(key) : dflt;
}
uint64_t GgufFile::get_u64_or(const std::string& key, uint64_t dflt) const {
  return has(key) ? get_u64(key) : dflt;
}
int64_t GgufFile::get_i64_or(const std::string& key, int64_t dflt) const {
  return has(key) ? get_i64(key) : dflt;
}
float GgufFile::get_f32_or(const std::string& key, float dflt) const {
  return has(key) ? get_f32(key) : dflt;
}
bool GgufFile::get_bool_or(const std::string& key, bool dflt) const {
  return has(key) ? get_bool(key) : dflt;
}
std::string GgufFile::get_string_or(const std::string& key, const std::string& dflt) const {
  return has(key) ? get_string(key) : dflt;
}

static const MetaValue& array_of(const GgufFile& f, const std::string& key, const MetaValue& v,
                                 const char* want) {
  if (v.type != ValueType::ARRAY)
    fail(fmt::format("'{}': metadata key '{}' has type {}, expected an array of {}", f.path(), key,
                     type_desc(v), want));
  return v;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  std::vector<std::string> out;
  for (auto sv : get_string_views(key)) out.emplace_back(sv);
  return out;
}

std::vector<std::string_view> GgufFile::get_string_views(const std::string& key) const {
  const MetaValue& v = array_of(*this, key, get(key), "string");
  if (v.elem_type != ValueType::STRING)
    bad(fmt::format("metadata key '{}' has type {}, expected an array of string", key, type_desc(v)));
  std::vector<std::string_view> out;
  out.reserve(v.items.size());
  for (const auto& it : v.items) out.push_back(it.s);
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
  const MetaValue& v = array_of(*this, key, get(key), "integers");
  std::vector<int32_t> out(v.items.size());
  for (size_t k = 0; k < v.items.size(); ++k) {
    const MetaValue& it = v.items[k];
    if (!it.is_integer())
      bad(fmt::format("metadata key '{}' has type {}, expected an array of integers", key,
                      type_desc(v)));
    if (!fits(it, out[k]))
      bad(fmt::format("metadata key '{}' element {} has value {}, which does not fit in int32", key,
                      k, it.to_string()));
  }
  return out;
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const MetaValue& v = array_of(*this, key, get(key), "numbers");
  std::vector<float> out(v.items.size());
  for (size_t k = 0; k < v.items.size(); ++k) {
    const MetaValue& it = v.items[k];
    if (it.is_float()) out[k] = static_cast<float>(it.f);
    else if (it.is_integer()) out[k] = is_signed_type(it.type) ? float(it.i) : float(it.u);
    else
      bad(fmt::format("metadata key '{}' has type {}, expected an array of numbers", key,
                      type_desc(v)));
  }
  return out;
}

size_t GgufFile::array_size(const std::string& key) const {
  return array_of(*this, key, get(key), "values").items.size();
}

// ------------------------------------------------------------------ tensors

const TensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& GgufFile::tensor(const std::string& name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) bad(fmt::format("tensor '{}' is missing", name));
  return *t;
}

}  // namespace sinklab::gguf
