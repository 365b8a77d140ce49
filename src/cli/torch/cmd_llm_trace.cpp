// sinklab llm trace: one prompt through a pretrained model, looked at from inside:
// flags -> llm::trace (src/analysis/llm_trace.h) -> report::write_trace_report
// (src/report/llm_trace_report.h).
#include <cmath>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "analysis/llm_trace.h"
#include "cli/command.h"
#include "data/tokenizer.h"
#include "io/error.h"
#include "io/files.h"
#include "io/out_dir.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "report/core/figures.h"
#include "report/llm_trace_report.h"

namespace sinklab::cli {
namespace {

struct TraceArgs {
  std::string model, prompt_pos, prompt, file, out = "llm-trace";
  std::vector<std::string> save, zero_heads, sink_heads;
  int sink_pos = 0, top = 10, threads = 0;
  double threshold = 0.5;
  bool no_bos = false, special = false, json = false, force = false;
  LoadOptions load;
};

void run_trace(const TraceArgs& a, const std::string& command) {
  std::string prompt = a.prompt.empty() ? a.prompt_pos : a.prompt;
  if (!a.file.empty()) prompt = read_file(a.file);
  require(!prompt.empty(), "llm trace: give the prompt (PROMPT, --prompt TEXT or --file FILE); it is empty");
  require_utf8(prompt, a.file.empty() ? "the prompt" : "'" + a.file + "'");
  auto lock = claim_out_dir(a.out, a.force);
  llm::TraceOptions o;
  o.add_bos = !a.no_bos, o.parse_special = a.special, o.sink_pos = a.sink_pos, o.top_k = a.top;
  o.dormant_threshold = a.threshold, o.save = a.save;
  for (const auto& h : a.zero_heads) o.edits.push_back({Intervention::ZeroHead, parse_head(h, "--zero-head")});
  for (const auto& h : a.sink_heads) o.edits.push_back({Intervention::AttendSink, parse_head(h, "--attend-sink")});
  if (a.threads > 0) at::set_num_threads(a.threads);
  auto pm = load_pretrained(a.model, a.load);
  auto t = llm::trace(*pm.model, pm.tok(), prompt, o);
  report::TraceReportInput in{command, pm.name, &t};
  auto files = report::write_trace_report(a.out, in);
  if (a.json) {
    std::cout << report::trace_to_json(in).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  int dormant = 0, n = 0;
  for (const auto& h : t.heads)
    if (std::isfinite(h.sink_mass)) ++n, dormant += is_dormant(h.sink_mass, a.threshold);
  fmt::print("{} ({}): {} tokens, {} of {} heads dormant (sink mass >= {} on position {})\n", pm.name, pm.arch,
             t.ids.size(), dormant, n, a.threshold, a.sink_pos);
  const bool edited = !o.edits.empty();
  fmt::print("{:>4}  {:<16} {:>9}{}\n", "rank", "next token", "p", edited ? "   p edited" : "");
  for (size_t i = 0; i < t.next.size() && i < 10; ++i)
    fmt::print("{:>4}  {:<16} {:>9.4f}{}\n", i + 1, report::display_token(t.next[i].piece, 16), t.next[i].p,
               edited ? fmt::format(" {:>10.4f}", t.next[i].p_edited) : "");
  if (edited) fmt::print("KL(unedited || edited) = {:.4g} nats\n", t.edited_kl);
  fmt::print("wrote {} files to {} (report.html{})\n", files.size(), a.out,
             t.saved.empty() ? "" : fmt::format(", hooks.safetensors with {} tensors", t.saved.size()));
}

Registrar reg(53, [](CLI::App& app) {
  auto* g = group(app, "llm");
  auto a = std::make_shared<TraceArgs>();
  auto* c = g->add_subcommand(
      "trace", "One prompt from inside: attention patterns, sink mass, value and residual norms per token, "
               "next-token effect of head edits; HTML + CSV + JSON, hook tensors as safetensors");
  c->add_option("model", a->model, "GGUF file, Hugging Face directory, or a model name (ORG/NAME[@REV], NAME)")
      ->required();
  auto* pos = c->add_option("prompt", a->prompt_pos, "the prompt (or --prompt / --file)");
  auto* pr = c->add_option("--prompt", a->prompt, "the prompt");
  auto* fi = c->add_option("--file", a->file, "read the prompt from a file");
  pos->excludes(pr)->excludes(fi);
  pr->excludes(fi);
  add_out_options(c, a->out, a->force);
  add_load_options(c, a->load);
  c->add_option("--save", a->save,
                "hook tensors to save in hooks.safetensors, comma-separated names, '*' for every layer "
                "(e.g. 'blocks.*.attn.hook_pattern,blocks.3.hook_resid_post')")
      ->delimiter(',');
  c->add_option("--zero-head", a->zero_heads, "zero this head's output (L3H5 or 3.5; repeatable)");
  c->add_option("--attend-sink", a->sink_heads, "make this head attend only to the sink (repeatable)");
  c->add_option("--sink-pos", a->sink_pos, "sink position P")->capture_default_str();
  c->add_option("--threshold", a->threshold, "dormant when sink mass >= this")->capture_default_str();
  c->add_option("--top", a->top, "next-token candidates listed")->capture_default_str();
  c->add_flag("--no-bos", a->no_bos, "do not prepend BOS");
  c->add_flag("--special", a->special, "parse special tokens (<|im_start|> ...) in the prompt");
  c->add_option("--threads", a->threads, "intra-op threads (0 = LibTorch default)")->capture_default_str();
  c->add_flag("--json", a->json, "print the summary as JSON (trace.json) instead of text");
  c->callback([a]() { run_trace(*a, "sinklab llm trace " + a->model); });
});

}  // namespace
}  // namespace sinklab::cli
