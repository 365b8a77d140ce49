#include "report/sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "analysis/llm_series.h"
#include "analysis/run_analysis.h"
#include "data/corpus.h"
#include "data/lm_corpus.h"
#include "data/tokenizer.h"
#include "data/tokenizer_hf.h"
#include "io/csv.h"
#include "io/error.h"
#include "io/files.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "report/core/claims.h"
#include "report/core/figures.h"
#include "report/core/html.h"
#include "train/config.h"
#include "train/trainer.h"

namespace sinklab {

namespace fs = std::filesystem;
using namespace report;  // figures, HTML, measures

namespace {

// A scalar TOML value as the text `--set key=VALUE` takes.
std::string scalar_text(const toml::node& n, const std::string& where) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<int64_t>());
  if (n.is_floating_point()) return fmt::format("{}", *n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  fail(where + ": values must be strings, numbers or booleans");
}

std::string sanitize(const std::string& s) {
  std::string r;
  for (char ch : s) r += (std::isalnum((unsigned char)ch) || ch == '.' || ch == '-') ? ch : '-';
  return r;
}

std::vector<std::string> point_sets(const SweepGrid& g, const SweepCell& c) {
  std::vector<std::string> sets = g.sets;
  for (const auto& [k, v] : c.values) {
    if (k != "variant") {
      sets.push_back(k + "=" + v);
      continue;
    }
    for (const auto& [name, vs] : g.variants)
      if (name == v) sets.insert(sets.end(), vs.begin(), vs.end());
  }
  sets.push_back(fmt::format("train.seed={}", c.seed));
  return sets;
}

}  // namespace

SweepGrid load_sweep_grid(const std::string& path) {
  require(fs::is_regular_file(path), "sweep grid '" + path + "' does not exist");
  return parse_sweep_grid(read_file(path), path);
}

