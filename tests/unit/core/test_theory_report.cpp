// Tests of the theory section of the report (src/report/core/theory_report.h):
// growth laws fitted to a synthetic analysis/heads.csv, the verdicts against the
// theory's predictions, the HTML (tables, figures) and the paragraphs that
// replace a missing or too-short CSV.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <fmt/format.h>

#include "report/core/figures.h"
#include "report/core/html.h"
#include "report/core/theory_report.h"

using namespace sinklab;
using namespace sinklab::report;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  auto p = fs::temp_directory_path() / ("sinklab_theory_report_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// A run directory with analysis/heads.csv: layer 0 head 0 follows the given curves; a
// second head and a second layer hold decoys that must be ignored.
fs::path make_run(const fs::path& root, const std::string& name, const std::string& optimizer,
                  const std::function<double(double)>& mass, const std::function<double(double)>& gap,
                  const std::function<double(double)>& vbos, int n_steps = 41, double every = 50) {
  const fs::path run = root / name;
  fs::create_directories(run / "analysis");
  std::ofstream(run / "config.toml") << "[train]\noptimizer = '" << optimizer
                                     << "'\nlr = 0.001\nbeta1 = 0.9\nbeta2 = 0.99\n";
  std::ofstream f(run / "analysis" / "heads.csv");
  f << "step,layer,head,bos_mass_nontrigger,bos_mass_trigger,prev_mass_trigger,v_bos_norm,v_other_norm,v_ratio,"
       "gap_mean,gap_std,dormant_nontrigger,dormant_trigger\n";
  for (int i = 0; i < n_steps; ++i) {
    const double s = i * every;
    f << fmt::format("{},0,0,{},0.1,0.8,{},1.2,{},{},0.1,0,0\n", s, mass(s), vbos(s), vbos(s) / 1.2, gap(s));
    f << fmt::format("{},0,1,0.05,0.1,0.8,{},1.2,1,{},0.1,0,0\n", s, 5.0 + i, -3.0 * i);
    f << fmt::format("{},1,0,0.05,0.1,0.8,{},1.2,1,{},0.1,0,0\n", s, 7.0, std::sin(double(i)));
  }
  return run;
}

double ramp_mass(double s) { return std::min(0.95, 0.1 + 0.8 * s / 1000.0); }  // reaches 0.5 at step 500

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(TheoryReport, AdamRunFitsLinearGapAndExponentialValueAfterTheSinkForms) {
  const auto root = temp_dir("adam");
  const auto run = make_run(
      root, "adam", "adamw", ramp_mass, [](double s) { return 0.5 + 0.004 * s; },
      [](double s) { return 2.0 * std::exp(-0.001 * s); });
  const auto rc = compare_run_to_theory("adam run", run.string(), 5e-4, 0.999);
  ASSERT_TRUE(rc.ok) << rc.problem;
  EXPECT_EQ(rc.settings_source, "config.toml");  // lr and beta2 from the run, not the arguments
  EXPECT_DOUBLE_EQ(rc.lr, 1e-3);
  EXPECT_DOUBLE_EQ(rc.beta2, 0.99);
  ASSERT_TRUE(rc.sink_formed);
  EXPECT_DOUBLE_EQ(rc.sink_step, 500);
  EXPECT_EQ(rc.steps.size(), 41u);  // the decoy heads were dropped
  ASSERT_EQ(rc.fits.size(), 2u);

  const auto& g = rc.fits[0];
  EXPECT_EQ(g.quantity, "gap_mean");
  EXPECT_EQ(g.steps.front(), 500);
  EXPECT_EQ(g.steps.size(), 31u);
  EXPECT_EQ(g.predicted_law, "linear");
  EXPECT_EQ(g.better, "linear");
  EXPECT_TRUE(g.form_agrees);
  EXPECT_NEAR(g.measured_rate, 0.004, 1e-12);
  // c * lr with c = sqrt(1 + 4 r^2) - 2 r to first order, r = lr / (1 - beta2) = 0.1
  EXPECT_NEAR(g.predicted_rate, (std::sqrt(1.04) - 0.2) * 1e-3, 5e-5);
  EXPECT_NE(g.verdict.find("Form agrees"), std::string::npos) << g.verdict;
  EXPECT_NE(g.verdict.find("× the predicted"), std::string::npos) << g.verdict;  // ~4.8x off

  const auto& v = rc.fits[1];
  EXPECT_EQ(v.quantity, "v_bos_norm");
  EXPECT_EQ(v.predicted_law, "exponential");
  EXPECT_EQ(v.better, "exponential");
  EXPECT_TRUE(v.form_agrees);
  EXPECT_NEAR(v.exp_law.slope, -0.001, 1e-12);
  EXPECT_NEAR(v.exp_law.r2, 1.0, 1e-12);
  EXPECT_NE(v.verdict.find("within a factor 2"), std::string::npos) << v.verdict;
}

TEST(TheoryReport, SgdRunIsJudgedAgainstTheLogLawAndMismatchIsReported) {
  const auto root = temp_dir("sgd");
  // SGD run whose gap grows logarithmically (agrees) and whose |v| decays exponentially
  // (disagrees with the predicted power law).
  const auto run = make_run(
      root, "sgd", "sgd", ramp_mass, [](double s) { return 1.0 + 0.5 * std::log(s + 1.0); },
      [](double s) { return 2.0 * std::exp(-0.002 * s); });
  const auto rc = compare_run_to_theory("sgd run", run.string(), 1e-3, 0.99);
  ASSERT_TRUE(rc.ok) << rc.problem;
  EXPECT_EQ(rc.optimizer, "sgd");
  ASSERT_EQ(rc.fits.size(), 2u);
  EXPECT_EQ(rc.fits[0].predicted_law, "log");
  EXPECT_EQ(rc.fits[0].better, "log");
  EXPECT_NEAR(rc.fits[0].measured_rate, 0.5, 0.01);
  EXPECT_EQ(rc.fits[1].predicted_law, "power");
  EXPECT_EQ(rc.fits[1].better, "exponential");
  EXPECT_FALSE(rc.fits[1].form_agrees);
  EXPECT_NE(rc.fits[1].verdict.find("Form disagrees"), std::string::npos) << rc.fits[1].verdict;
}

TEST(TheoryReport, SinkThatNeverFormsIsSaidAndTheSecondHalfIsFitted) {
  const auto root = temp_dir("never");
  const auto run = make_run(
      root, "never", "adamw", [](double) { return 0.2; }, [](double s) { return 0.001 * s; },
      [](double) { return 1.0; });
  const auto rc = compare_run_to_theory("never", run.string(), 1e-3, 0.99);
  ASSERT_TRUE(rc.ok) << rc.problem;
  EXPECT_FALSE(rc.sink_formed);
  EXPECT_NE(rc.window_note.find("never formed"), std::string::npos);
  EXPECT_DOUBLE_EQ(rc.window_from, 1000);  // second half of 0..2000
  // A constant |v| makes the exponential law's slope 0: reported, no crash.
  EXPECT_NEAR(rc.fits[1].exp_law.slope, 0, 1e-12);
}

TEST(TheoryReport, MissingShortAndBadCsvsGiveAProblemNotAnException) {
  const auto root = temp_dir("bad");
  auto rc = compare_run_to_theory("missing", (root / "nope").string(), 1e-3, 0.99);
  EXPECT_FALSE(rc.ok);
  EXPECT_NE(rc.problem.find("does not exist"), std::string::npos) << rc.problem;

  const auto short_run = make_run(
      root, "short", "adamw", ramp_mass, [](double s) { return s; }, [](double) { return 1.0; }, 2);
  rc = compare_run_to_theory("short", short_run.string(), 1e-3, 0.99);
  EXPECT_FALSE(rc.ok);
  EXPECT_NE(rc.problem.find("too short"), std::string::npos) << rc.problem;

  // The sink forms at the last logged step: the late phase is too short to fit.
  const auto late = make_run(
      root, "late", "adamw", [](double s) { return s >= 2000 ? 0.9 : 0.1; }, [](double s) { return s; },
      [](double) { return 1.0; });
  rc = compare_run_to_theory("late", late.string(), 1e-3, 0.99);
  EXPECT_FALSE(rc.ok);
  EXPECT_NE(rc.problem.find("late phase"), std::string::npos) << rc.problem;

  fs::create_directories(root / "garbage" / "analysis");
  std::ofstream(root / "garbage" / "analysis" / "heads.csv") << "step,layer\n1,abc\n";
  rc = compare_run_to_theory("garbage", (root / "garbage").string(), 1e-3, 0.99);
  EXPECT_FALSE(rc.ok);
  EXPECT_FALSE(rc.problem.empty());

  fs::create_directories(root / "nocol" / "analysis");
  std::ofstream(root / "nocol" / "analysis" / "heads.csv") << "step,layer,head\n1,0,0\n2,0,0\n";
  rc = compare_run_to_theory("nocol", (root / "nocol").string(), 1e-3, 0.99);
  EXPECT_FALSE(rc.ok);
  EXPECT_NE(rc.problem.find("no column 'bos_mass_nontrigger'"), std::string::npos) << rc.problem;
}

TEST(TheoryReport, SectionHasTheoryTablesFiguresAndParagraphsForMissingRuns) {
  const auto root = temp_dir("section");
  const auto run = make_run(
      root, "good", "adamw", ramp_mass, [](double s) { return 0.5 + 0.004 * s; },
      [](double s) { return 2.0 * std::exp(-0.001 * s); });
  HtmlReport html("test report");
  const auto t0 = std::chrono::steady_clock::now();
  add_theory_section(html, (root / "theory").string(),
                     {{"good run", run.string()}, {"missing run", (root / "missing").string()}}, 1e-3, 0.99);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 30.0);  // quick (about 3 s on one core when idle)
  const std::string s = html.str();
  EXPECT_NE(s.find("Theory: mutual reinforcement"), std::string::npos);
  EXPECT_NE(s.find("Theory vs training"), std::string::npos);
  // The reduced model's own checks and the run's comparison table.
  EXPECT_NE(s.find("within 10%"), std::string::npos);
  EXPECT_NE(s.find("alpha slope per step"), std::string::npos);
  EXPECT_NE(s.find("linear law: slope / R²"), std::string::npos);
  EXPECT_NE(s.find("exponential: log-slope / R²"), std::string::npos);
  EXPECT_NE(s.find("gap_mean"), std::string::npos);
  EXPECT_NE(s.find("v_bos_norm"), std::string::npos);
  EXPECT_NE(s.find("Form agrees"), std::string::npos);
  EXPECT_NE(s.find("sinklab theory fit --csv"), std::string::npos);
  // The missing run is a paragraph, and the rest of the section is still there.
  EXPECT_NE(s.find("No comparison for this run"), std::string::npos);
  EXPECT_NE(s.find("does not exist"), std::string::npos);
  EXPECT_TRUE(fs::exists(root / "theory" / "summary.json"));
  if (gnuplot_available()) {
    // 5 theory figures + 1 for the good run, embedded.
    EXPECT_EQ(count(s, "data:image/png;base64,"), 6u);
    EXPECT_TRUE(fs::exists(root / "theory" / "figures" / "run1_growth.png"));
    EXPECT_TRUE(fs::exists(root / "theory" / "figures" / "theory_phase_portrait.png"));
    EXPECT_FALSE(fs::exists(root / "theory" / "figures" / "run2_growth.png"));
  } else {
    EXPECT_NE(s.find("gnuplot is not available"), std::string::npos);
  }
}

TEST(TheoryReport, BadTheorySettingsBecomeAParagraph) {
  const auto root = temp_dir("badlr");
  HtmlReport html("test report");
  add_theory_section(html, (root / "theory").string(), {}, -1.0, 0.99);
  const std::string s = html.str();
  EXPECT_NE(s.find("The reduced model could not be run"), std::string::npos);
  EXPECT_NE(s.find("No training runs were given"), std::string::npos);
}
