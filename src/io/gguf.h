// GGUF reader (versions 2 and 3, little-endian), memory-mapped and torch-free.
//
// Everything in the header, the metadata and the tensor table is validated when a
// GgufFile is constructed: magic, version, counts against the file size, string
// lengths, array lengths, nesting depth, tensor dims/types/offsets/byte ranges,
// overlapping tensors, alignment. Any problem throws sinklab::InputError with a
// one-line message that names the file, e.g.
//   'x.gguf': truncated file: tensor 'blk.0.attn_q.weight' data ends at byte N but the file has M bytes
// After construction, every TensorInfo's bytes lie inside the mapping, so
// tensor_data() + n_bytes may be read without further checks.
//
// Dimension order: TensorInfo::dims is in GGUF/ggml order, dims[0] varies fastest
// (the row length). TensorInfo::shape() gives the row-major (numpy/torch) order,
// e.g. token_embd.weight has dims {576, 49152} and shape() {49152, 576}.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sinklab::gguf {

// ggml tensor types, numbered as in the GGUF format.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21,
  IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28,
  IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct TypeTraits {
  const char* name;    // "Q4_1"
  uint32_t block_size; // elements per block (1 for plain types)
  uint32_t type_size;  // bytes per block
};

// Traits of a known type; nullptr for a number that is no known ggml type.
const TypeTraits* type_traits(uint32_t type);
inline const TypeTraits* type_traits(GgmlType t) { return type_traits(static_cast<uint32_t>(t)); }
// "Q4_1", or "type 123" for an unknown number.
std::string type_name(GgmlType t);
// Bytes taken by n elements of type t (n must be a multiple of the block size).
uint64_t type_bytes(GgmlType t, uint64_t n);

// A string from a file made safe to print on one line: control characters and
// bytes that are not valid UTF-8 become \xNN; cut to max_len bytes with "...".
std::string printable(std::string_view s, size_t max_len = 200);

// Metadata value types, numbered as in the GGUF format.
enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* value_type_name(ValueType t);  // "uint32", "array", ...

// One metadata value. Strings are views into the file's mapping (valid while the
// GgufFile lives). Integers are held in u (unsigned types and bool) or i (signed);
// floats in f (float32 widened exactly to double).
struct MetaValue {
  ValueType type = ValueType::UINT8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string_view s;             // STRING
  ValueType elem_type = ValueType::UINT8;  // ARRAY: element type
  std::vector<MetaValue> items;   // ARRAY: elements (nested arrays allowed)

  bool is_integer() const;  // any of the 8 integer types
  bool is_float() const { return type == ValueType::FLOAT32 || type == ValueType::FLOAT64; }
  std::string to_string(size_t max_items = 8) const;  // short human-readable form
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the row length
  uint64_t offset = 0;         // relative to the data section (as stored)
  uint64_t file_offset = 0;    // absolute byte offset in the file
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;

  std::vector<int64_t> shape() const;  // row-major order (dims reversed)
  uint64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
  uint64_t n_rows() const { return dims.empty() ? 1 : n_elements / dims[0]; }
  std::string shape_string() const;    // "[49152, 576]" (row-major)
};

class GgufFile {
 public:
  // Opens and memory-maps `path` read-only, then validates it (InputError on failure).
  explicit GgufFile(const std::string& path);
  // Parses a buffer in memory WITHOUT copying it: the caller keeps `data` alive for
  // the GgufFile's lifetime. `name` appears in error messages.
  static GgufFile from_memory(const void* data, size_t size, std::string name = "<memory>");

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  const uint8_t* data() const { return base_; }          // whole file

  // ---- metadata (in file order)
  const std::vector<std::pair<std::string, MetaValue>>& metadata() const { return kv_; }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const MetaValue* find(const std::string& key) const;  // nullptr if absent
  const MetaValue& get(const std::string& key) const;   // InputError if absent

  // Typed getters: InputError "'f.gguf': metadata key 'K' is missing" or
  // "... has type string, expected an integer". Integer getters accept any integer
  // type whose value fits; float getters accept float32/float64 and integers.
  uint32_t get_u32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int32_t get_i32(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  float get_f32(const std::string& key) const;
  double get_f64(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  // With a default when the key is absent (a present key of the wrong type still throws).
  uint32_t get_u32_or(const std::string& key, uint32_t dflt) const;
  uint64_t get_u64_or(const std::string& key, uint64_t dflt) const;
  int64_t get_i64_or(const std::string& key, int64_t dflt) const;
  float get_f32_or(const std::string& key, float dflt) const;
  bool get_bool_or(const std::string& key, bool dflt) const;
  std::string get_string_or(const std::string& key, const std::string& dflt) const;

  // Arrays (InputError if missing, not an array, or of another element type).
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<std::string_view> get_string_views(const std::string& key) const;  // no copies
  std::vector<int32_t> get_i32_array(const std::string& key) const;  // any integer elements that fit
  std::vector<float> get_f32_array(const std::string& key) const;    // float or integer elements
  size_t array_size(const std::string& key) const;

  // "general.architecture" (InputError if missing).
  std::string architecture() const { return get_string("general.architecture"); }

  // ---- tensors (in file order)
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
  const TensorInfo& tensor(const std::string& name) const;       // InputError if absent
  // Pointer to the tensor's raw bytes inside the mapping (n_bytes long).
  const uint8_t* tensor_data(const TensorInfo& t) const { return base_ + t.file_offset; }

 private:
  GgufFile() = default;
  void parse();
  [[noreturn]] void bad(const std::string& what) const;

  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  void* map_ = nullptr;  // mmap'd region (nullptr for from_memory / empty file)
  size_t map_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, MetaValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace sinklab::gguf