SweepGrid parse_sweep_grid(const std::string& text, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail(fmt::format("'{}': malformed TOML at line {}: {}", path, e.source().begin.line, e.description()));
  }
  SweepGrid g;
  g.path = fs::absolute(path).lexically_normal().string();
  for (const auto& [k, v] : t)
    require(k.str() == "sweep" || k.str() == "grid" || k.str() == "variant",
            fmt::format("'{}': unknown section [{}] (valid: [sweep], [grid], [[variant]])", path, k.str()));
  const toml::table* sw = t["sweep"].as_table();
  require(sw, "'" + path + "': no [sweep] section (preset or config, seeds)");
  for (const auto& [k, v] : *sw) {
    const std::string key(k.str());
    require(key == "name" || key == "preset" || key == "config" || key == "set" || key == "seeds",
            fmt::format("'{}': unknown key sweep.{} (valid: name, preset, config, set, seeds)", path, key));
  }
  g.name = sw->get("name") ? scalar_text(*sw->get("name"), "sweep.name") : fs::path(path).stem().string();
  if (auto* p = sw->get("preset")) g.preset = scalar_text(*p, "sweep.preset");
  if (auto* c = sw->get("config")) {
    g.config = scalar_text(*c, "sweep.config");
    if (fs::path(g.config).is_relative()) g.config = (fs::path(g.path).parent_path() / g.config).string();
  }
  require(!g.preset.empty() || !g.config.empty(), "'" + path + "': sweep.preset or sweep.config is needed");
  if (auto* s = sw->get("set")) {
    const toml::array* a = s->as_array();
    require(a, "'" + path + "': sweep.set must be a list of \"key=value\" strings");
    for (const auto& e : *a) g.sets.push_back(scalar_text(e, "sweep.set"));
  }
  const toml::array* seeds = sw->get("seeds") ? sw->get("seeds")->as_array() : nullptr;
  require(seeds && !seeds->empty(), "'" + path + "': sweep.seeds must be a non-empty list of integers");
  std::set<int64_t> seen;
  for (const auto& e : *seeds) {
    require(e.is_integer() && *e.value<int64_t>() >= 0, "'" + path + "': sweep.seeds must be integers >= 0");
    const int64_t s = *e.value<int64_t>();
    require(seen.insert(s).second, fmt::format("'{}': seed {} appears twice in sweep.seeds", path, s));
    g.seeds.push_back(s);
  }
  // The keys a cell may vary: every key of the run config, but the seed and the run's place.
  TrainConfig probe;
  ConfigSchema schema;
  probe.describe(schema);
  std::vector<std::string> valid;
  for (const auto& k : schema.keys())
    if (k != "train.seed" && k != "run.name" && k != "run.out_dir") valid.push_back(k);
  auto check_key = [&](const std::string& key, const std::string& what) {
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) return;
    std::string all;
    for (const auto& x : valid) all += (all.empty() ? "" : ", ") + x;
    fail(fmt::format("'{}': {} '{}' is not a config key{} (valid: {})", path, what, key,
                     key == "train.seed" ? " that a grid may vary (seeds go in sweep.seeds)" : "", all));
  };
  if (const toml::node* vn = t.get("variant")) {
    const toml::array* va = vn->as_array();
    require(va && va->is_array_of_tables(), "'" + path + "': variants are [[variant]] tables with name and set");
    for (const auto& e : *va) {
      const toml::table& vt = *e.as_table();
      for (const auto& [k, v] : vt)
        require(k.str() == "name" || k.str() == "set",
                fmt::format("'{}': unknown key variant.{} (valid: name, set)", path, k.str()));
      require(vt.get("name") && vt.get("name")->is_string(), "'" + path + "': every [[variant]] needs a name");
      const std::string name = *vt.get("name")->value<std::string>();
      for (const auto& [n, vs] : g.variants)
        require(n != name, fmt::format("'{}': variant '{}' appears twice", path, name));
      std::vector<std::string> sets;
      if (const toml::node* sn = vt.get("set")) {
        const toml::array* sa = sn->as_array();
        require(sa, fmt::format("'{}': variant '{}': set must be a list of \"key=value\" strings", path, name));
        for (const auto& x : *sa) {
          const std::string kv = scalar_text(x, fmt::format("'{}': variant '{}'", path, name));
          const auto eq = kv.find('=');
          require(eq != std::string::npos, fmt::format("'{}': variant '{}': '{}' is not key=value", path, name, kv));
          check_key(kv.substr(0, eq), fmt::format("variant '{}' key", name));
          sets.push_back(kv);
        }
      }
      g.variants.emplace_back(name, sets);
    }
    std::vector<std::string> names;
    for (const auto& [n, vs] : g.variants) names.push_back(n);
    g.axes.emplace_back("variant", names);
  }
  const toml::table* grid = t["grid"].as_table();
  require((grid && !grid->empty()) || !g.variants.empty(),
          "'" + path + "': empty grid: [grid] needs at least one \"key\" = [values] (or give [[variant]] tables)");
  if (grid) for (const auto& [k, v] : *grid) {
    const std::string key(k.str());
    check_key(key, "grid key");
    const toml::array* a = v.as_array();
    require(a && !a->empty(), fmt::format("'{}': empty grid: grid.\"{}\" needs a non-empty list of values", path, key));
    std::vector<std::string> vals;
    for (const auto& e : *a) vals.push_back(scalar_text(e, fmt::format("'{}': grid.\"{}\"", path, key)));
    g.axes.emplace_back(key, vals);
  }
  // Every point must make a valid config before anything runs.
  for (const auto& c : sweep_cells(g)) {
    if (c.seed != g.seeds.front()) continue;
    try {
      load_train_config(g.preset, g.config, point_sets(g, c));
    } catch (const InputError& e) {
      std::string where;
      for (const auto& [k, v] : c.values) where += (where.empty() ? "" : ", ") + k + "=" + v;
      fail(fmt::format("'{}': the grid point {}: {}", path, where, e.what()));
    }
  }
  return g;
}

std::vector<SweepCell> sweep_cells(const SweepGrid& g) {
  std::vector<std::vector<std::pair<std::string, std::string>>> points(1);
  for (const auto& [k, vals] : g.axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& p : points)
      for (const auto& v : vals) {
        auto q = p;
        q.emplace_back(k, v);
        next.push_back(q);
      }
    points = next;
  }
  std::vector<SweepCell> cells;
  for (size_t p = 0; p < points.size(); ++p)
    for (int64_t s : g.seeds) {
      SweepCell c;
      c.index = (int)cells.size();
      c.point = (int)p;
      c.seed = s;
      c.values = points[p];
      std::string label;
      for (const auto& [k, v] : c.values) label += (label.empty() ? "" : "_") + sanitize(v);
      if (label.size() > 60) label = label.substr(0, 60);
      c.name = fmt::format("p{:02d}_{}_s{}", p, label, s);
      cells.push_back(c);
    }
  return cells;
}

