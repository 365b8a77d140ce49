#include "io/model_path.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "io/error.h"
#include "io/gguf_info.h"

namespace fs = std::filesystem;

namespace sinklab {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
  return s.substr(i);
}

// A model to open inside a snapshot (or sinklab cache) directory; "" when none.
std::string model_in_dir(const fs::path& dir, const std::string& what) {
  if (is_file(dir / "config.json")) return dir.string();
  std::vector<std::string> ggufs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".gguf") ggufs.push_back(e.path().string());
  std::sort(ggufs.begin(), ggufs.end());
  if (ggufs.size() == 1) return ggufs[0];
  if (ggufs.size() > 1)
    fail(fmt::format("{} ('{}') holds {} .gguf files; give the one to use by its path", what, dir.string(),
                     ggufs.size()));
  return "";
}

// The snapshot of one hub repository directory (models--ORG--NAME) at `rev` ("" = main).
fs::path snapshot_of(const fs::path& repo, const std::string& repo_name, const std::string& rev,
                     std::string& commit) {
  const fs::path snaps = repo / "snapshots";
  const std::string want = rev.empty() ? "main" : rev;
  if (is_file(repo / "refs" / want)) {
    std::ifstream in(repo / "refs" / want);
    std::string h;
    std::getline(in, h);
    commit = trim(h);
    require(!commit.empty() && is_dir(snaps / commit),
            fmt::format("model '{}': refs/{} names commit '{}', which has no snapshot in '{}'", repo_name, want, commit,
                        repo.string()));
    return snaps / commit;
  }
  if (!rev.empty() && is_dir(snaps / rev)) {
    commit = rev;
    return snaps / rev;
  }
  std::vector<std::string> have;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(snaps, ec))
    if (e.is_directory()) have.push_back(e.path().filename().string());
  std::sort(have.begin(), have.end());
  if (rev.empty() && have.size() == 1) {
    commit = have[0];
    return snaps / have[0];
  }
  fail(fmt::format("model '{}': no revision '{}' in '{}' (snapshots: {}); name one as {}@REV", repo_name, want,
                   repo.string(), have.empty() ? std::string("none") : fmt::format("{}", fmt::join(have, ", ")),
                   repo_name));
}

}  // namespace

std::vector<std::string> hf_hub_cache_dirs() {
  std::vector<std::string> d;
  auto add = [&](const std::string& p) {
    if (!p.empty() && std::find(d.begin(), d.end(), p) == d.end()) d.push_back(p);
  };
  add(env("HF_HUB_CACHE"));
  if (!env("HF_HOME").empty()) add(env("HF_HOME") + "/hub");
  if (!env("XDG_CACHE_HOME").empty()) add(env("XDG_CACHE_HOME") + "/huggingface/hub");
  if (!env("HOME").empty()) add(env("HOME") + "/.cache/huggingface/hub");
  return d;
}

ResolvedModel resolve_model(const std::string& arg) {
  std::error_code ec;
  if (fs::exists(arg, ec)) return {arg, "path"};
  // Only names are looked up: ORG/NAME or NAME, optionally @REV. Anything else (an
  // absolute or ./ path, a file name with an extension such as .gguf) is a path that
  // does not exist, and the opener says so.
  static const std::regex name_re(R"(^([A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$)");
  static const std::regex file_re(R"(\.(gguf|safetensors|json|model|bin)$)");
  if (!std::regex_match(arg, name_re) || std::regex_search(arg, file_re)) return {arg, "path"};
  const auto at = arg.find('@');
  const std::string name = arg.substr(0, at), rev = at == std::string::npos ? "" : arg.substr(at + 1);
  const auto slash = name.find('/');
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);

  std::vector<std::string> looked;
  // 1. sinklab's model cache (no revisions there).
  const fs::path mine = fs::path(gguf::sinklab_cache_dir()) / "models";
  looked.push_back(mine.string());
  if (rev.empty()) {
    if (is_file(mine / (base + ".gguf"))) return {(mine / (base + ".gguf")).string(), "sinklab cache"};
    if (is_dir(mine / base)) {
      auto p = model_in_dir(mine / base, "sinklab cache entry");
      if (!p.empty()) return {p, "sinklab cache"};
    }
  }
  // 2. the Hugging Face hub cache.
  for (const auto& hub : hf_hub_cache_dirs()) {
    looked.push_back(hub);
    if (!is_dir(hub)) continue;
    std::vector<fs::path> repos;
    if (slash != std::string::npos) {
      fs::path r = fs::path(hub) / ("models--" + name.substr(0, slash) + "--" + base);
      if (is_dir(r)) repos.push_back(r);
    } else {
      for (const auto& e : fs::directory_iterator(hub, ec)) {
        const std::string f = e.path().filename().string();
        const std::string suffix = "--" + base;
        if (e.is_directory() && f.rfind("models--", 0) == 0 && f.size() > suffix.size() &&
            f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            f.find("--", 8) == f.size() - suffix.size())
          repos.push_back(e.path());
      }
      std::sort(repos.begin(), repos.end());
      if (repos.size() > 1) {
        std::vector<std::string> names;
        for (auto& r : repos) {
          std::string f = r.filename().string().substr(8);
          names.push_back(f.replace(f.find("--"), 2, "/"));
        }
        fail(fmt::format("model '{}' is ambiguous in '{}': {}; give ORG/NAME", arg, hub, fmt::join(names, ", ")));
      }
    }
    if (repos.empty()) continue;
    std::string repo_name = repos[0].filename().string().substr(8);
    repo_name.replace(repo_name.find("--"), 2, "/");
    std::string commit;
    const fs::path snap = snapshot_of(repos[0], repo_name, rev, commit);
    auto p = model_in_dir(snap, fmt::format("snapshot {}@{}", repo_name, commit));
    require(!p.empty(), fmt::format("model '{}': snapshot '{}' has neither config.json nor a .gguf file", arg,
                                    snap.string()));
    return {p, fmt::format("Hugging Face cache ({}@{})", repo_name, commit.substr(0, 12))};
  }
  fail(fmt::format("model '{}' not found: not a file or directory, and not in sinklab's model cache or a Hugging "
                   "Face cache (looked in {})",
                   arg, fmt::join(looked, ", ")));
}

}  // namespace sinklab
