#include "report/reproduce.h"

#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "analysis/core/growth_fit.h"
#include "analysis/run_analysis.h"
#include "io/error.h"
#include "io/files.h"
#include "io/progress.h"
#include "model/transformer.h"
#include "report/core/figures.h"
#include "report/core/html.h"
#include "report/core/theory_report.h"
#include "report/toy_figures.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace sinklab {

using report::Claim;
using report::Verdict;

namespace {

struct PlanRun {
  std::string key, preset, label;
};

struct Done {
  PlanRun plan;
  std::string dir;
  TrainConfig cfg;
  RunAnalysis analysis;
};

const HeadMetrics& head_of(const ToyMetrics& m, int layer, int head) {
  for (auto& h : m.heads)
    if (h.layer == layer && h.head == head) return h;
  fail("internal: head not found");
}

// The active-dormant head: the one that best combines BOS mass at non-trigger
// queries with previous-token mass at trigger queries (the 1-layer model has one).
std::pair<int, int> pick_head(const ToyMetrics& m) {
  double best = -1;
  std::pair<int, int> r{0, 0};
  for (auto& h : m.heads) {
    double s = std::min(h.bos_mass_nontrigger, h.prev_mass_trigger);
    if (s > best) best = s, r = {h.layer, h.head};
  }
  return r;
}

// Index of the checkpoint closest to `step`.
size_t at_step(const RunAnalysis& a, double step) {
  size_t k = 0;
  double d = 1e300;
  for (size_t i = 0; i < a.series.size(); ++i)
    if (std::abs(a.series[i].step - step) < d) d = std::abs(a.series[i].step - step), k = i;
  return k;
}

std::string num(double v, int p = 3) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, p) : "nan"; }

}  // namespace