std::string sweep_grid_json(const SweepGrid& g) {
  nlohmann::ordered_json j;
  j["name"] = g.name;
  j["preset"] = g.preset;
  j["config"] = g.config;
  j["set"] = g.sets;
  j["seeds"] = g.seeds;
  for (const auto& [k, v] : g.axes) j["grid"].push_back({{"key", k}, {"values", v}});
  for (const auto& [k, v] : g.variants) j["variants"].push_back({{"name", k}, {"set", v}});
  return j.dump(2) + "\n";
}

const std::vector<std::pair<std::string, std::string>>& sweep_metric_names() {
  static const std::vector<std::pair<std::string, std::string>> m = {
      {"loss", "mean next-token loss on the evaluation batch (last checkpoint; lm: the held-out documents)"},
      {"excess", "loss above the task's oracle (BB only)"},
      {"sink_mass", "largest BOS attention mass of a head at non-trigger queries (lm: at all queries)"},
      {"v_ratio", "that head's value norm at BOS over the mean of the others"},
      {"resid_peak", "largest BOS residual norm over the others' mean, over layers"},
      {"max_over_median", "largest max|x| / median|x| of the residual stream, over layers"},
      {"kurtosis_resid", "kurtosis of the residual stream across dimensions, mean over tokens and layers"},
      {"kurtosis_attn", "kurtosis of the attention output, the same"},
      {"w8a8_increase", "loss under simulated W8A8 minus the float loss"},
  };
  return m;
}

std::string cell_dir(const std::string& out, const SweepCell& c) { return out + "/cells/" + c.name; }
std::string cell_log(const std::string& out, const SweepCell& c) { return fmt::format("{}/logs/cell-{}.log", out, c.index); }

namespace {
nlohmann::json read_cell(const std::string& out, const SweepCell& c) {
  const std::string p = cell_dir(out, c) + "/cell.json";
  if (!fs::exists(p)) return nullptr;
  try {
    return nlohmann::json::parse(read_file(p));
  } catch (const std::exception&) {
    return nullptr;
  }
}

nlohmann::json cell_record(const SweepCell& c, const std::string& out) {
  nlohmann::json j;
  j["index"] = c.index;
  j["name"] = c.name;
  j["seed"] = c.seed;
  for (const auto& [k, v] : c.values) j["point"][k] = v;
  j["run_dir"] = cell_dir(out, c);
  j["log"] = cell_log(out, c);
  return j;
}
}  // namespace

bool cell_finished(const std::string& out, const SweepCell& c) {
  auto j = read_cell(out, c);
  return j.is_object() && j.value("status", "") == "ok";
}

void mark_cell_failed(const std::string& out, const SweepCell& c, const std::string& error) {
  auto j = cell_record(c, out);
  j["status"] = "failed";
  j["error"] = error;
  fs::create_directories(cell_dir(out, c));
  write_file_atomic(cell_dir(out, c) + "/cell.json", j.dump(2) + "\n");
}

namespace {

// A BB cell: `sinklab analyze` of its last checkpoint (analysis CSVs written beside the
// run); the sink head is the head with the most BOS mass at non-trigger queries.
nlohmann::json bb_cell_metrics(const std::string& run_dir, int64_t step, std::string& sink_head) {
  AnalyzeOptions ao;
  ao.progress = false;
  ao.steps = {step};
  auto a = analyze_run(run_dir, ao);
  write_analysis_csv(a);
  const ToyMetrics& m = a.series.back();
  const HeadMetrics* sink = nullptr;
  for (const auto& h : m.heads)
    if (!sink || h.bos_mass_nontrigger > sink->bos_mass_nontrigger) sink = &h;
  double peak = 0;
  for (const auto& l : m.layers) peak = std::max(peak, l.resid_ratio);
  sink_head = sink ? fmt::format("L{}H{}", sink->layer, sink->head) : "";
  return {{"loss", m.loss.loss},
          {"excess", m.loss.excess},
          {"sink_mass", sink ? sink->bos_mass_nontrigger : std::nan("")},
          {"v_ratio", sink ? sink->v_ratio : std::nan("")},
          {"resid_peak", peak},
          {"max_over_median", m.outliers.max_over_median},
          {"kurtosis_resid", m.outliers.kurtosis_resid},
          {"kurtosis_attn", m.outliers.kurtosis_attn},
          {"w8a8_increase", m.outliers.w8a8_increase}};
}

// A language-model cell (data.task = lm): its last checkpoint scanned on every domain's
// held-out documents (RUN/heldout, byte tokens, BOS as trained) the way `sinklab pretrain`
// scans its series; the sink head is the head with the largest mean sink mass over the
// domains, the loss and outlier metrics are means over the domains.
nlohmann::json lm_cell_metrics(const TrainConfig& cfg, const std::string& run_dir, int64_t step,
                               std::string& sink_head) {
  Transformer model(cfg.model_spec(LmCorpus::kVocab));
  load_weights(model, checkpoint_path(run_dir, step));
  const BosMode bos = parse_bos_mode(cfg.bos);
  Tokenizer tok(tokenizer_data_from_hf_json(byte_tokenizer_json(bos == BosMode::Sequence), "the byte tokenizer",
                                            byte_tokenizer_config_json(bos != BosMode::None, cfg.seq_len)));
  llm::ScanOptions o;
  o.docs = 16;
  o.ctx = cfg.seq_len;
  o.add_bos = bos != BosMode::None;
  std::vector<llm::DomainDocs> docs;
  for (const auto& d : parse_domain_specs(cfg.corpus, "data.corpus"))
    docs.push_back(llm::prepare_domain(tok, d.name, read_jsonl_corpus(run_dir + "/heldout/" + d.name + ".jsonl"), o));
  const auto doms = llm::scan_checkpoint(model, docs, o, 0.3);
  std::vector<double> mass(doms.at(0).per_head.size(), 0.0), vr(mass.size(), 0.0);
  double loss = 0, mom = 0, kr = 0, ka = 0, w8 = 0, peak = 0;
  for (const auto& d : doms) {
    for (size_t h = 0; h < mass.size(); ++h) mass[h] += d.per_head[h].sink_mass, vr[h] += d.per_head[h].v_ratio;
    loss += d.outliers.loss, mom += d.outliers.max_over_median, kr += d.outliers.kurtosis_resid;
    ka += d.outliers.kurtosis_attn, w8 += d.outliers.w8a8_increase;
    peak = std::max(peak, d.max_resid_ratio);
  }
  const size_t top = std::max_element(mass.begin(), mass.end()) - mass.begin();
  const double n = (double)doms.size();
  sink_head = fmt::format("L{}H{}", doms[0].per_head[top].layer, doms[0].per_head[top].head);
  return {{"loss", loss / n},           {"excess", std::nan("")},        {"sink_mass", mass[top] / n},
          {"v_ratio", vr[top] / n},     {"resid_peak", peak},             {"max_over_median", mom / n},
          {"kurtosis_resid", kr / n},   {"kurtosis_attn", ka / n},        {"w8a8_increase", w8 / n}};
}

}  // namespace

bool run_sweep_cell(const SweepGrid& g, const SweepCell& c, const std::string& out, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto sets = point_sets(g, c);
    sets.push_back(fmt::format("train.threads={}", threads));
    sets.push_back("run.out_dir=" + out + "/cells");
    sets.push_back("run.name=" + c.name);
    TrainConfig cfg = load_train_config(g.preset, g.config, sets);
    TrainOptions to;
    to.progress = false;
    to.force = true;  // an unfinished cell starts again
    auto outcome = train_new(cfg, to);
    require(!outcome.interrupted, "interrupted");
    auto j = cell_record(c, out);
    j["status"] = "ok";
    j["step"] = outcome.step;
    j["threads"] = threads;
    std::string head;
    j["metrics"] = cfg.is_lm() ? lm_cell_metrics(cfg, outcome.run_dir, outcome.step, head)
                               : bb_cell_metrics(outcome.run_dir, outcome.step, head);
    j["sink_head"] = head;
    j["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_file_atomic(cell_dir(out, c) + "/cell.json", j.dump(2) + "\n");
    return true;
  } catch (const std::exception& e) {
    mark_cell_failed(out, c, e.what());
    return false;
  }
}

int summarize_sweep(const SweepGrid& g, const std::string& out) {
  const auto cells = sweep_cells(g);
  const auto& metrics = sweep_metric_names();
  std::vector<std::string> ch = {"index", "name", "point", "seed", "status"};
  for (const auto& [k, v] : g.axes) ch.push_back(k);
  for (const auto& [m, help] : metrics) ch.push_back(m);
  ch.push_back("log");
  CsvWriter cells_csv(ch);
  // per point: per metric the values of its finished seeds
  const int n_points = cells.empty() ? 0 : cells.back().point + 1;
  std::vector<std::map<std::string, std::vector<double>>> per_point(n_points);
  std::vector<int> ok(n_points, 0), failed(n_points, 0);
  std::vector<std::vector<std::string>> failed_rows;
  for (const auto& c : cells) {
    auto j = read_cell(out, c);
    const std::string status = j.is_object() ? j.value("status", "missing") : "missing";
    std::vector<CsvCell> row = {(double)c.index, c.name, (double)c.point, (double)c.seed, status};
    for (const auto& [k, v] : c.values) row.emplace_back(v);
    for (const auto& [m, help] : metrics) {
      double v = std::nan("");
      if (status == "ok" && j["metrics"].contains(m) && j["metrics"][m].is_number()) v = j["metrics"][m].get<double>();
      row.emplace_back(v);
      if (status == "ok") per_point[c.point][m].push_back(v);
    }
    row.emplace_back(cell_log(out, c));
    cells_csv.add_row(row);
    if (status == "ok") ++ok[c.point];
    else {
      ++failed[c.point];
      failed_rows.push_back({c.name, status, j.is_object() ? j.value("error", "") : "no cell.json", cell_log(out, c)});
    }
  }
  cells_csv.write(out + "/cells.csv");

  std::vector<std::string> sh = {"point"};
  for (const auto& [k, v] : g.axes) sh.push_back(k);
  sh.push_back("seeds_ok");
  sh.push_back("seeds_failed");
  for (const auto& [m, help] : metrics)
    for (const char* suf : {"_median", "_lo", "_hi"}) sh.push_back(m + suf);
  CsvWriter summary(sh);
  std::vector<std::string> th = {"point"};
  for (const auto& [k, v] : g.axes) th.push_back(k);
  th.push_back("seeds");
  for (const auto& [m, help] : metrics) th.push_back(m);
  std::vector<std::vector<std::string>> table;
  std::map<std::string, std::vector<Measure>> measures;  // metric -> per point
  std::vector<std::string> labels;
  for (int p = 0; p < n_points; ++p) {
    const SweepCell* first = &cells[p * g.seeds.size()];  // cells run point-major, seeds inside
    std::vector<CsvCell> row = {(double)p};
    std::vector<std::string> trow = {std::to_string(p)};
    std::string label;
    for (const auto& [k, v] : first->values) {
      row.emplace_back(v);
      trow.push_back(v);
      label += (label.empty() ? "" : "/") + v;  // tick labels show spaces as visible marks
    }
    labels.push_back(label);
    row.emplace_back((double)ok[p]);
    row.emplace_back((double)failed[p]);
    trow.push_back(failed[p] ? fmt::format("{} ({} failed)", ok[p], failed[p]) : std::to_string(ok[p]));
    for (const auto& [m, help] : metrics) {
      Measure ms = measure(m, ">=", 0.0, per_point[p][m]);
      if (per_point[p][m].empty()) ms.median = ms.lo = ms.hi = std::nan("");
      measures[m].push_back(ms);
      row.emplace_back(ms.median);
      row.emplace_back(ms.lo);
      row.emplace_back(ms.hi);
      trow.push_back(std::isfinite(ms.lo) ? fmt::format("{} [{}, {}]", format_measured(ms.median), format_measured(ms.lo),
                                                        format_measured(ms.hi))
                                          : format_measured(ms.median));
    }
    summary.add_row(row);
    table.push_back(trow);
  }
  summary.write(out + "/summary.csv");
  // The loss against the first point (the baseline when the grid starts with it).
  th.push_back("loss vs point 0");
  for (int p = 0; p < n_points; ++p) {
    const double d = measures["loss"][p].median - measures["loss"][0].median;
    table[p].push_back(p == 0 ? "baseline" : std::isfinite(d) ? fmt::format("{:+.4f}", d) : "—");
  }
  // summary.md: the same table in Markdown, for docs.
  std::string md = "| " + [&] {
    std::string h;
    for (const auto& x : th) h += (h.empty() ? "" : " | ") + x;
    return h;
  }() + " |\n|";
  for (size_t i = 0; i < th.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& row : table) {
    md += "|";
    for (const auto& x : row) md += " " + x + " |";
    md += "\n";
  }
  write_file_atomic(out + "/summary.md", md);

  std::string sets_text;
  for (const auto& x : g.sets) sets_text += (sets_text.empty() ? ", with " : " ") + x;
  HtmlReport r("sinklab sweep: " + g.name,
               fmt::format("{} points x {} seeds ({} cells); base {}{}", n_points, g.seeds.size(), cells.size(),
                           g.preset.empty() ? g.config : "preset " + g.preset,
                           sets_text));
  r.section("Table");
  r.paragraph("Each cell: median over the finished seeds [95% interval of the mean, Student's t]. One seed gives no "
              "interval. Columns: cells.csv has every cell, summary.csv the medians and intervals (summary.md: this "
              "table in Markdown).");
  r.table(th, table);
  std::vector<std::string> defs;
  for (const auto& [m, help] : metrics) defs.push_back(m + ": " + help);
  r.list(defs);
  r.section("Figures");
  fs::create_directories(out + "/figures");
  std::vector<FigureResult> figs;
  std::vector<std::string> caps;
  for (const auto& [m, help] : metrics) {
    BarPlot b;
    b.title = m;
    b.ylabel = m;
    b.categories = labels;
    BarSeries s;
    s.name = "mean +- 95% half-interval";
    for (const auto& ms : measures[m]) {
      s.values.push_back(ms.mean);
      s.errors.push_back(std::isfinite(ms.hi) ? (ms.hi - ms.lo) / 2 : 0.0);
    }
    b.series.push_back(s);
    figs.push_back(try_render(b, out + "/figures/" + m + ".png"));
    caps.push_back(help);
  }
  for (size_t i = 0; i < figs.size(); i += 3)
    r.figure_row(std::vector<FigureResult>(figs.begin() + i, figs.begin() + std::min(figs.size(), i + 3)),
                 std::vector<std::string>(caps.begin() + i, caps.begin() + std::min(caps.size(), i + 3)));
  if (!failed_rows.empty()) {
    r.section("Failed cells");
    r.table({"cell", "status", "error", "log"}, failed_rows);
  }
  r.write(out + "/report.html");
  return (int)failed_rows.size();
}

std::string sweep_sbatch_script(const SweepGrid& g, const std::string& out, const std::vector<int>& pending,
                                const SlurmOptions& o, const std::string& exe) {
  std::string list;
  for (int i : pending) list += (list.empty() ? "" : ",") + std::to_string(i);
  auto q = [](const std::string& s) {  // single-quoted for bash
    std::string r = "'";
    for (char ch : s) r += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return r + "'";
  };
  std::string s = "#!/bin/bash\n";
  s += "# sinklab sweep " + g.name + ": one array task per cell (sinklab sweep --slurm wrote this)\n";
  s += "#SBATCH --job-name=sinklab-" + sanitize(g.name) + "\n";
  s += "#SBATCH --array=" + list + "\n";
  s += "#SBATCH --output=" + out + "/logs/cell-%a.log\n";
  s += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  s += "#SBATCH --ntasks=1\n";
  if (!o.partition.empty()) s += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time.empty()) s += "#SBATCH --time=" + o.time + "\n";
  if (o.gpus > 0) s += fmt::format("#SBATCH --gpus={}\n", o.gpus);
  s += fmt::format("exec {} sweep {} -o {} --cell \"$SLURM_ARRAY_TASK_ID\" --threads {}\n", q(exe), q(g.path), q(out),
                   o.cpus_per_task);
  return s;
}

}  // namespace sinklab
