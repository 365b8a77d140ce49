// safetensors: read (memory-mapped, validated) and write (atomic) without torch.
//
// File format (https://huggingface.co/docs/safetensors):
//   [8 bytes]  N, unsigned little-endian: length of the JSON header
//   [N bytes]  JSON object  { "<name>": {"dtype": "F32", "shape": [2, 3],
//                                        "data_offsets": [begin, end]}, ...,
//                             "__metadata__": {"<key>": "<string>", ...} }
//              (may be padded with trailing spaces)
//   [rest]     data section; offsets are relative to its start
//
// Reading validates the whole header before any tensor data is touched: header
// length (<= kMaxHeaderBytes and inside the file), a JSON object without
// duplicate keys, supported dtypes, non-negative integer dims whose product does
// not overflow, end - begin == numel * dtype_size, offsets inside the data
// section, no two (non-empty) tensors overlapping. Every problem throws
// sinklab::InputError with one line: "'<file>': tensor '<name>': <problem>".
// Gaps between tensors and trailing bytes after the last one are tolerated.
//
// Writing puts tensors in order of decreasing element size, then by name, so
// every tensor's data is aligned to its element size (the data section starts at
// a multiple of 8: the header is padded with spaces). Hence a TensorView of a
// file written by sinklab may be read in place through a `const float*` etc.;
// for files from elsewhere use to_f32() (alignment-safe) or check alignment.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sinklab {

// Largest accepted JSON header, as in the reference implementation.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

enum class DType : std::uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType t);  // "F32", "BF16", ...
std::size_t dtype_size(DType t);  // bytes per element
bool dtype_is_float(DType t);     // F64 F32 F16 BF16
// Parses a dtype name; InputError "unsupported dtype '<s>' (supported: ...)" otherwise.
// `context` is prefixed to the message (e.g. "'f.safetensors': tensor 'w'").
DType parse_dtype(const std::string& s, const std::string& context = "");

// Half-precision helpers (bit patterns in uint16_t). Conversions to 16 bits round
// to nearest even; NaN stays NaN, overflow becomes infinity.
float f16_to_f32(std::uint16_t bits);
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float v);
std::uint16_t f32_to_bf16(float v);

// A tensor inside an open file. `data` points into the mapping (or buffer) of the
// SafetensorsFile it came from and stays valid as long as that object lives
// (moving the object keeps it valid). Not necessarily aligned (see above).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // [] is a scalar (numel 1)
  const std::uint8_t* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const;  // product of shape (validated not to overflow)
};

// Converts any dtype to float (F16/BF16/F32/F64 exactly as IEEE conversion does;
// integers and BOOL by value). Alignment-safe.
std::vector<float> to_f32(const TensorView& v);
// Same, into a caller buffer of exactly `n` floats; InputError if n != numel.
void to_f32(const TensorView& v, float* out, std::size_t n);

class SafetensorsFile {
 public:
  // Memory-maps `path` read-only and validates the header. InputError on any problem.
  explicit SafetensorsFile(const std::string& path);
  // Parses an in-memory copy of a file (fuzzing, tests); `name` is used in messages.
  static SafetensorsFile from_buffer(std::vector<std::uint8_t> bytes, const std::string& name = "<buffer>");

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;  // path or buffer name
  std::size_t size() const;         // number of tensors
  // Tensor names, sorted (byte-wise).
  std::vector<std::string> names() const;
  // All tensors, sorted by name.
  const std::vector<TensorView>& tensors() const;
  bool contains(const std::string& name) const;
  // nullptr if absent.
  const TensorView* find(const std::string& name) const;
  // InputError "'<file>': no tensor named '<name>'" if absent.
  const TensorView& get(const std::string& name) const;
  // The optional "__metadata__" map (empty if absent).
  const std::map<std::string, std::string>& metadata() const;

  std::uint64_t file_size() const;    // total bytes
  std::uint64_t header_size() const;  // N (the JSON header's length)

 private:
  struct Impl;
  SafetensorsFile();
  std::unique_ptr<Impl> impl_;
};

// One tensor to write. `data` must hold exactly `nbytes` == numel*dtype_size bytes
// (native little-endian layout), and must stay valid during the write.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t nbytes = 0;
};

// Writes a safetensors file atomically (temp file + rename), streaming the tensor
// data straight from the callers' buffers (no second copy in memory). InputError
// on duplicate/empty/"__metadata__" names, negative dims, or nbytes mismatch.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The same bytes as write_safetensors would write, in memory.
std::vector<std::uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                const std::map<std::string, std::string>& metadata = {});

// A Hugging Face model's weights: either one file or shards listed by
// "model.safetensors.index.json" ({"metadata": {...}, "weight_map": {name: file}}).
// Each shard is opened (mapped and validated) once, at construction; every name in
// the weight map is checked to exist in its shard.
class ShardedSafetensors {
 public:
  // `path` is an index .json, a single .safetensors file, or a directory holding
  // model.safetensors.index.json or model.safetensors.
  explicit ShardedSafetensors(const std::string& path);

  ShardedSafetensors(ShardedSafetensors&&) noexcept;
  ShardedSafetensors& operator=(ShardedSafetensors&&) noexcept;
  ~ShardedSafetensors();

  const std::string& path() const;
  std::size_t size() const;                // number of tensors (weight_map entries)
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  const TensorView* find(const std::string& name) const;  // nullptr if absent
  const TensorView& get(const std::string& name) const;   // InputError if absent
  std::size_t num_shards() const;
  const SafetensorsFile& shard(std::size_t i) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinklab
