#include "data/spm_lib.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "io/error.h"

#ifndef SINKLAB_SPM_SHIM_PATH
#define SINKLAB_SPM_SHIM_PATH ""
#endif

// RTLD_DEEPBIND is what isolates sentencepiece's protobuf copy; AddressSanitizer refuses
// it, and sanitizer builds (fuzzing) have no LibTorch, hence no second protobuf.
#if defined(__SANITIZE_ADDRESS__)
#define SINKLAB_SPM_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SINKLAB_SPM_DEEPBIND 0
#endif
#endif
#ifndef SINKLAB_SPM_DEEPBIND
#define SINKLAB_SPM_DEEPBIND RTLD_DEEPBIND
#endif

namespace sinklab {
namespace {

struct Api {
  void* (*load)(const char*, size_t, char*, size_t) = nullptr;
  void (*free_)(void*) = nullptr;
  int (*size)(void*) = nullptr;
  const char* (*piece)(void*, int, size_t*) = nullptr;
  float (*score)(void*, int) = nullptr;
  int (*special)(void*, int) = nullptr;
  long (*encode)(void*, const char*, size_t, int*, size_t) = nullptr;
};

template <class F>
void bind(void* lib, const char* name, F& f, const std::string& path) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f) fail(fmt::format("SentencePiece shim '{}' lacks the symbol {}", path, name));
}

const Api& api() {
  static std::once_flag once;
  static Api a;
  static std::string error;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : spm_shim_candidates()) {
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | SINKLAB_SPM_DEEPBIND);
      if (!lib) {
        tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
        continue;
      }
      try {
        bind(lib, "sinklab_spm_load", a.load, path);
        bind(lib, "sinklab_spm_free", a.free_, path);
        bind(lib, "sinklab_spm_size", a.size, path);
        bind(lib, "sinklab_spm_piece", a.piece, path);
        bind(lib, "sinklab_spm_score", a.score, path);
        bind(lib, "sinklab_spm_special", a.special, path);
        bind(lib, "sinklab_spm_encode", a.encode, path);
      } catch (const InputError& e) {
        error = e.what();
        a = Api{};
      }
      return;
    }
    error = "cannot load the SentencePiece shim libsinklab_spm.so (set SINKLAB_SPM_SHIM to its path): " + tried;
  });
  if (!a.load) fail(error);
  return a;
}

}  // namespace

std::vector<std::string> spm_shim_candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("SINKLAB_SPM_SHIM"); env && *env) c.push_back(env);
  std::error_code ec;
  const std::string built = SINKLAB_SPM_SHIM_PATH;
  if (!built.empty() && std::filesystem::exists(built, ec)) c.push_back(built);
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    auto dir = std::filesystem::path(exe).parent_path();
    for (auto p : {dir / "libsinklab_spm.so", dir.parent_path() / "libsinklab_spm.so"})
      if (std::filesystem::exists(p, ec)) c.push_back(p.string());
  }
  c.push_back("libsinklab_spm.so");
  return c;
}

SpmProcessor::SpmProcessor(const std::string& serialized_model, const std::string& what) {
  const Api& a = api();
  char err[512] = {0};
  handle_ = a.load(serialized_model.data(), serialized_model.size(), err, sizeof err);
  if (!handle_) {
    std::string msg = err;
    for (char& ch : msg)
      if (ch == '\n' || ch == '\r') ch = ' ';
    fail(fmt::format("{}: not a valid SentencePiece model ({})", what, msg));
  }
}

SpmProcessor::~SpmProcessor() {
  if (handle_) api().free_(handle_);
}

int SpmProcessor::piece_size() const { return api().size(handle_); }

std::string SpmProcessor::id_to_piece(int id) const {
  size_t len = 0;
  const char* p = api().piece(handle_, id, &len);
  return std::string(p, len);
}

float SpmProcessor::score(int id) const { return api().score(handle_, id); }
int SpmProcessor::unk_id() const { return api().special(handle_, 0); }
int SpmProcessor::bos_id() const { return api().special(handle_, 1); }
int SpmProcessor::eos_id() const { return api().special(handle_, 2); }
int SpmProcessor::pad_id() const { return api().special(handle_, 3); }

bool SpmProcessor::encode(const std::string& text, std::vector<int>& ids) const {
  ids.assign(text.size() + 16, 0);
  long n = api().encode(handle_, text.data(), text.size(), ids.data(), ids.size());
  if (n < 0) return false;
  if ((size_t)n > ids.size()) {
    ids.assign((size_t)n, 0);
    n = api().encode(handle_, text.data(), text.size(), ids.data(), ids.size());
    if (n < 0) return false;
  }
  ids.resize((size_t)n);
  return true;
}

}  // namespace sinklab
