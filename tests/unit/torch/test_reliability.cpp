// Models that parse but cannot be run are refused at load (issue 20): non-finite
// weights, a tokenizer with ids the embedding does not have.
#include <filesystem>
#include <cstring>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"
#include "io/safetensors.h"
#include "model/pretrained.h"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {
std::string copy_model(const std::string& family, const std::string& tag) {
  auto d = fs::temp_directory_path() / ("sinklab_rel_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::copy(std::string(SINKLAB_TEST_DATA) + "/hf/" + family, d, fs::copy_options::recursive);
  return d.string();
}
std::string error_of(const std::string& dir) {
  try {
    load_pretrained(dir, LoadOptions{});
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Reliability, NonFiniteWeightIsRefusedAtLoad) {
  for (const char* weights : {"stored", "float32"}) {
    const std::string dir = copy_model("llama", weights);
    const std::string file = dir + "/model.safetensors";
    std::string name;
    size_t offset = 0;
    {
      // File offset of the tensor's 3rd element: 8 + header length + its offset in the
      // data section (which the first tensor starts, the file being valid safetensors).
      SafetensorsFile f(file);
      const uint8_t* base = nullptr;
      for (const auto& v : f.tensors())
        if (!base || v.data < base) base = v.data;
      for (const auto& v : f.tensors())
        if (v.name.find("mlp.down_proj") != std::string::npos && v.dtype == DType::F32) {
          name = v.name;
          offset = (size_t)(v.data - base) + 8;
          break;
        }
      ASSERT_FALSE(name.empty());
      const std::string head = read_file(file).substr(0, 8);
      uint64_t n = 0;
      std::memcpy(&n, head.data(), 8);
      offset += 8 + (size_t)n;
    }
    {
      std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
      const float inf = std::numeric_limits<float>::infinity();
      io.seekp((std::streamoff)offset);
      io.write(reinterpret_cast<const char*>(&inf), sizeof inf);
    }
    LoadOptions o;
    o.weights = weights;
    std::string err;
    try {
      load_pretrained(dir, o);
    } catch (const InputError& e) {
      err = e.what();
    }
    EXPECT_NE(err.find("tensor"), std::string::npos) << weights << ": " << err;
    EXPECT_NE(err.find("non-finite"), std::string::npos) << weights << ": " << err;
    fs::remove_all(dir);
  }
}

TEST(Reliability, TokenizerLargerThanTheVocabularyIsRefusedAtLoad) {
  const std::string dir = copy_model("gpt2", "tok");
  EXPECT_EQ(error_of(dir), "");  // as shipped: 256 tokens, vocabulary 256
  auto j = nlohmann::json::parse(read_file(dir + "/tokenizer.json"));
  j["added_tokens"].push_back({{"id", 256}, {"content", "<extra>"}, {"single_word", false}, {"lstrip", false},
                               {"rstrip", false}, {"normalized", false}, {"special", true}});
  write_file_atomic(dir + "/tokenizer.json", j.dump());
  const std::string err = error_of(dir);
  EXPECT_NE(err.find("the tokenizer has 257 tokens, more than the model's vocabulary of 256"), std::string::npos) << err;
  fs::remove_all(dir);
}
