// Tests of the reduced model of mutual reinforcement (src/analysis/core/theory.h),
// the Dormand-Prince solver (ode.h) and the growth-law fits (growth_fit.h).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "analysis/core/growth_fit.h"
#include "analysis/core/ode.h"
#include "analysis/core/theory.h"
#include "io/error.h"
#include "io/files.h"
#include "report/core/figures.h"
#include "report/core/theory_figures.h"

using namespace sinklab;
using namespace sinklab::theory;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  auto p = fs::temp_directory_path() / ("sinklab_theory_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

// ------------------------------------------------------------------ ODE solver

TEST(Ode, ExponentialDecayMatchesClosedFormTo1e8Relative) {
  const double k = 0.7;
  std::vector<double> y{2.0};
  std::vector<double> ts;
  for (int i = 1; i <= 20; ++i) ts.push_back(0.5 * i);  // up to t = 10: y falls by e^-7
  double worst = 0;
  ode::Options o;
  o.rtol = 1e-11;
  o.atol = 1e-16;
  auto st = ode::integrate([&](double, const std::vector<double>& y, std::vector<double>& dy) { dy[0] = -k * y[0]; },
                           0.0, y, ts,
                           [&](double t, const std::vector<double>& yy) {
                             const double exact = 2.0 * std::exp(-k * t);
                             worst = std::max(worst, std::fabs(yy[0] - exact) / exact);
                           },
                           o);
  EXPECT_LT(worst, 1e-8);
  EXPECT_GT(st.accepted, 0);
}

TEST(Ode, LogisticAndOscillatorMatchClosedForms) {
  // Logistic y' = r y (1 - y), y(0) = 0.01: y(t) = 1 / (1 + 99 e^{-r t}); and a
  // harmonic oscillator (u, v)' = (v, -w^2 u): u = cos(w t).
  const double r = 1.3, w = 2.0;
  std::vector<double> y{0.01, 1.0, 0.0};
  std::vector<double> ts;
  for (int i = 1; i <= 40; ++i) ts.push_back(0.25 * i);
  double worst_log = 0, worst_osc = 0;
  ode::Options o;
  o.rtol = 1e-11;
  o.atol = 1e-14;
  ode::integrate(
      [&](double, const std::vector<double>& y, std::vector<double>& dy) {
        dy[0] = r * y[0] * (1 - y[0]);
        dy[1] = y[2];
        dy[2] = -w * w * y[1];
      },
      0.0, y, ts,
      [&](double t, const std::vector<double>& yy) {
        const double exact = 1.0 / (1.0 + 99.0 * std::exp(-r * t));
        worst_log = std::max(worst_log, std::fabs(yy[0] - exact) / exact);
        worst_osc = std::max(worst_osc, std::fabs(yy[1] - std::cos(w * t)));
      },
      o);
  EXPECT_LT(worst_log, 1e-8);
  EXPECT_LT(worst_osc, 1e-8);
  EXPECT_NEAR(y[0], 1.0 / (1.0 + 99.0 * std::exp(-r * 10.0)), 1e-8);
}

TEST(Ode, ErrorControlRejectsAndAdaptsStepSize) {
  // A right-hand side that changes fast only near t = 5 forces small steps there.
  std::vector<double> y{0.0};
  ode::Options o;
  o.rtol = 1e-9;
  o.atol = 1e-12;
  auto st = ode::integrate([](double t, const std::vector<double>&, std::vector<double>& dy) {
    dy[0] = std::exp(-50.0 * (t - 5) * (t - 5));
  }, 0.0, y, {10.0}, nullptr, o);
  EXPECT_NEAR(y[0], std::sqrt(M_PI / 50.0), 1e-8);
  EXPECT_GT(st.accepted, 10);
}

TEST(Ode, BadArgumentsAreInputErrors) {
  std::vector<double> y{1.0};
  auto f = [](double, const std::vector<double>& y, std::vector<double>& dy) { dy[0] = -y[0]; };
  EXPECT_THROW(ode::integrate(f, 0.0, y, {2.0, 1.0}, nullptr), InputError);
  std::vector<double> bad{NAN};
  EXPECT_THROW(ode::integrate(f, 0.0, bad, {1.0}, nullptr), InputError);
  ode::Options o;
  o.rtol = -1;
  EXPECT_THROW(ode::integrate(f, 0.0, y, {1.0}, nullptr, o), InputError);
  auto blowup = [](double, const std::vector<double>& y, std::vector<double>& dy) { dy[0] = y[0] * y[0]; };
  std::vector<double> y1{1.0};  // y = 1/(1-t) blows up at t = 1
  EXPECT_THROW(ode::integrate(blowup, 0.0, y1, {2.0}, nullptr), InputError);
}

// ------------------------------------------------------------------ the model

namespace {

void check_gradient(const ModelSpec& spec, uint64_t seed) {
  ReducedModel m(spec);
  Rng rng(seed);
  std::vector<double> th(m.size());
  for (auto& x : th) x = 2.0 * rng.uniform() - 1.0;
  th[0] += 1.0;
  std::vector<double> g;
  m.loss_grad(th, g);
  for (size_t i = 0; i < th.size(); ++i) {
    const double h = 1e-5;
    auto p = th, q = th;
    p[i] += h;
    q[i] -= h;
    const double fd = (m.loss(p) - m.loss(q)) / (2 * h);
    EXPECT_NEAR(g[i], fd, 1e-7 + 1e-6 * std::fabs(fd)) << "component " << i;
  }
}

}  // namespace

TEST(Theory, AnalyticGradientMatchesFiniteDifferences) {
  ModelSpec s;
  s.d = 5;
  s.n_min = 3;
  s.n_max = 9;
  check_gradient(s, 1);
  s.trigger = true;
  check_gradient(s, 2);
  s.residual = true;
  check_gradient(s, 3);
  s.trigger = false;
  s.n_min = s.n_max = 1;  // n = 1: the trigger's previous token is the only other key
  check_gradient(s, 4);
  s.trigger = true;
  check_gradient(s, 5);
}

TEST(Theory, ClosedFormLossEqualsMonteCarloAverage) {
  ModelSpec s;
  s.d = 4;
  s.n_min = 2;
  s.n_max = 6;
  s.trigger = true;
  s.trigger_frac = 0.4;
  ReducedModel m(s);
  Params p = m.initial(0.5, "token", 1.0);
  p.lambda = 1.0;
  p.alpha_t = -0.3;
  const auto th = m.pack(p);
  std::vector<double> g_exact, g;
  const double L = m.loss_grad(th, g_exact);
  Rng rng(7);
  const int reps = 400, batch = 100;
  double Ls = 0;
  std::vector<double> gs(th.size(), 0.0);
  for (int r = 0; r < reps; ++r) {
    Ls += m.sample_loss_grad(th, rng, batch, g);
    for (size_t i = 0; i < g.size(); ++i) gs[i] += g[i];
  }
  Ls /= reps;
  EXPECT_NEAR(Ls, L, 0.02 * L);
  double gnorm = 0;
  for (double x : g_exact) gnorm += x * x;
  gnorm = std::sqrt(gnorm);
  for (size_t i = 0; i < gs.size(); ++i) EXPECT_NEAR(gs[i] / reps, g_exact[i], 0.03 * gnorm) << i;
}

TEST(Theory, LossDependsOnlyOnMeanAndTraceCovariance) {
  // E|o|^2 = |w beta + n mu|^2 + n s^2 over (w + n)^2 for a fixed n.
  ModelSpec s;
  s.d = 3;
  s.n_min = s.n_max = 4;
  s.sigma = 0.5;
  ReducedModel m(s);
  std::vector<double> beta{0.3, -0.2, 0.1};
  const double a = 0.8, w = std::exp(a);
  double num = 0;
  for (int i = 0; i < 3; ++i) {
    const double c = w * beta[i] + 4 * m.mu()[i];
    num += c * c;
  }
  num += 4 * 3 * 0.25;
  EXPECT_NEAR(m.dormant_loss(a, beta, nullptr, nullptr), 0.5 * num / ((w + 4) * (w + 4)), 1e-14);
  EXPECT_NEAR(m.K(), 0.0 + 4 * 0.75, 1e-12);  // Var(n) = 0 for a fixed n
}

TEST(Theory, BadParametersAreInputErrors) {
  ModelSpec s;
  s.n_min = 0;
  EXPECT_THROW(ReducedModel{s}, InputError);
  s = {};
  s.sigma = NAN;
  EXPECT_THROW(ReducedModel{s}, InputError);
  s = {};
  s.n_max = 2;
  s.n_min = 5;
  EXPECT_THROW(ReducedModel{s}, InputError);
  ReducedModel m(ModelSpec{});
  RunOptions o;
  o.method = Method::GD;
  o.steps = -1;
  EXPECT_THROW(run(m, m.initial(0, "token", 1), o), InputError);
  o.steps = 10;
  o.lr = INFINITY;
  EXPECT_THROW(run(m, m.initial(0, "token", 1), o), InputError);
  EXPECT_THROW(m.initial(NAN, "token", 1), InputError);
  EXPECT_THROW(m.initial(0, "nope", 1), InputError);
  EXPECT_THROW(parse_method("newton"), InputError);
  TheoryConfig c;
  c.t_max = -1;
  EXPECT_THROW(c.validate(), InputError);
}

// ------------------------------------------------------------------ derived rates

TEST(Theory, GradientFlowRatesMatchTheDerivation) {
  ReducedModel m(ModelSpec{});  // d = 8, |mu| = 1, sigma = 1, n ~ U{8..32}, seed 1
  RunOptions o;
  o.method = Method::Flow;
  o.t_max = 1e5;
  o.n_out = 120;
  const auto tr = run(m, m.initial(0, "token", 1), o);
  const auto fa = flow_asymptotics(m);
  std::vector<double> t, a, b, l;
  for (const auto& q : tr.points)
    if (q.t >= 1e3) t.push_back(q.t), a.push_back(q.alpha), b.push_back(q.beta_norm), l.push_back(q.loss);
  const auto ga = fit_growth_law(t, a), gb = fit_growth_law(t, b), gl = fit_growth_law(t, l);
  EXPECT_NEAR(ga.log_law.slope, 0.5, 0.05);          // alpha ~ 1/2 log t
  EXPECT_NEAR(gb.power_law.slope, -0.5, 0.05);       // |beta| ~ t^-1/2
  EXPECT_NEAR(gl.power_law.slope, -1.0, 0.10);       // L ~ 1/(4t)
  EXPECT_EQ(ga.better, "log");
  const auto& e = tr.points.back();
  EXPECT_NEAR(e.alpha, 0.5 * std::log(2 * fa.K * e.t), 0.02);
  EXPECT_NEAR(e.beta_norm / (fa.beta_prefactor / std::sqrt(e.t)), 1.0, 0.05);
  EXPECT_NEAR(e.loss * 4 * e.t, 1.0, 0.05);
  // beta aligns with -mu (the slow manifold beta = -E[n] mu / e^alpha).
  EXPECT_LT(e.beta_par, -0.999 * e.beta_norm);
}

TEST(Theory, AdamLinearGrowthConstant) {
  ReducedModel m(ModelSpec{});
  // First order: c = sqrt(1 + 4 rho^2) - 2 rho, rho = lr / (1 - beta2).
  auto a = adam_asymptotics(m, 1e-3, 0.9, 0.999, 1e-8);
  EXPECT_NEAR(a.c_first_order, std::sqrt(5.0) - 2, 1e-12);
  EXPECT_NEAR(a.c, a.c_first_order, 0.01);
  auto b = adam_asymptotics(m, 3e-4, 0.9, 0.99, 1e-8);  // the paper's betas: nearly sign descent
  EXPECT_GT(b.c, 0.9);
  EXPECT_LT(b.c, 1.0);
}

TEST(Theory, StudyFitsAllRatesWithin10PercentAndShowsCounterfactuals) {
  TheoryConfig c;
  c.t_max = 1e5;
  c.gd_steps = 100000;
  c.gd_lr = 0.5;
  c.sgd_steps = 100000;
  c.sgd_lr = 0.2;
  c.adam_steps = 30000;
  c.n_out = 120;
  c.field_n = 9;
  const auto dir = temp_dir("study");
  const auto S = run_theory(c, dir.string());
  int checked = 0;
  for (const auto& r : S.runs) {
    if (r.variant != "free") continue;
    ASSERT_FALSE(r.checks.empty()) << r.method;
    for (const auto& ch : r.checks) {
      EXPECT_TRUE(ch.within_10pct) << r.method << " " << ch.quantity << ": fitted " << ch.fitted << ", predicted "
                                   << ch.predicted;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);  // 3 quantities x 4 methods
  for (const std::string meth : {"flow", "gd", "sgd", "adam"}) {
    const auto* free = S.find(meth, "free");
    const auto* fb = S.find(meth, "freeze_beta");
    const auto* fal = S.find(meth, "freeze_alpha");
    ASSERT_TRUE(free && fb && fal) << meth;
    ASSERT_TRUE(fb->frozen_beta && fal->frozen_alpha) << meth;
    // beta frozen at a typical token value: alpha's growth stops at the predicted alpha*.
    const double astar = fb->frozen_beta->alpha_star;
    EXPECT_NEAR(fb->end.alpha, astar, meth == "sgd" ? 0.1 : 1e-3) << meth;
    EXPECT_LT(fb->end.alpha, free->end.alpha - 5) << meth;
    // alpha frozen at 0: beta goes to -(B/A) mu, no drain at all.
    const double bstar = fal->frozen_alpha->beta_star_norm;
    EXPECT_NEAR(fal->end.beta_norm, bstar, meth == "sgd" ? 0.2 : 1e-3 * bstar) << meth;
    EXPECT_GT(fal->end.beta_norm, 100 * free->end.beta_norm) << meth;
  }
  // summary.json carries the same numbers.
  const auto J = nlohmann::json::parse(read_file((dir / "summary.json").string()));
  ASSERT_EQ(J["runs"].size(), S.runs.size());
  EXPECT_DOUBLE_EQ(J["runs"][0]["alpha_end"].get<double>(), S.runs[0].end.alpha);
  EXPECT_DOUBLE_EQ(J["model"]["K_effective"].get<double>(), S.K_effective);
  for (const char* f : {"summary.json", "phase_field.csv", "slow_manifold.csv", "trajectories/free_flow.csv",
                        "trajectories/freeze_beta_adam.csv"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  const auto T = read_numeric_csv((dir / "trajectories/free_flow.csv").string());
  EXPECT_GE(T.column("alpha_fit"), 0);
  EXPECT_GE(T.column("sink_weight"), 0);
  EXPECT_EQ(T.rows.size(), 120u);
  const auto F = read_numeric_csv((dir / "phase_field.csv").string());
  EXPECT_EQ(F.rows.size(), 81u);
  fs::remove_all(dir);
}

TEST(Theory, FreezingLaterStopsBothGrowthAndDrain) {
  ReducedModel m(ModelSpec{});
  RunOptions o;
  o.method = Method::Flow;
  o.t_max = 1e4;
  o.n_out = 40;
  o.freeze_after = 100;
  o.freeze_beta = true;
  const auto init = m.initial(0, "token", 1);
  const auto fb = run(m, init, o);
  ASSERT_FALSE(fb.theta_at_freeze.empty());
  const double astar = frozen_beta_alpha_star(m, m.unpack(fb.theta_at_freeze).beta);
  EXPECT_NEAR(fb.points.back().alpha, astar, 1e-4);
  // At the freeze beta is on its slow manifold (beta.mu < 0): the drift coefficient is < 0.
  EXPECT_LT(frozen_beta_drift_coefficient(m, m.unpack(fb.theta_at_freeze).beta), 0);
  o.freeze_beta = false;
  o.freeze_alpha = true;
  const auto fa = run(m, init, o);
  const double a_f = m.unpack(fa.theta_at_freeze).alpha;
  const auto bstar = frozen_alpha_beta_star(m, a_f);
  EXPECT_NEAR(fa.points.back().beta_norm, std::sqrt(ReducedModel::norm2(bstar)), 1e-6);
  EXPECT_DOUBLE_EQ(fa.points.back().alpha, a_f);
}

TEST(Theory, PhaseFieldVanishesInBetaOnTheSlowManifold) {
  ModelSpec s;
  ReducedModel m(s);
  for (double a : {1.0, 3.0, 6.0}) {
    const auto b = frozen_alpha_beta_star(m, a);
    const double bp = -std::sqrt(ReducedModel::norm2(b));
    const auto F = phase_field(m, a, a + 1, 2, bp, bp + 1, 2);
    EXPECT_NEAR(F[0].d_beta, 0.0, 1e-12);
    EXPECT_GT(F[0].d_alpha, 0.0);  // on the manifold alpha always grows
  }
}

// ------------------------------------------------------------------ fits and config

TEST(GrowthFit, RecognisesEachLaw) {
  std::vector<double> x, ylog, ypow, ylin;
  for (int i = 1; i <= 50; ++i) {
    const double t = 10.0 * i * i;
    x.push_back(t);
    ylog.push_back(2 + 0.5 * std::log(t));
    ypow.push_back(3 * std::pow(t, -0.7));
    ylin.push_back(1 + 0.01 * t);
  }
  auto g = fit_growth_law(x, ylog);
  EXPECT_EQ(g.better, "log");
  EXPECT_NEAR(g.log_law.slope, 0.5, 1e-10);
  EXPECT_NEAR(g.log_law.intercept, 2, 1e-8);
  EXPECT_NEAR(g.log_law.r2, 1, 1e-12);
  g = fit_growth_law(x, ypow);
  EXPECT_EQ(g.better, "power");
  EXPECT_NEAR(g.power_law.slope, -0.7, 1e-10);
  EXPECT_NEAR(g.power_law.predict(100.0), 3 * std::pow(100.0, -0.7), 1e-10);
  g = fit_growth_law(x, ylin);
  EXPECT_EQ(g.better, "linear");
  EXPECT_NEAR(g.linear_law.slope, 0.01, 1e-12);
  std::vector<double> mixed{-1, 2, 3};
  g = fit_growth_law({1, 2, 3}, mixed);
  EXPECT_FALSE(g.power_law.ok);
}

TEST(GrowthFit, BadInputsAreInputErrors) {
  EXPECT_THROW(fit_growth_law({1, 2}, {1, 2}), InputError);
  EXPECT_THROW(fit_growth_law({1, 2, 3}, {1, 2}), InputError);
  EXPECT_THROW(fit_growth_law({1, 2, 3}, {1, NAN, 2}), InputError);
  EXPECT_THROW(fit_growth_law({0, 2, 3}, {1, 2, 3}), InputError);
  EXPECT_THROW(fit_growth_law({2, 2, 2}, {1, 2, 3}), InputError);
}

TEST(GrowthFit, FitsCsvColumnsWithClearErrors) {
  const auto dir = temp_dir("csv");
  const auto p = (dir / "a.csv").string();
  {
    std::ofstream f(p);
    f << "step,bos_logit_gap,bos_value_norm,bad\n";
    for (int s = 0; s <= 2000; s += 100)
      f << s << "," << 1 + 0.5 * std::log(s + 1.0) << "," << 2 / std::sqrt(s + 1.0) << "," << (s == 1500 ? "nan" : "1")
        << "\n";
  }
  const auto F = fit_csv_columns(p, "step", {"bos_logit_gap", "bos_value_norm"}, 500, INFINITY);
  ASSERT_EQ(F.fits.size(), 2u);
  EXPECT_EQ(F.fits[0].column, "bos_logit_gap");
  EXPECT_EQ(F.fits[0].window_from, 500);
  EXPECT_EQ(F.fits[0].window_to, 2000);
  const auto j = to_json(F);
  EXPECT_EQ(j["fits"]["bos_logit_gap"]["better"], "log");
  EXPECT_EQ(j["fits"]["bos_value_norm"]["better"], "power");
  EXPECT_NEAR(j["fits"]["bos_value_norm"]["power"]["slope"].get<double>(), -0.5, 0.01);
  EXPECT_EQ(j["fits"]["bos_logit_gap"]["n_points"], 16);
  auto msg = [&](auto fn) {
    try {
      fn();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg([&] { fit_csv_columns(p, "step", {"nope"}, 0, INFINITY); }).find("no column 'nope'"),
            std::string::npos);
  EXPECT_NE(msg([&] { fit_csv_columns(p, "step", {"bad"}, 0, INFINITY); }).find("non-finite"), std::string::npos);
  EXPECT_NE(msg([&] { fit_csv_columns(p, "step", {"bos_logit_gap"}, 1850, INFINITY); }).find("at least 3"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(TheoryConfig, TomlOverridesDefaultsAndRejectsUnknownKeys) {
  TheoryConfig c;
  apply_toml(c, "[theory]\nd = 4\nn_min = 2\nn-max = 5\nadam-lr = 0.01\nmethods = [\"flow\", \"adam\"]\ntrigger = true\n",
             "cfg");
  EXPECT_EQ(c.model.d, 4);
  EXPECT_EQ(c.model.n_min, 2);
  EXPECT_EQ(c.model.n_max, 5);
  EXPECT_DOUBLE_EQ(c.adam_lr, 0.01);
  EXPECT_TRUE(c.model.trigger);
  EXPECT_EQ(c.methods, (std::vector<std::string>{"flow", "adam"}));
  EXPECT_THROW(apply_toml(c, "colour = 3\n", "cfg"), InputError);
  EXPECT_THROW(apply_toml(c, "d = \"eight\"\n", "cfg"), InputError);
  EXPECT_THROW(apply_toml(c, "d = [\n", "cfg"), InputError);
}

TEST(TheoryFigures, DrawsTrajectoriesCounterfactualsAdamAndPhasePortrait) {
  if (!report::gnuplot_available()) GTEST_SKIP() << "gnuplot not available";
  TheoryConfig c;
  c.t_max = 1e3;
  c.gd_steps = c.sgd_steps = c.adam_steps = 2000;
  c.n_out = 40;
  c.field_n = 7;
  c.field_t_max = 100;
  const auto dir = temp_dir("figures");
  run_theory(c, dir.string());
  const auto pngs = report::draw_theory_figures(dir.string());
  ASSERT_EQ(pngs.size(), 5u);
  for (const auto& p : pngs) {
    const auto wh = report::png_size(read_file(p));
    EXPECT_GT(wh.first, 100) << p;
    EXPECT_GT(wh.second, 100) << p;
  }
  EXPECT_TRUE(fs::exists(dir / "figures/theory_phase_portrait.png"));
  EXPECT_THROW(report::draw_theory_figures((dir / "nope").string()), InputError);
  fs::remove_all(dir);
}
