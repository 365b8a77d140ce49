// The reduced model of mutual reinforcement (docs/theory.md has the derivation).
//
// One attention head at a dormant query. Keys: the sink (logit alpha, value beta
// in R^d) and n other tokens (logit 0, values v_j ~ N(mu, sigma^2 I_d) i.i.d.,
// |mu| = mean_norm, direction drawn from `seed`); n ~ uniform{n_min..n_max}.
//   o = (e^alpha beta + sum_j v_j) / (e^alpha + n),   L = 1/2 E_{n,v} |o|^2
// The expectation is exact (closed form in mu and s^2 = tr Cov v = d sigma^2):
//   L = 1/2 E_n [ |e^alpha beta + n mu|^2 + n s^2 ] / (e^alpha + n)^2
// so gradient flow is a deterministic ODE. Extensions (off by default):
//  * trigger: a second, active query (fraction rho of queries) that must copy the
//    previous token; it has its own sink logit alpha_t and a previous-token logit
//    lambda and shares the sink value beta;
//  * residual: the sink logit is a product alpha = r * kappa of the sink's residual
//    norm r and a key/query alignment kappa (both trained).
// Torch-free.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/core/growth_fit.h"
#include "analysis/core/ode.h"
#include "data/rng.h"

namespace sinklab::theory {

struct ModelSpec {
  int d = 8;               // value dimension
  double mean_norm = 1.0;  // |mu|, the mean of the other tokens' values
  double sigma = 1.0;      // per-coordinate standard deviation of the values
  int n_min = 8;           // n ~ uniform{n_min..n_max}
  int n_max = 32;
  uint64_t seed = 1;       // direction of mu, initial sink value, SGD draws
  bool trigger = false;    // extension 1: an active (trigger) query
  double trigger_frac = 0.3;
  bool residual = false;   // extension 2: alpha = r * kappa
  void validate() const;   // InputError on bad values
};

// Named view of the free parameters.
struct Params {
  double alpha = 0;           // dormant-query sink logit (residual: r * kappa, derived)
  std::vector<double> beta;   // sink value
  double alpha_t = 0;         // trigger: sink logit at the trigger query
  double lambda = 0;          // trigger: previous-token logit at the trigger query
  double r = 1, kappa = 0;    // residual: alpha = r * kappa
};

class ReducedModel {
 public:
  explicit ReducedModel(const ModelSpec& spec);
  const ModelSpec& spec() const { return spec_; }
  const std::vector<double>& mu() const { return mu_; }
  double trace_cov() const { return s2_; }  // s^2 = E|v - mu|^2
  double mean_n() const;
  double var_n() const;
  // K = Var(n) |mu|^2 + E[n] s^2: the residual loss coefficient, L ~ K / (2 e^{2 alpha}).
  double K() const { return var_n() * norm2(mu_) + mean_n() * s2_; }

  // Flat parameter vector theta: [alpha | r, kappa], beta (d), [alpha_t, lambda].
  int size() const;
  std::vector<double> pack(const Params& p) const;
  Params unpack(const std::vector<double>& theta) const;
  // Indices of the alpha block (alpha, or r and kappa) and of the beta block.
  std::vector<int> alpha_indices() const;
  std::vector<int> beta_indices() const;

  // Exact expected loss; loss_grad also writes the gradient (sized like theta).
  double loss(const std::vector<double>& theta) const;
  double loss_grad(const std::vector<double>& theta, std::vector<double>& grad) const;
  // Unbiased Monte-Carlo estimate from `batch` draws of (n, v_1..v_n) (+ trigger draws).
  double sample_loss_grad(const std::vector<double>& theta, Rng& rng, int batch,
                          std::vector<double>& grad) const;

  // Dormant part only, for (alpha, beta): value and partial derivatives.
  double dormant_loss(double alpha, const std::vector<double>& beta, double* d_alpha,
                      std::vector<double>* d_beta) const;
  // E_n e^alpha / (e^alpha + n): the attention weight on the sink.
  double sink_weight(double alpha) const;

  // The initial point: alpha0 and a sink value that starts as an ordinary token
  // (beta0 = a draw of v, seeded), "mean" (beta0 = mu) or "zero"; times beta0_scale.
  Params initial(double alpha0, const std::string& beta0, double beta0_scale) const;

  static double norm2(const std::vector<double>& v);

 private:
  ModelSpec spec_;
  std::vector<double> mu_;
  double s2_ = 0;
};

// ---------------------------------------------------------------- dynamics
enum class Method { Flow, GD, SGD, Adam };
Method parse_method(const std::string& s);  // flow|gd|sgd|adam
std::string method_name(Method m);

struct RunOptions {
  Method method = Method::Flow;
  bool freeze_alpha = false;  // alpha (or r, kappa) held at its initial value
  bool freeze_beta = false;   // beta held at its initial value
  // flow
  double t_max = 1e6;
  double rtol = 1e-9, atol = 1e-12;
  // discrete methods
  long steps = 100000;
  double lr = 0.5;
  int batch = 16;         // SGD minibatch (draws of n and the values)
  double momentum = 0;    // SGD heavy-ball momentum
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  int n_out = 200;        // recorded points: log-spaced (flow), log- plus linear-spaced (steps)
  uint64_t seed = 1;      // SGD draws
  double freeze_after = 0;  // the freezes apply from this time on (flow time, lr*step, or step for Adam)
};

struct TrajPoint {
  long step = 0;   // discrete step (0 for flow)
  double t = 0;    // flow time; lr * step for GD/SGD; step for Adam
  double alpha = 0, beta_norm = 0, beta_par = 0, loss = 0, sink_weight = 0;
  double alpha_t = 0, lambda = 0, r = 1, kappa = 0;
};

struct Trajectory {
  Method method = Method::Flow;
  std::string variant;  // free | freeze_beta | freeze_alpha | freeze_both
  std::vector<TrajPoint> points;
  ode::Stats ode;  // flow only
  std::vector<double> theta_at_freeze;  // parameters when the freeze began
};

Trajectory run(const ReducedModel& m, const Params& init, const RunOptions& opt);

// ---------------------------------------------------------------- predictions
// Gradient flow, t -> infinity (docs/theory.md, section 3):
//   alpha(t) = 1/2 log(2 K t) + o(1),  |beta(t)| ~ E[n] |mu| / sqrt(2 K t),  L ~ 1 / (4 t)
struct FlowAsymptotics {
  double K = 0;
  double alpha_log_slope = 0.5, alpha_intercept = 0;
  double beta_exponent = -0.5, beta_prefactor = 0;
  double loss_exponent = -1.0, loss_prefactor = 0.25;
};
FlowAsymptotics flow_asymptotics(const ReducedModel& m);

// Adam on the deterministic loss (docs/theory.md, section 5): once beta is on its
// slow manifold and |g_alpha| >> eps, alpha grows linearly, alpha_k ~ c * lr * k,
// where c solves c = M(c) / sqrt(V(c)) with the moment-lag factors
//   M = (1-b1) / (1 - b1 e^{2 c lr}),  V = (1-b2) / (1 - b2 e^{4 c lr});
// to first order c = sqrt(1 + 4 r^2) - 2 r with r = lr / (1 - b2).
// |beta| ~ e^{-alpha} then decays exponentially in steps (log-slope -c lr), the
// loss with log-slope -2 c lr, until alpha ~ 1/2 log(K / (100 eps)) (alpha_eps_limit),
// after which eps dominates and Adam behaves like GD with step lr/eps.
struct AdamAsymptotics {
  double c = 1;
  double c_first_order = 1;
  double alpha_slope = 0;      // per step
  double beta_log_slope = 0;   // d log|beta| / d step
  double loss_log_slope = 0;   // d log L / d step
  double alpha_eps_limit = 0;  // the linear phase ends about here
};
AdamAsymptotics adam_asymptotics(const ReducedModel& m, double lr, double beta1, double beta2, double eps);
// The effective K of the dormant part (K, times 1 - trigger_frac with the trigger extension).
double effective_K(const ReducedModel& m);

// beta frozen at beta0: the stationary alpha (dL/dalpha = 0), searched on
// [-30, 60]; +inf if dL/dalpha < 0 everywhere there (alpha keeps growing).
double frozen_beta_alpha_star(const ReducedModel& m, const std::vector<double>& beta0);
// Large-alpha drift with beta frozen: dalpha/dt ~ E[n] (beta0.mu - |beta0|^2) e^{-alpha}.
double frozen_beta_drift_coefficient(const ReducedModel& m, const std::vector<double>& beta0);
// alpha frozen at alpha0: beta converges to -(B/A) mu, A = E[what^2], B = E[what (1-what)].
std::vector<double> frozen_alpha_beta_star(const ReducedModel& m, double alpha0);

// Vector field of the flow on the invariant plane beta = b * mu/|mu| (dormant
// model): rows alpha, beta_par (= b), beta_norm (= |b|), d_alpha, d_beta.
struct FieldPoint {
  double alpha, beta_par, beta_norm, d_alpha, d_beta;
};
std::vector<FieldPoint> phase_field(const ReducedModel& m, double a_min, double a_max, int na, double b_min,
                                    double b_max, int nb);

// ---------------------------------------------------------------- the whole study
struct TheoryConfig {
  ModelSpec model;
  double alpha0 = 0;
  std::string beta0 = "token";  // token | mean | zero
  double beta0_scale = 1.0;
  std::vector<std::string> methods{"flow", "gd", "sgd", "adam"};
  std::vector<std::string> variants{"free", "freeze_beta", "freeze_alpha"};
  double t_max = 1e6, rtol = 1e-9, atol = 1e-12;
  long gd_steps = 200000;
  double gd_lr = 0.5;
  long sgd_steps = 200000;
  double sgd_lr = 0.2;
  int sgd_batch = 8;
  double sgd_momentum = 0;
  long adam_steps = 30000;
  double adam_lr = 1e-3, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  int n_out = 200;
  double fit_decades = 3;  // rate fits use the last `fit_decades` decades of t
  // ... and only points in the asymptotic regime: sink weight >= this (the leading
  // correction to the log-slope is ~ 3 E[n] / (2 e^alpha), docs/theory.md).
  double fit_min_sink_weight = 0.98;
  double freeze_after = 0;  // see RunOptions::freeze_after
  uint64_t run_seed = 1;    // SGD draws
  int field_n = 41;        // phase-portrait grid is field_n x field_n
  double field_alpha_min = -2, field_alpha_max = 10, field_beta_min = -4, field_beta_max = 2;
  double field_t_max = 1e4;  // phase-portrait trajectories (started on the plane) run to this time
  void validate() const;   // InputError on bad values
};

// Applies a parsed TOML table (keys = the CLI flag names with '-' or '_') on top of cfg;
// InputError for unknown keys or wrong types. `what` names the file in messages.
void apply_toml(TheoryConfig& cfg, const std::string& toml_text, const std::string& what);

// A derived rate checked against the rate fitted to the model's own trajectory.
struct RateCheck {
  std::string quantity;
  double predicted = 0, fitted = 0;
  double rel_error = 0;  // |fitted - predicted| / |predicted| (inf where predicted is 0)
  bool within_10pct = false;
};

// Counterfactual outcomes (docs/theory.md): beta frozen -> alpha stops at alpha*;
// alpha frozen -> beta goes to beta* (no drain).
struct FrozenBetaOutcome {
  double beta_norm = 0;          // |beta| at the freeze
  double drift_coefficient = 0;  // < 0: alpha's growth stops
  double alpha_star = 0;         // predicted end of alpha's growth; +inf where it continues
};
struct FrozenAlphaOutcome {
  double alpha = 0;  // alpha at the freeze
  double beta_star_norm = 0, beta_star_par = 0;
};

// One (method, variant) of the study.
struct TheoryRun {
  std::string method, variant;
  std::string file;  // trajectory CSV, relative to the output directory
  TrajPoint end;     // the last recorded point
  std::vector<RateCheck> checks;  // the free variant's rates (empty: no fit window)
  std::optional<FrozenBetaOutcome> frozen_beta;
  std::optional<FrozenAlphaOutcome> frozen_alpha;
  bool all_checks_within_10pct() const;
};

struct TheoryResult {
  double K_effective = 0;
  std::vector<TheoryRun> runs;
  const TheoryRun* find(const std::string& method, const std::string& variant) const;
};

// Runs every (method, variant), fits the rates, writes into out_dir (atomically):
//   trajectories/<variant>_<method>.csv (+ fitted-curve columns), phase_field.csv,
//   phase_trajectories.csv (flows started on the invariant plane), slow_manifold.csv,
//   summary.json (everything below and the fits); returns the typed result.
TheoryResult run_theory(const TheoryConfig& cfg, const std::string& out_dir);

// The rates the theory predicts for the training curves, for `theory fit` reports.
nlohmann::json predicted_rates_json(const TheoryConfig& cfg);

// One column's growth-law fit over its window.
struct ColumnFit {
  std::string column;
  GrowthFit fit;
  double window_from = 0, window_to = 0;  // the x range of the rows used
};
struct ColumnFits {
  std::string csv, x;
  double from = 0, to = 0;
  std::vector<std::pair<std::string, double>> where;
  std::vector<ColumnFit> fits;  // in the order of the requested columns
};

// Fits the growth laws to columns of a CSV (e.g. the toy trainer's analysis CSV:
// step, bos_logit_gap, bos_value_norm) over rows with from <= x <= to (and x > 0).
// InputError (one line, naming the file) for a missing column, non-finite values
// in the window, or fewer than 3 rows in it.
// `where` keeps only rows whose named columns equal the given values (e.g.
// {{"layer", 0}, {"head", 0}} for one head of runs/<name>/analysis/heads.csv).
ColumnFits fit_csv_columns(const std::string& path, const std::string& x_col, const std::vector<std::string>& y_cols,
                           double from, double to, const std::vector<std::pair<std::string, double>>& where = {});
// As JSON: {csv, x, from, to, where?, fits: {col: {log, power, linear, better, n_points, window}}}.
nlohmann::json to_json(const ColumnFits& f);

}  // namespace sinklab::theory
