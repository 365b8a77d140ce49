// sinklab llm scan: sinks, massive activations, active-dormant heads by domain and
// head ablations on a pretrained model (issue 6).
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "model/pretrained.h"
#include "report/llm_scan_run.h"

namespace sinklab::cli {
namespace {

void run_scan(const report::LlmScanArgs& a) {
  // With --json the summary is the only thing on stdout; progress notes go to stderr.
  auto J = report::run_llm_scan(a, a.json ? stderr : stdout);
  if (a.json)
    std::cout << J.dump(2) << "\n";
  else
    fmt::print("wrote {} CSV files, summary.json and {} (total wall time {:.1f} s)\n", J["files"].size(),
               J["report"].get<std::string>(), J["seconds"].get<double>());
}

Registrar reg(51, [](CLI::App& app) {
  auto* g = group(app, "llm");
  auto a = std::make_shared<report::LlmScanArgs>();
  auto* c = g->add_subcommand("scan",
                              "Attention sinks, massive activations, active/dormant heads per domain, head ablations");
  c->add_option("model", a->model, "model file (GGUF)")->required();
  c->add_option("--domain", a->domains, "NAME=CORPUS.jsonl (repeat for several domains)")->required();
  c->add_option("--docs", a->docs, "documents per domain (short ones are skipped and counted)")->capture_default_str();
  c->add_option("--ctx", a->ctx, "tokens per document seen by the model (BOS included)")->capture_default_str();
  c->add_option("--sink-pos", a->sink_pos, "sink position P")->capture_default_str();
  c->add_flag("--no-bos", a->no_bos, "do not prepend BOS (the sink position is then a text token)");
  c->add_flag("--both-bos", a->both_bos, "scan with and without BOS (ablation uses the BOS run)");
  c->add_option("--threshold", a->threshold, "dormant when sink mass >= this")->capture_default_str();
  c->add_option("--secondary-threshold", a->secondary,
                "secondary sink: mean attention from later queries >= this")
      ->capture_default_str();
  c->add_option("--ablate", a->ablate, "heads to ablate: all | top:K (the K best-ranked domain-dependent heads: dormant in one domain, active in the other; with one domain the K with most sink mass) | L3H5,L7H0,... (or 3.5,7.0) | none")->capture_default_str();
  c->add_option("--ablate-docs", a->ablate_docs, "documents per domain used for ablation (0 = all scanned)")
      ->capture_default_str();
  c->add_option("--ablate-kind", a->ablate_kinds, "zero-head | attend-sink (repeatable; default both)");
  c->add_flag("--no-attribution", a->no_attribution,
              "skip the first-order estimate of both ablations for every head (one backward pass per document)");
  c->add_flag("--graddrop", a->graddrop,
              "estimate with AtP*'s GradDrop: the size of each head's effect, robust to cancellation between "
              "paths (L-1 more backward passes per document)")
      ->excludes("--no-attribution");
  c->add_option("--ablate-batch", a->batch, "ablated copies per forward pass")->capture_default_str();
  c->add_option("--resamples", a->resamples, "bootstrap resamples")->capture_default_str();
  c->add_option("--seed", a->seed, "bootstrap seed")->capture_default_str();
  c->add_option("--threads", a->threads, "intra-op threads (0 = LibTorch default)")->capture_default_str();
  c->add_option("--sample-tokens", a->sample_tokens, "tokens in the attention-pattern figures")->capture_default_str();
  add_out_options(c, a->out, a->force);
  add_load_options(c, a->load);
  c->add_flag("--json", a->json, "print a JSON summary (also written as summary.json) instead of the text summary");
  c->add_flag("--no-progress", a->no_progress, "no progress bars");
  c->callback([a]() {
    a->command = "sinklab llm scan " + a->model;
    for (auto& d : a->domains) a->command += " --domain " + d;
    a->command += fmt::format(" --docs {} --ctx {} --sink-pos {}{} --threshold {} --ablate {} --ablate-docs {} --out {}",
                              a->docs, a->ctx, a->sink_pos,
                              a->no_bos ? " --no-bos" : (a->both_bos ? " --both-bos" : ""), a->threshold, a->ablate,
                              a->ablate_docs, a->out);
    if (a->no_attribution) a->command += " --no-attribution";
    if (a->graddrop) a->command += " --graddrop";
    run_scan(*a);
  });
});

}  // namespace
}  // namespace sinklab::cli
