#include "report/llm_scan_run.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "analysis/core/heads.h"
#include "analysis/llm_scan.h"
#include "data/corpus.h"
#include "io/error.h"
#include "io/files.h"
#include "io/memory.h"
#include "io/out_dir.h"
#include "model/transformer.h"
#include "report/llm_report.h"

namespace sinklab::report {

nlohmann::json run_llm_scan(const LlmScanArgs& a, FILE* info_in, const PretrainedModel* preloaded) {
  // No stream given: the notes go nowhere (stderr if /dev/null cannot be opened).
  std::unique_ptr<FILE, int (*)(FILE*)> null_stream(info_in ? nullptr : std::fopen("/dev/null", "w"), &std::fclose);
  FILE* info = info_in ? info_in : null_stream ? null_stream.get() : stderr;
  auto t_start = std::chrono::steady_clock::now();
  require(!(a.no_bos && a.both_bos), "--no-bos and --both-bos cannot be used together");
  require(!a.domains.empty(), "give at least one --domain NAME=CORPUS.jsonl");
  {
    llm::ScanOptions check;
    check.docs = a.docs, check.ctx = a.ctx, check.sink_pos = a.sink_pos, check.dormant_threshold = a.threshold;
    llm::validate(check);
  }
  require(a.resamples >= 1 && a.resamples <= 1000000, fmt::format("--resamples = {} must be in [1, 1000000]", a.resamples));
  require(a.sample_tokens >= 2 && a.sample_tokens <= 512,
          fmt::format("--sample-tokens = {} must be in [2, 512]", a.sample_tokens));
  require(a.threads >= 0, "--threads must be >= 0");
  require(a.ablate_docs >= 0, "--ablate-docs must be >= 0");
  for (const auto& k : a.ablate_kinds) {
    const Intervention kind = parse_intervention(k);
    require(kind == Intervention::ZeroHead || kind == Intervention::AttendSink,
            "--ablate-kind '" + k + "': the scan ablates with zero-head or attend-sink");
  }
  require(a.batch >= 1, "--ablate-batch must be >= 1");
  auto lock = claim_out_dir(a.out, a.force, false);  // one writer; cleared once the inputs are checked
  std::vector<std::pair<std::string, std::vector<std::string>>> corpora;
  for (auto& d : parse_domain_specs(a.domains)) corpora.push_back({d.name, read_jsonl_corpus(d.path)});
  if (a.threads > 0) at::set_num_threads(a.threads);

  std::optional<PretrainedModel> loaded;
  if (!preloaded) loaded.emplace(load_pretrained(a.model, a.load));
  const PretrainedModel& pm = preloaded ? *preloaded : *loaded;
  const auto& spec = pm.model->spec();
  require(a.ctx <= spec.n_ctx, fmt::format("--ctx = {} exceeds the model's context of {} tokens", a.ctx, spec.n_ctx));
  require_memory(llm::scan_memory_bytes(spec.n_layers, spec.n_heads, a.ctx, a.batch),
                 fmt::format("a scan at --ctx {} (its attention patterns of {} layers x {} heads)", a.ctx,
                             spec.n_layers, spec.n_heads));
  std::vector<llm::HeadRef> explicit_heads;
  const bool do_ablate = a.ablate != "none";
  if (do_ablate && a.ablate != "all" && a.ablate.rfind("top:", 0) != 0)
    explicit_heads = llm::parse_head_selection(a.ablate, spec.n_layers, spec.n_heads, {});
  else if (do_ablate && a.ablate != "all")
    llm::parse_head_selection(a.ablate, spec.n_layers, spec.n_heads, {});  // validates K

  if (a.force) clear_earlier_output(a.out, *lock);  // validated: no earlier output survives beside the new ones
  auto run_cfg = [&](bool bos) {
    llm::ScanOptions o;
    o.docs = a.docs, o.ctx = a.ctx, o.sink_pos = a.sink_pos, o.add_bos = bos;
    o.dormant_threshold = a.threshold, o.secondary_threshold = a.secondary, o.progress = !a.no_progress;
    std::vector<llm::DomainDocs> dd;
    for (auto& [name, texts] : corpora) {
      dd.push_back(llm::prepare_domain(pm.tok(), name, texts, o));
      const auto& d = dd.back();
      fmt::print(info, "{} ({}): {} documents of {} tokens, {} skipped as shorter\n", name, bos ? "BOS" : "no BOS",
                 d.docs.size(), a.ctx + 1, d.skipped_short);
    }
    auto r = llm::scan(*pm.model, dd, o);
    llm::measure_domain_outliers(*pm.model, r);
    return r;
  };
  const bool main_bos = !a.no_bos;
  auto main = run_cfg(main_bos);
  fmt::print(info, "scan: {:.1f} s, {} forward passes, {:.3f} s per pass\n", main.seconds, main.forward_passes,
             main.seconds / main.forward_passes);
  std::unique_ptr<llm::ScanResult> other;
  if (a.both_bos) other = std::make_unique<llm::ScanResult>(run_cfg(!main_bos));
  auto ranked = llm::rank_heads(main, a.resamples, a.seed);

  std::unique_ptr<llm::AblationRun> abl;
  if (do_ablate) {
    auto heads = explicit_heads.empty() ? llm::parse_head_selection(a.ablate, spec.n_layers, spec.n_heads, ranked)
                                        : explicit_heads;
    if (!heads.empty()) {
      llm::AblationOptions ao;
      ao.batch = a.batch, ao.max_docs = a.ablate_docs, ao.resamples = a.resamples, ao.seed = a.seed, ao.progress = !a.no_progress;
      for (const auto& k : a.ablate_kinds) ao.kinds.push_back(parse_intervention(k));
      abl = std::make_unique<llm::AblationRun>(llm::ablate(*pm.model, main, heads, ao));
      fmt::print(info, "ablation: {} heads x {} interventions, {:.1f} s, {} batched passes, {:.3f} s per ablated copy\n",
                 heads.size(), ao.kinds.empty() ? llm::scan_interventions().size() : ao.kinds.size(), abl->seconds,
                 abl->forward_passes,
                 abl->seconds / std::max(1, abl->ablated_sequences));
    }
  }

  std::unique_ptr<llm::AblationRun> attr;
  if (!a.no_attribution) {
    llm::AblationOptions ao;
    ao.resamples = a.resamples, ao.seed = a.seed, ao.progress = !a.no_progress, ao.graddrop = a.graddrop;
    llm::AblationRun plain;
    attr = std::make_unique<llm::AblationRun>(llm::attribute_all_heads(*pm.model, main, ao, &plain));
    fmt::print(info, "attribution ({}, estimated ablation of all {} heads): {:.1f} s, {} backward passes\n",
               attr->method, spec.n_layers * spec.n_heads, attr->seconds, attr->forward_passes);
    if (abl) {
      auto say = [&](const std::string& what, const llm::Agreement& ag) {
        fmt::print(info, "{}: Pearson r {:.3f}, Spearman {:.3f} over {} entries, same sign {:.0f}%", what, ag.pearson,
                   ag.spearman, ag.n, 100 * ag.sign_agree);
        if (ag.top_n)
          fmt::print(info, ", top {} by exact in the estimate's top {}: {}/{}", ag.top_k, ag.top_pool, ag.top_hits, ag.top_n);
        fmt::print(info, "\n");
      };
      if (!attr->magnitude) say("estimate vs exact ablation", llm::estimate_agreement(*abl, *attr));
      const llm::AblationRun& atp = attr->magnitude ? plain : *attr;
      say("|atp| vs |exact| (mean |change| per document)", llm::estimate_agreement(*abl, atp, true));
      if (attr->magnitude) say("graddrop vs |exact| (mean |change| per document)", llm::estimate_agreement(*abl, *attr));
    }
  }

  LlmReportInput in;
  in.command = a.command;
  in.model_name = pm.name.empty() ? a.model : pm.name;
  in.scan = &main;
  in.other_bos = other.get();
  in.ranked = ranked;
  in.ablation = abl.get();
  in.attribution = attr.get();
  for (size_t i = 0; i < ranked.size() && i < 3; ++i)
    for (size_t d = 0; d < main.domains.size(); ++d) {
      LlmSample s;
      s.head = ranked[i].head, s.domain = (int)d;
      const auto& doc = main.domains[d].docs.front();
      int n = std::min<int>(a.sample_tokens, (int)doc.ids.size() - 1);
      std::vector<int32_t> ids(doc.ids.begin(), doc.ids.begin() + n);
      s.tokens.assign(doc.pieces.begin(), doc.pieces.begin() + n);
      s.weights = llm::attention_of(*pm.model, ids, {s.head})[0];
      in.samples.push_back(std::move(s));
    }
  std::filesystem::create_directories(a.out);
  auto files = write_llm_csv(a.out, in);
  auto html = write_llm_report(a.out, in);

  if (main.domains.size() == 1) {
    // One domain: nothing to compare, so heads by sink mass (the ranking's diff is the mass).
    fmt::print(info, "\nheads by sink mass on {} (dormant at >= {}):\n", main.domains[0].name, a.threshold);
    fmt::print(info, "  {:>6}  {:>6}  {:<8}  {}\n", "head", "mass", "state", "95% CI");
    for (size_t i = 0; i < ranked.size() && i < 10; ++i) {
      const auto& h = ranked[i];
      fmt::print(info, "  {:>6}  {:>6.3f}  {:<8}  [{:.3f}, {:.3f}]\n", head_label(h.head), h.mass_a,
                 head_state(h.mass_a, a.threshold), h.diff.lo, h.diff.hi);
    }
  } else {
    fmt::print(info, "\nheads by sink-mass difference between domains (dormant at >= {}):\n", a.threshold);
    fmt::print(info, "  {:>6}  {:<24}  {:<24}  {:>7}  {}\n", "head", "domain a: mass, state", "domain b: mass, state",
               "a - b", "95% CI");
    for (size_t i = 0; i < ranked.size() && i < 10; ++i) {
      const auto& h = ranked[i];
      auto side = [&](int d, double m, bool dormant) {
        return fmt::format("{} {:.3f} {}", main.domains[d].name, m, dormant ? "dormant" : "active");
      };
      fmt::print(info, "  {:>6}  {:<24}  {:<24}  {:>+7.3f}  [{:+.3f}, {:+.3f}]\n", head_label(h.head),
                 side(h.dom_a, h.mass_a, h.dormant_a), side(h.dom_b, h.mass_b, h.dormant_b), h.diff.mean, h.diff.lo,
                 h.diff.hi);
    }
  }
  for (auto& v : ablation_verdicts(in)) fmt::print(info, "  {}\n", v);
  for (auto& v : attribution_summary(in)) fmt::print(info, "  {}\n", v);
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  nlohmann::json J{{"command", a.command}, {"model", in.model_name}, {"dormant_threshold", a.threshold},
                   {"seconds", total}, {"report", html}};
  for (const auto& d : main.domains)
    J["domains"].push_back({{"name", d.name},
                            {"docs", d.docs.size()},
                            {"outliers",
                             {{"docs", d.outlier_docs},
                              {"max_over_median", d.outliers.max_over_median},
                              {"kurtosis_resid", d.outliers.kurtosis_resid},
                              {"kurtosis_attn", d.outliers.kurtosis_attn},
                              {"loss", d.outliers.loss},
                              {"loss_w8a8", d.outliers.loss_w8a8},
                              {"w8a8_increase", d.outliers.w8a8_increase}}}});
  for (size_t i = 0; i < ranked.size() && i < 10; ++i) {
    const auto& h = ranked[i];
    nlohmann::json r{{"head", head_label(h.head)}, {"domain_a", main.domains[h.dom_a].name}, {"mass_a", h.mass_a},
                     {"dormant_a", h.dormant_a}};
    if (main.domains.size() > 1)
      r.update({{"domain_b", main.domains[h.dom_b].name}, {"mass_b", h.mass_b}, {"dormant_b", h.dormant_b},
                {"diff", h.diff.mean}, {"diff_lo", h.diff.lo}, {"diff_hi", h.diff.hi}});
    J["top_heads"].push_back(r);
  }
  J["ablation_verdicts"] = ablation_verdicts(in);
  J["attribution"] = attribution_summary(in);
  J["files"] = files;
  write_file_atomic(a.out + "/summary.json", J.dump(2) + "\n");
  return J;
}

}  // namespace sinklab::report