ReproduceResult reproduce(const ReproduceOptions& o) {
  require(o.scale == "quick" || o.scale == "paper", "scale must be quick or paper, got '" + o.scale + "'");
  const bool quick = o.scale == "quick";
  const std::string pre = quick ? "cpu-" : "paper-";
  std::vector<PlanRun> plan = {
      {"adam-1l", pre + "1l", "1 layer, softmax, AdamW"},
      {"adam-3l", pre + "3l", "3 layers, softmax, AdamW"},
      {"relu-1l", pre + "1l-relu", "1 layer, ReLU attention, AdamW"},
      {"sgd-3l", pre + "3l-sgd", "3 layers, softmax, SGD"},
  };
  if (!quick) plan.push_back({"relu-3l", pre + "3l-relu", "3 layers, ReLU attention, AdamW"});
  ensure_writable_dir(o.out);
  // Validate every config (and the source) before spending any compute.
  std::vector<TrainConfig> cfgs;
  for (auto& p : plan) {
    std::vector<std::string> sets = {"data.source=" + o.source, "run.out_dir=" + o.out + "/runs", "run.name=" + p.key};
    // Quick scale: the 3-layer runs take 2000 steps instead of 3000 so that the plan fits
    // about 20 minutes on 2 cores (measured: docs/benchmarks.md); --set overrides.
    if (quick && p.key.find("3l") != std::string::npos) sets.push_back("train.steps=2000");
    sets.insert(sets.end(), o.sets.begin(), o.sets.end());
    cfgs.push_back(load_train_config(p.preset, "", sets));
  }
  BigramSource::from_spec(o.source);

  std::vector<Done> done;
  auto t0 = std::chrono::steady_clock::now();
  // Training: two lanes of one compute thread each (a 2-core machine is used best by
  // two small runs side by side); the longest runs start first.
  auto train_one = [&](size_t i, bool progress) {
    const auto& c = cfgs[i];
    const std::string dir = c.out_dir + "/" + c.name;
    TrainOptions to;
    to.progress = progress;
    if (fs::exists(dir + "/config.toml")) {
      auto ck = list_checkpoints(dir);
      TrainConfig old = load_run_config(dir);
      ConfigSchema a, b;
      TrainConfig x = old, y = c;
      x.describe(a);
      y.describe(b);
      require(a.to_toml() == b.to_toml() || !o.resume,
              "'" + dir + "' holds a run with another config; remove it or choose another --out");
      if (o.resume && !ck.empty() && ck.back() >= c.steps) return;
      if (o.resume && !ck.empty()) {
        auto r = train_resume(dir, {}, to);
        require(!r.interrupted, "interrupted; run the same command again to continue");
        return;
      }
      fs::remove_all(dir);
    }
    auto r = train_new(c, to);
    require(!r.interrupted, "interrupted; run the same command again to continue");
  };
  const int lanes = quick ? 2 : 1;
  if (lanes > 1)
    for (auto& c : cfgs) c.threads = 1;
  std::vector<size_t> order(plan.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return (int64_t)cfgs[x].layers * cfgs[x].steps > (int64_t)cfgs[y].layers * cfgs[y].steps;
  });
  {
    std::mutex mu;
    size_t next = 0, finished = 0;
    std::vector<std::exception_ptr> errors(lanes);
    Progress overall((int64_t)plan.size(), "reproduce: runs trained", o.progress);
    auto lane = [&](int id) {
      try {
        for (;;) {
          size_t i;
          {
            std::lock_guard<std::mutex> l(mu);
            if (next >= order.size()) return;
            i = order[next++];
            if (o.progress) fmt::print(stderr, "start {} ({}, {} steps)\n", plan[i].label, plan[i].preset, cfgs[i].steps);
          }
          train_one(i, o.progress && lanes == 1);
          std::lock_guard<std::mutex> l(mu);
          overall.update((int64_t)++finished, plan[i].key + " done");
        }
      } catch (...) {
        errors[id] = std::current_exception();
        std::lock_guard<std::mutex> l(mu);
        next = order.size();  // stop the other lane after its current run
      }
    };
    std::vector<std::thread> th;
    for (int k = 0; k < lanes; ++k) th.emplace_back(lane, k);
    for (auto& t : th) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    overall.finish();
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& c = cfgs[i];
    const std::string dir = c.out_dir + "/" + c.name;
    AnalyzeOptions ao;
    ao.progress = false;
    Done d{plan[i], dir, c, analyze_run(dir, ao)};
    write_analysis_csv(d.analysis);
    draw_dynamics(d.analysis, dir + "/figures", plan[i].key);
    auto lr = load_run(dir);
    EvalBatch eval = make_eval_batch(*lr->task, ao.eval_seqs, ao.eval_seed);
    draw_snapshot(*lr, eval, dir + "/figures", plan[i].key);
    done.push_back(std::move(d));
  }
  auto find = [&](const std::string& key) -> const Done& {
    for (auto& d : done)
      if (d.plan.key == key) return d;
    fail("internal: run " + key + " missing");
  };
  const Done& a1 = find("adam-1l");
  const Done& a3 = find("adam-3l");
  const Done& r1 = find("relu-1l");
  const Done& s3 = find("sgd-3l");
  const ToyMetrics& a1last = a1.analysis.series.back();
  auto [hl, hh] = pick_head(a1last);
  const HeadMetrics& H = head_of(a1last, hl, hh);

  std::vector<Claim> claims;
  // C1
  {
    Claim c;
    c.id = "C1";
    c.claim = "1-layer softmax/Adam: the head is dormant (BOS) at non-trigger queries and active (previous token) at trigger queries";
    c.metric = fmt::format("L{}H{}: BOS mass at non-trigger queries; previous-token mass at trigger queries", hl, hh);
    c.measured = H.bos_mass_nontrigger;
    c.threshold = ">= 0.9 and >= 0.8";
    c.verdict = report::verdict_of(H.bos_mass_nontrigger >= 0.9 && H.prev_mass_trigger >= 0.8);
    c.note = fmt::format("BOS mass {} at non-trigger, previous-token mass {} at trigger (step {})",
                         num(H.bos_mass_nontrigger), num(H.prev_mass_trigger), a1last.step);
    claims.push_back(c);
  }
  // C2
  {
    Claim c;
    c.id = "C2";
    c.claim = "Value-state drain: the BOS value of the active-dormant head is much smaller than other tokens' values";
    c.metric = fmt::format("L{}H{}: |v_BOS| / mean |v_other|", hl, hh);
    c.measured = H.v_ratio;
    c.threshold = "<= 0.3";
    c.verdict = report::verdict_of(H.v_ratio <= 0.3);
    c.note = fmt::format("|v_BOS| = {}, mean |v_other| = {}", num(H.v_bos_norm), num(H.v_other_norm));
    claims.push_back(c);
  }
  // C3
  const auto& a3s = a3.analysis.series;
  const size_t a3mid = at_step(a3.analysis, a3.cfg.steps / 2.0);
  {
    const auto& L0 = a3s.back().layers[0];
    double mid = a3s[a3mid].layers[0].resid_bos, end = L0.resid_bos;
    Claim c;
    c.id = "C3";
    c.claim = "Residual-state peak (3-layer Adam): the BOS residual norm after layer 0 is far larger than others' and still rising";
    c.metric = "layer-0 residual norm ratio BOS / mean other at the end; BOS norm change over the second half";
    c.measured = L0.resid_ratio;
    c.threshold = ">= 1.5, and rising over the second half";
    c.verdict = report::verdict_of(L0.resid_ratio >= 1.5 && end > mid);
    c.note = fmt::format("ratio {}; BOS norm {} at step {} -> {} at step {}", num(L0.resid_ratio), num(mid),
                         a3s[a3mid].step, num(end), a3s.back().step);
    claims.push_back(c);
  }
  // C4: interventions on the 1-layer model's head.
  auto lr1 = load_run(a1.dir);
  EvalBatch ev1 = make_eval_batch(*lr1->task, 64, AnalyzeOptions{}.eval_seed);
  std::vector<std::vector<std::string>> itable;
  double dn_rel = 0, dt_abs = 0;
  for (auto k : {Intervention::ZeroHead, Intervention::BosAttention, Intervention::ZeroBosValue,
                 Intervention::OraclePattern})
    for (auto r : {Role::NonTrigger, Role::Trigger}) {
      auto res = run_intervention(*lr1->model, ev1, k, hl, hh, r);
      double dt = res.after.loss_trigger - res.base.loss_trigger;
      double dn = res.after.loss_nontrigger - res.base.loss_nontrigger;
      if (k == Intervention::ZeroHead && r == Role::NonTrigger) dn_rel = std::abs(dn) / res.base.loss_nontrigger;
      if (k == Intervention::ZeroHead && r == Role::Trigger) dt_abs = dt;
      itable.push_back({fmt::format("L{}H{}", hl, hh), intervention_name(k), role_name(r),
                        fmt::format("{:+.4f}", dn), fmt::format("{:+.4f}", dt)});
    }
  {
    Claim c;
    c.id = "C4";
    c.claim = "Interventions: zeroing the head at dormant positions barely changes the loss; at trigger positions it destroys the backcopy";
    c.metric = "relative change of the non-trigger loss (zero at non-trigger); trigger-loss rise (zero at trigger)";
    c.measured = dn_rel;
    c.threshold = "<= 2% and >= 1 nat/token";
    c.verdict = report::verdict_of(dn_rel <= 0.02 && dt_abs >= 1.0);
    c.note = fmt::format("non-trigger loss changes by {:.2f}%; trigger loss rises by {} nats/token", 100 * dn_rel,
                         num(dt_abs));
    claims.push_back(c);
  }
  // C5: dynamics after the sink forms.
  {
    const auto& s = a1.analysis.series;
    size_t form = s.size() - 1;
    bool formed = false;
    for (size_t i = 0; i < s.size(); ++i)
      if (head_of(s[i], hl, hh).bos_mass_nontrigger >= 0.5) {
        form = i;
        formed = true;
        break;
      }
    const auto& hf = head_of(s[form], hl, hh);
    std::vector<double> xs, ys;
    for (size_t i = form; i < s.size(); ++i)
      if (s[i].step > 0) xs.push_back((double)s[i].step), ys.push_back(head_of(s[i], hl, hh).gap_mean);
    Claim c;
    c.id = "C5";
    c.claim = "Dynamics: after the sink forms, the BOS logit gap keeps rising and the BOS value norm keeps falling";
    c.metric = "BOS logit gap (end minus formation); |v_BOS| (end / formation)";
    c.measured = H.gap_mean - hf.gap_mean;
    c.threshold = "gap rises (> 0) and |v_BOS| falls (< 1x)";
    bool ok = formed && H.gap_mean > hf.gap_mean && H.v_bos_norm < hf.v_bos_norm && form + 1 < s.size();
    c.verdict = report::verdict_of(ok);
    std::string law = "too few points to fit";
    if (xs.size() >= 4) {
      auto g = fit_growth_law(xs, ys);
      law = fmt::format("gap growth law: log (R^2 {}, slope {} per e-fold) vs linear (R^2 {}); better: {}",
                        num(g.log_law.r2), num(g.log_law.slope), num(g.linear_law.r2), g.better);
    }
    c.note = fmt::format("{} {} (BOS mass >= 0.5); gap {} -> {}; |v_BOS| {} -> {}; {}",
                         formed ? "sink forms at step" : "no sink formed by step", s[form].step,
                         num(hf.gap_mean, 2), num(H.gap_mean, 2), num(hf.v_bos_norm), num(H.v_bos_norm), law);
    claims.push_back(c);
  }
  // C6: ReLU attention.
  {
    const auto& rl = r1.analysis.series.back();
    const auto& rh = head_of(rl, 0, 0);
    double rel = (rl.loss.loss - a1last.loss.loss) / a1last.loss.loss;
    Claim c;
    c.id = "C6";
    c.claim = "ReLU attention removes the attention sink and the value drain at little cost in loss";
    c.metric = "ReLU run L0H0: BOS share at non-trigger queries; value ratio; loss relative to softmax";
    c.measured = rh.bos_mass_nontrigger;
    c.threshold = "<= 0.5, value ratio >= 0.5, loss within 5%";
    c.verdict = report::verdict_of(rh.bos_mass_nontrigger <= 0.5 && rh.v_ratio >= 0.5 && std::abs(rel) <= 0.05);
    c.note = fmt::format("BOS mass {}, value ratio {}, loss {} vs softmax {} ({:+.1f}%)", num(rh.bos_mass_nontrigger),
                         num(rh.v_ratio), num(rl.loss.loss, 4), num(a1last.loss.loss, 4), 100 * rel);
    claims.push_back(c);
  }
  // C7: SGD vs Adam residual growth over the second half.
  {
    const auto& ss = s3.analysis.series;
    size_t smid = at_step(s3.analysis, s3.cfg.steps / 2.0);
    double sg = ss.back().layers[0].resid_bos / ss[smid].layers[0].resid_bos - 1;
    double ag = a3s.back().layers[0].resid_bos / a3s[a3mid].layers[0].resid_bos - 1;
    Claim c;
    c.id = "C7";
    c.claim = "SGD instead of Adam removes the residual peak's growth";
    c.metric = "relative change of the layer-0 BOS residual norm over the second half: SGD; Adam";
    c.measured = sg;
    c.threshold = "|SGD| <= 5%, Adam >= 10%, SGD final < Adam final";
    c.verdict = report::verdict_of(std::abs(sg) <= 0.05 && ag >= 0.10 &&
                                   ss.back().layers[0].resid_bos < a3s.back().layers[0].resid_bos);
    c.note = fmt::format("SGD {:+.1f}% (final {}, ratio {}), Adam {:+.1f}% (final {}, ratio {})", 100 * sg,
                         num(ss.back().layers[0].resid_bos, 2), num(ss.back().layers[0].resid_ratio, 2), 100 * ag,
                         num(a3s.back().layers[0].resid_bos, 2), num(a3s.back().layers[0].resid_ratio, 2));
    claims.push_back(c);
  }

  // Mitigations side by side.
  report::SmallMultiples sm;
  sm.title = "Mitigations: BOS attention at non-trigger queries, value ratio, layer-0 residual ratio";
  for (auto& d : done) {
    report::LinePlot p;
    p.title = d.plan.label;
    p.xlabel = "step", p.log_x = true;
    std::vector<double> x, bos, vr, rr;
    for (auto& m : d.analysis.series) {
      x.push_back(std::max<double>(1, (double)m.step));
      auto [l, h] = pick_head(m);
      (void)l, (void)h;
      const auto& hm = head_of(m, 0, 0);
      bos.push_back(hm.bos_mass_nontrigger);
      vr.push_back(hm.v_ratio);
      rr.push_back(m.layers[0].resid_ratio);
    }
    p.series.push_back(report::Series::line("BOS mass (L0H0, non-trigger)", x, bos, 0));
    p.series.push_back(report::Series::line("|v_BOS| / |v_other| (L0H0)", x, vr, 1));
    p.series.push_back(report::Series::line("resid ratio after layer 0", x, rr, 2));
    p.log_y = true;
    sm.panels.push_back(p);
  }
  const std::string fig_dir = o.out + "/figures";
  std::string mitig = report::render(sm, fig_dir + "/mitigations.png").png;

  // Report.
  double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;
  report::HtmlReport html("sinklab reproduce (" + o.scale + ")",
                          fmt::format("source {} · {} runs · {:.1f} min", BigramSource::from_spec(o.source).name(),
                                      done.size(), minutes));
  html.section("Claims");
  bool shakespeare = o.source.find("tinyshakespeare") != std::string::npos;
  html.paragraph(std::string("Thresholds are those stated for the quick (CPU) scale with the Tiny Shakespeare source; ") +
                 (shakespeare ? "this run uses that source."
                              : "this run uses another source, so the table says whether it shows the same."));
  html.claims(claims);
  html.section("Mitigations side by side");
  html.figure(mitig, "L0H0 of each run over training (log axes).");
  html.section("Interventions on the 1-layer model");
  html.table({"head", "intervention", "at queries", "d non-trigger loss", "d trigger loss"}, itable,
             "Loss change in nats/token on the fixed evaluation batch.");
  for (auto& d : done) {
    html.section(d.plan.label + " (" + d.plan.key + ")");
    const auto& last = d.analysis.series.back();
    std::vector<std::vector<std::string>> rows;
    for (auto& h : last.heads)
      rows.push_back({fmt::format("L{}H{}", h.layer, h.head), num(h.bos_mass_nontrigger), num(h.bos_mass_trigger),
                      num(h.prev_mass_trigger), num(h.v_ratio), num(h.gap_mean, 2),
                      std::string(h.dormant_nontrigger ? "dormant" : "active") + " / " +
                          (h.dormant_trigger ? "dormant" : "active")});
    html.table({"head", "BOS @ non-trigger", "BOS @ trigger", "prev @ trigger", "v ratio", "logit gap",
                "non-trigger / trigger"},
               rows, fmt::format("Step {}: loss {} (excess over oracle {}); threshold for dormant: BOS mass >= 0.5.",
                                 last.step, num(last.loss.loss, 4), num(last.loss.excess, 4)));
    for (auto f : {"dyn_loss", "dyn_attention", "dyn_logit_gap", "dyn_value_norm", "dyn_residual_norm"})
      if (fs::exists(d.dir + "/figures/" + f + ".png")) html.figure(d.dir + "/figures/" + f + ".png");
    for (auto& e : fs::directory_iterator(d.dir + "/figures")) {
      auto n = e.path().filename().string();
      if (n.rfind("pattern_", 0) == 0 || n == "residual_norm.png") html.figure(e.path().string(), "", 70);
    }
  }
  html.section("Theory: the reduced model against these runs");
  std::vector<std::pair<std::string, std::string>> theory_runs;
  for (auto& d : done)
    if (d.plan.key != "relu-1l" && d.plan.key != "relu-3l") theory_runs.emplace_back(d.plan.label, d.dir);
  report::add_theory_section(html, o.out + "/theory", theory_runs, a1.cfg.lr, a1.cfg.beta2);
  ReproduceResult out;
  out.claims = claims;
  out.claims_path = o.out + "/claims.json";
  out.report_path = o.out + "/report.html";
  report::write_claims_json(out.claims_path, claims);
  html.write(out.report_path);
  return out;
}

}  // namespace sinklab
