// libsinklab_spm: a C interface to libsentencepiece, loaded at run time by
// src/data/spm_lib.cpp in its own symbol scope.
//
// Why: Debian's libsentencepiece.so.0 carries its own copy of protobuf-lite and exports
// its symbols. Linked into a process that also loads the system libprotobuf (LibTorch
// does, through libonnx_proto), either library's protobuf calls land in the other's
// copy, and the process crashes while initialising. Loaded through this shim with
// RTLD_LOCAL | RTLD_DEEPBIND, sentencepiece binds to its own copy and the rest of the
// process never sees it. Only plain C types cross this boundary.
#include <sentencepiece_processor.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace {
struct Handle {
  sentencepiece::SentencePieceProcessor sp;
  std::string error;
};
void put_error(char* err, size_t cap, const std::string& msg) {
  if (!err || cap == 0) return;
  const size_t n = msg.size() < cap - 1 ? msg.size() : cap - 1;
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}
}  // namespace

extern "C" {

__attribute__((visibility("default"))) int sinklab_spm_abi_version() { return 1; }

// Parses a serialized ModelProto. Returns a handle, or null with a message in err.
__attribute__((visibility("default"))) void* sinklab_spm_load(const char* bytes, size_t n, char* err, size_t cap) {
  try {
    auto* h = new Handle;
    const auto st = h->sp.LoadFromSerializedProto(std::string(bytes, n));
    if (!st.ok()) {
      put_error(err, cap, st.ToString());
      delete h;
      return nullptr;
    }
    return h;
  } catch (const std::exception& e) {
    put_error(err, cap, e.what());
    return nullptr;
  }
}

__attribute__((visibility("default"))) void sinklab_spm_free(void* h) { delete static_cast<Handle*>(h); }

__attribute__((visibility("default"))) int sinklab_spm_size(void* h) { return static_cast<Handle*>(h)->sp.GetPieceSize(); }

// The piece of `id` (not NUL-terminated; *len bytes), valid while the handle lives.
__attribute__((visibility("default"))) const char* sinklab_spm_piece(void* h, int id, size_t* len) {
  const std::string& s = static_cast<Handle*>(h)->sp.IdToPiece(id);
  *len = s.size();
  return s.data();
}

__attribute__((visibility("default"))) float sinklab_spm_score(void* h, int id) {
  return static_cast<Handle*>(h)->sp.GetScore(id);
}

// which: 0 unk, 1 bos, 2 eos, 3 pad (-1 where the model has none).
__attribute__((visibility("default"))) int sinklab_spm_special(void* h, int which) {
  const auto& sp = static_cast<Handle*>(h)->sp;
  switch (which) {
    case 0: return sp.unk_id();
    case 1: return sp.bos_id();
    case 2: return sp.eos_id();
    case 3: return sp.pad_id();
    default: return -1;
  }
}

// Encodes text into at most cap ids. Returns the number of ids (which may exceed cap:
// call again with a larger buffer), or -1 on an error.
__attribute__((visibility("default"))) long sinklab_spm_encode(void* h, const char* text, size_t n, int* out,
                                                               size_t cap) {
  std::vector<int> ids;
  if (!static_cast<Handle*>(h)->sp.Encode(std::string(text, n), &ids).ok()) return -1;
  for (size_t i = 0; i < ids.size() && i < cap; ++i) out[i] = ids[i];
  return static_cast<long>(ids.size());
}

}  // extern "C"
