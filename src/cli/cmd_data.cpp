// sinklab data stats | sample: the Bigram-Backcopy data engine from the command line.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "data/bb.h"
#include "io/error.h"

namespace sinklab::cli {
namespace {

struct DataOptions {
  std::string source = "shakespeare";
  std::string task = "bb";
  int T = 256;
  int k = 3;
  std::string triggers;  // comma-separated display strings; "space" and "\\n" accepted
  int n_bos = 1;
  double p = 0.5;
  uint64_t seed = 0;
  int threads = 0;
};

void add_data_options(CLI::App* c, DataOptions& o) {
  c->add_option("--source", o.source,
                "bigram source: shakespeare (the paper's Tiny Shakespeare counts, built in), synthetic[:V[:SEED]], "
                "counts:FILE.json, text:FILE, or a path (*.json = counts)")
      ->capture_default_str();
  c->add_option("--task", o.task, "task: bb, markov, bb-mix, bietti")->capture_default_str();
  c->add_option("-T,--seq-len", o.T, "sequence length T (a row has T+1 tokens)")->capture_default_str();
  c->add_option("-k,--triggers-top", o.k, "triggers = the k most frequent tokens")->capture_default_str();
  c->add_option("--triggers", o.triggers, "explicit comma-separated trigger tokens (use 'space', '\\n', 'comma')");
  c->add_option("--n-bos", o.n_bos, "number of BOS tokens")->capture_default_str();
  c->add_option("-p,--mix-p", o.p, "bb-mix backcopy probability")->capture_default_str();
  c->add_option("--seed", o.seed, "random seed")->capture_default_str();
  c->add_option("--threads", o.threads, "generator threads (0 = all)")->capture_default_str();
}

std::vector<std::string> split_triggers(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string t = s.substr(i, j - i);
    if (t == "space") t = " ";
    else if (t == "\\n" || t == "newline") t = "\n";
    else if (t == "comma") t = ",";
    if (!t.empty()) out.push_back(t);
    i = j + 1;
  }
  return out;
}

std::unique_ptr<BBTask> make_task(const DataOptions& o) {
  TaskConfig cfg;
  cfg.kind = parse_task_kind(o.task);
  cfg.seq_len = o.T;
  cfg.n_triggers = o.k;
  cfg.triggers = split_triggers(o.triggers);
  cfg.n_bos = o.n_bos;
  cfg.mix_p = o.p;
  return std::make_unique<BBTask>(BigramSource::from_spec(o.source), cfg);
}

void run_stats(const DataOptions& o, int seqs, bool json) {
  auto task = make_task(o);
  auto st = task->oracle_stats(o.seed, seqs, o.threads);
  std::vector<std::string> trig;
  for (int t : task->triggers()) trig.push_back(task->token_string(t));
  if (json) {
    nlohmann::json j = {{"source", task->source().name()},
                        {"task", task_kind_name(task->config().kind)},
                        {"T", o.T},
                        {"vocab_size", task->vocab_size()},
                        {"source_vocab", task->n_source()},
                        {"n_bos", o.n_bos},
                        {"triggers", trig},
                        {"fallback_rows", task->source().fallback_rows().size()},
                        {"sequences", seqs},
                        {"trigger_fraction", st.trigger_fraction},
                        {"oracle_loss", {{"all", st.loss_all}, {"trigger", st.loss_trigger}, {"nontrigger", st.loss_nontrigger}}},
                        {"oracle_loss_se", {{"all", st.se_all}, {"trigger", st.se_trigger}, {"nontrigger", st.se_nontrigger}}}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::string tl;
  for (auto& t : trig) tl += (tl.empty() ? "" : " ") + ("'" + t + "'");
  fmt::print("source           {}\n", task->source().name());
  fmt::print("task             {}  (T = {}, BOS tokens = {}{})\n", task_kind_name(task->config().kind), o.T, o.n_bos,
             task->config().kind == TaskKind::BBMix ? fmt::format(", p = {}", o.p) : "");
  fmt::print("vocabulary       {} ({} source tokens + {} BOS)\n", task->vocab_size(), task->n_source(), o.n_bos);
  fmt::print("triggers         {} ({})\n", tl, trig.size());
  if (!task->source().fallback_rows().empty())
    fmt::print("fallback rows    {} rows without outgoing counts use the unigram marginal\n",
               task->source().fallback_rows().size());
  fmt::print("trigger fraction {:.4f} of query positions\n", st.trigger_fraction);
  fmt::print("oracle loss      (nats/token, mean over {} sequences, +- standard error)\n", seqs);
  fmt::print("  all            {:.4f} +- {:.4f}\n", st.loss_all, st.se_all);
  fmt::print("  trigger        {:.4f} +- {:.4f}\n", st.loss_trigger, st.se_trigger);
  fmt::print("  non-trigger    {:.4f} +- {:.4f}\n", st.loss_nontrigger, st.se_nontrigger);
}

// As JSON: per sequence its token ids, token strings and the trigger/copy flags.
void print_sample_json(const BBTask& task, const Batch& b, int n, int T) {
  nlohmann::json J = nlohmann::json::array();
  for (int r = 0; r < n; ++r) {
    nlohmann::json seq{{"ids", nlohmann::json::array()}, {"tokens", nlohmann::json::array()},
                       {"trigger", nlohmann::json::array()}, {"copied", nlohmann::json::array()}};
    const int64_t* x = &b.tokens[(size_t)r * (T + 1)];
    for (int t = 0; t <= T; ++t) {
      seq["ids"].push_back(x[t]);
      seq["tokens"].push_back(task.token_string(x[t]));
      seq["trigger"].push_back(t < T && b.is_trigger[(size_t)r * T + t]);
      seq["copied"].push_back(t >= 1 && b.is_copy[(size_t)r * T + t - 1]);
    }
    J.push_back(seq);
  }
  std::cout << J.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void run_sample(const DataOptions& o, int n, int width, bool color, bool json) {
  auto task = make_task(o);
  Batch b;
  task->generate(o.seed, 0, n, b, o.threads, true);
  const int T = o.T;
  if (json) return print_sample_json(*task, b, n, T);
  const char* on_t = color ? "\x1b[1;33m" : "";
  const char* on_c = color ? "\x1b[1;36m" : "";
  const char* off = color ? "\x1b[0m" : "";
  fmt::print("legend: '^' under a trigger (active query), 'c' under a token produced by the copy rule{}\n",
             color ? " (colours: trigger yellow, copied cyan)" : "");
  for (int r = 0; r < n; ++r) {
    fmt::print("--- sequence {} ---\n", r);
    const int64_t* x = &b.tokens[(size_t)r * (T + 1)];
    std::string line, marks;
    int col = 0;
    auto flush = [&]() {
      fmt::print("{}\n{}\n", line, marks);
      line.clear();
      marks.clear();
      col = 0;
    };
    for (int t = 0; t <= T; ++t) {
      std::string s = task->token_string(x[t]);
      int w = (x[t] >= task->n_source() || s == "\\n") ? (int)s.size() : 1;
      bool trig = t < T && b.is_trigger[(size_t)r * T + t];
      bool copied = t >= 1 && b.is_copy[(size_t)r * T + t - 1];
      if (col + w > width) flush();
      char m = trig ? '^' : copied ? 'c' : ' ';
      line += (trig ? on_t : copied ? on_c : "") + s + ((trig || copied) ? off : "");
      marks += std::string(1, m) + std::string(w - 1, ' ');
      col += w;
    }
    flush();
  }
}

Registrar reg(10, [](CLI::App& app) {
  auto* g = group(app, "data");
  auto opts = std::make_shared<DataOptions>();
  {
    auto* c = g->add_subcommand("stats", "Oracle loss (overall, trigger, non-trigger), trigger fraction, vocabulary");
    add_data_options(c, *opts);
    auto seqs = std::make_shared<int>(2000);
    auto json = std::make_shared<bool>(false);
    c->add_option("--seqs", *seqs, "sequences averaged for the oracle loss")->capture_default_str();
    c->add_flag("--json", *json, "machine-readable output");
    c->callback([opts, seqs, json]() { run_stats(*opts, *seqs, *json); });
  }
  {
    auto* c = g->add_subcommand("sample", "Print decoded sequences with triggers and copied tokens marked");
    auto o2 = std::make_shared<DataOptions>();
    o2->T = 64;
    add_data_options(c, *o2);
    auto n = std::make_shared<int>(3);
    auto width = std::make_shared<int>(80);
    auto color = std::make_shared<std::string>("auto");
    auto json = std::make_shared<bool>(false);
    c->add_option("-n,--num", *n, "number of sequences")->capture_default_str();
    c->add_option("--width", *width, "line width")->capture_default_str();
    c->add_option("--color", *color, "auto, always, never")->capture_default_str()->check(
        CLI::IsMember({"auto", "always", "never"}));
    c->add_flag("--json", *json, "print the sequences (ids, tokens, trigger and copy flags) as JSON");
    c->callback([o2, n, width, color, json]() {
      require(*n >= 1 && *n <= 10000, "--num must be in [1, 10000]");
      require(*width >= 20, "--width must be at least 20");
      bool col = *color == "always" || (*color == "auto" && isatty(STDOUT_FILENO));
      run_sample(*o2, *n, *width, col, *json);
    });
  }
});

}  // namespace
}  // namespace sinklab::cli
