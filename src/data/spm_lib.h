// libsentencepiece through its run-time loaded shim (src/spm_shim/spm_shim.cpp explains
// why it is not linked directly). Torch-free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sinklab {

// A loaded SentencePiece model. InputError (naming `what`) when the library rejects the
// model; InputError naming the shim when the shim cannot be loaded.
class SpmProcessor {
 public:
  SpmProcessor(const std::string& serialized_model, const std::string& what);
  ~SpmProcessor();
  SpmProcessor(const SpmProcessor&) = delete;
  SpmProcessor& operator=(const SpmProcessor&) = delete;

  int piece_size() const;
  std::string id_to_piece(int id) const;
  float score(int id) const;
  int unk_id() const;
  int bos_id() const;
  int eos_id() const;
  int pad_id() const;
  // False if the library reports an error.
  bool encode(const std::string& text, std::vector<int>& ids) const;

 private:
  void* handle_ = nullptr;
};

// Where the shim is looked for, in order: $SINKLAB_SPM_SHIM, the build tree's copy,
// next to the running executable, and the dynamic linker's search path.
std::vector<std::string> spm_shim_candidates();

}  // namespace sinklab
