// Model names (src/io/model_path.h) against a sinklab cache and a Hugging Face hub
// cache laid out by the test, as huggingface_hub lays them out.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <unistd.h>

#include "io/error.h"
#include "io/model_path.h"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p, const std::string& text = "{}") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

struct Caches : ::testing::Test {
  fs::path root;
  void SetUp() override {
    root = fs::temp_directory_path() / fmt_name();
    fs::remove_all(root);
    const fs::path hub = root / "hub";
    // An HF model directory at two commits, main -> c2.
    touch(hub / "models--Org--Tiny" / "refs" / "main", "c2\n");
    touch(hub / "models--Org--Tiny" / "refs" / "v1", "c1");
    touch(hub / "models--Org--Tiny" / "snapshots" / "c1" / "config.json");
    touch(hub / "models--Org--Tiny" / "snapshots" / "c2" / "config.json");
    // A GGUF repository with one snapshot and no refs.
    touch(hub / "models--Other--Tiny-GGUF" / "snapshots" / "c9" / "tiny-q8_0.gguf", "x");
    // The same NAME under two orgs.
    touch(hub / "models--A--Twin" / "snapshots" / "a" / "config.json");
    touch(hub / "models--B--Twin" / "snapshots" / "b" / "config.json");
    touch(root / "sinklab" / "models" / "Cached-Model.gguf", "x");
    setenv("HF_HUB_CACHE", hub.c_str(), 1);
    setenv("SINKLAB_CACHE", (root / "sinklab").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("HF_HUB_CACHE");
    unsetenv("SINKLAB_CACHE");
    fs::remove_all(root);
  }
  static std::string fmt_name() { return "sinklab_model_path_" + std::to_string(::getpid()); }
};

}  // namespace

TEST_F(Caches, NamesResolveToSnapshots) {
  auto r = resolve_model("Org/Tiny");
  EXPECT_EQ(r.path, (root / "hub/models--Org--Tiny/snapshots/c2").string());
  EXPECT_NE(r.from.find("Org/Tiny@c2"), std::string::npos) << r.from;
  EXPECT_EQ(resolve_model("Org/Tiny@v1").path, (root / "hub/models--Org--Tiny/snapshots/c1").string());
  EXPECT_EQ(resolve_model("Org/Tiny@c1").path, (root / "hub/models--Org--Tiny/snapshots/c1").string());
  EXPECT_EQ(resolve_model("Tiny").path, (root / "hub/models--Org--Tiny/snapshots/c2").string());
  EXPECT_EQ(resolve_model("Other/Tiny-GGUF").path,
            (root / "hub/models--Other--Tiny-GGUF/snapshots/c9/tiny-q8_0.gguf").string());
  auto c = resolve_model("Cached-Model");
  EXPECT_EQ(c.path, (root / "sinklab/models/Cached-Model.gguf").string());
  EXPECT_EQ(c.from, "sinklab cache");
}

TEST_F(Caches, PathsPassThrough) {
  EXPECT_EQ(resolve_model(root.string()).path, root.string());
  EXPECT_EQ(resolve_model("/no/such/file.gguf").path, "/no/such/file.gguf");
  EXPECT_EQ(resolve_model("missing.gguf").path, "missing.gguf");
}

TEST_F(Caches, ProblemsNameWhereItLooked) {
  auto e = error_of([] { resolve_model("Nobody/Nothing"); });
  EXPECT_NE(e.find("model 'Nobody/Nothing' not found"), std::string::npos) << e;
  EXPECT_NE(e.find((root / "hub").string()), std::string::npos) << e;
  EXPECT_NE(e.find((root / "sinklab" / "models").string()), std::string::npos) << e;
  e = error_of([] { resolve_model("Twin"); });
  EXPECT_NE(e.find("ambiguous"), std::string::npos) << e;
  EXPECT_NE(e.find("A/Twin, B/Twin"), std::string::npos) << e;
  e = error_of([] { resolve_model("Org/Tiny@v9"); });
  EXPECT_NE(e.find("no revision 'v9'"), std::string::npos) << e;
  EXPECT_NE(e.find("c1, c2"), std::string::npos) << e;
}
