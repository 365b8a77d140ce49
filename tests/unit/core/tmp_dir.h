// A fresh scratch directory per test (named after the test and the process),
// removed afterwards. Shared by the core unit tests.
#pragma once
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace sinklab::testing {

struct TmpDir {
  std::filesystem::path path;
  explicit TmpDir(const std::string& prefix = "sinklab_test_") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() /
           (prefix + info->test_suite_name() + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TmpDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

}  // namespace sinklab::testing
