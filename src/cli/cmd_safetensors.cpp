// `sinklab model tensors FILE`: lists the tensors of a safetensors file, a
// sharded index (model.safetensors.index.json) or a model directory.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "io/safetensors.h"

namespace {

std::string shape_str(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Names may hold any characters: keep the table one entry per line.
std::string one_line(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, (char)c);
  return out;
}

sinklab::cli::Registrar reg(40, [](CLI::App& app) {
  auto* model = sinklab::cli::group(app, "model");
  auto* cmd = model->add_subcommand("tensors", "List the tensors of a safetensors file, index or model directory");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("FILE", *path, "model.safetensors, model.safetensors.index.json or a directory")->required();
  cmd->add_flag("--json", *json, "print the tensors (name, dtype, shape, bytes) as JSON");
  cmd->callback([path, json] {
    sinklab::ShardedSafetensors st(*path);
    if (*json) {
      nlohmann::json J{{"files", st.num_shards()}, {"tensors", nlohmann::json::array()}};
      for (const auto& name : st.names()) {
        const auto& t = st.get(name);
        J["tensors"].push_back(
            {{"name", name}, {"dtype", sinklab::dtype_name(t.dtype)}, {"shape", t.shape}, {"bytes", t.nbytes}});
      }
      const std::string out = J.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
      return;
    }
    std::size_t w = 4;
    std::vector<std::string> names = st.names();
    for (auto& n : names) n = one_line(n), w = std::max(w, n.size());
    std::uint64_t total = 0;
    std::string out = fmt::format("{:<{}}  {:<5} {:<24} {:>12}\n", "name", w, "dtype", "shape", "bytes");
    std::size_t i = 0;
    for (const auto& raw : st.names()) {
      const auto& t = st.get(raw);
      out += fmt::format("{:<{}}  {:<5} {:<24} {:>12}\n", names[i++], w, sinklab::dtype_name(t.dtype),
                         shape_str(t.shape), t.nbytes);
      total += t.nbytes;
    }
    out += fmt::format("{} tensors, {} bytes in {} file(s)\n", st.size(), total, st.num_shards());
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
});

}  // namespace
