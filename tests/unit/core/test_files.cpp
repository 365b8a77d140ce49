#include <filesystem>

#include <gtest/gtest.h>

#include "io/error.h"
#include "io/files.h"
#include "io/json_io.h"

#include <nlohmann/json.hpp>

using namespace sinklab;

TEST(Files, AtomicWriteLeavesNoTempOnFailure) {
  auto dir = std::filesystem::temp_directory_path() / "sinklab_files_test";
  std::filesystem::remove_all(dir);
  write_file_atomic((dir / "a.txt").string(), std::string("hello"));
  EXPECT_EQ(read_file((dir / "a.txt").string()), "hello");
  EXPECT_THROW(write_file_atomic((dir / "b.txt").string(), [](std::ostream& o) {
                 o << "partial";
                 throw InputError("boom");
               }),
               InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "b.txt"));
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++n;
  EXPECT_EQ(n, 1);
  std::filesystem::remove_all(dir);
}

TEST(Files, MissingFileIsInputError) { EXPECT_THROW(read_file("/nonexistent/x"), InputError); }

TEST(Json, MalformedIsInputError) {
  try {
    parse_json("{\"a\": [1, 2", "test.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.json: malformed JSON"), std::string::npos);
  }
}
