#include "analysis/core/theory.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "analysis/core/growth_fit.h"
#include "io/error.h"
#include "io/files.h"

namespace sinklab::theory {

using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

double gauss(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();  // (0, 1]
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// 1 / (1 + e^x) without overflow.
double logistic_neg(double x) {
  if (x > 0) {
    const double e = std::exp(-x);
    return e / (1 + e);
  }
  return 1 / (1 + std::exp(x));
}

bool finite_all(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------- spec / model

void ModelSpec::validate() const {
  require(d >= 1 && d <= 4096, fmt::format("theory: d must be in [1, 4096], got {}", d));
  require(std::isfinite(mean_norm) && mean_norm >= 0,
          fmt::format("theory: mean-norm must be finite and >= 0, got {}", mean_norm));
  require(std::isfinite(sigma) && sigma >= 0, fmt::format("theory: sigma must be finite and >= 0, got {}", sigma));
  require(n_min >= 1, fmt::format("theory: n must be >= 1 (n-min = {})", n_min));
  require(n_max >= n_min, fmt::format("theory: n-max ({}) must be >= n-min ({})", n_max, n_min));
  require(n_max <= 1000000, fmt::format("theory: n-max must be <= 1000000, got {}", n_max));
  require(std::isfinite(trigger_frac) && trigger_frac >= 0 && trigger_frac <= 1,
          fmt::format("theory: trigger-frac must be in [0, 1], got {}", trigger_frac));
}

ReducedModel::ReducedModel(const ModelSpec& spec) : spec_(spec) {
  spec_.validate();
  Rng rng(spec_.seed, 1, 0);
  mu_.assign(spec_.d, 0.0);
  double nn = 0;
  while (nn < 1e-12) {
    for (auto& x : mu_) x = gauss(rng);
    nn = norm2(mu_);
  }
  const double sc = spec_.mean_norm / std::sqrt(nn);
  for (auto& x : mu_) x *= sc;
  s2_ = double(spec_.d) * spec_.sigma * spec_.sigma;
}

double ReducedModel::norm2(const std::vector<double>& v) { return dot(v, v); }

double ReducedModel::mean_n() const { return 0.5 * (spec_.n_min + spec_.n_max); }

double ReducedModel::var_n() const {
  const double k = double(spec_.n_max - spec_.n_min + 1);
  return (k * k - 1) / 12.0;
}

int ReducedModel::size() const {
  return (spec_.residual ? 2 : 1) + spec_.d + (spec_.trigger ? 2 : 0);
}

std::vector<int> ReducedModel::alpha_indices() const {
  return spec_.residual ? std::vector<int>{0, 1} : std::vector<int>{0};
}

std::vector<int> ReducedModel::beta_indices() const {
  std::vector<int> out;
  const int off = spec_.residual ? 2 : 1;
  for (int i = 0; i < spec_.d; ++i) out.push_back(off + i);
  return out;
}

std::vector<double> ReducedModel::pack(const Params& p) const {
  require(int(p.beta.size()) == spec_.d, "theory: beta has the wrong dimension");
  std::vector<double> th;
  th.reserve(size());
  if (spec_.residual) {
    th.push_back(p.r);
    th.push_back(p.kappa);
  } else {
    th.push_back(p.alpha);
  }
  th.insert(th.end(), p.beta.begin(), p.beta.end());
  if (spec_.trigger) {
    th.push_back(p.alpha_t);
    th.push_back(p.lambda);
  }
  return th;
}

Params ReducedModel::unpack(const std::vector<double>& th) const {
  Params p;
  size_t i = 0;
  if (spec_.residual) {
    p.r = th[i++];
    p.kappa = th[i++];
    p.alpha = p.r * p.kappa;
  } else {
    p.alpha = th[i++];
  }
  p.beta.assign(th.begin() + i, th.begin() + i + spec_.d);
  i += spec_.d;
  if (spec_.trigger) {
    p.alpha_t = th[i++];
    p.lambda = th[i++];
  }
  return p;
}

double ReducedModel::sink_weight(double alpha) const {
  const double p = 1.0 / double(spec_.n_max - spec_.n_min + 1);
  double s = 0;
  for (int n = spec_.n_min; n <= spec_.n_max; ++n) s += p * logistic_neg(std::log(double(n)) - alpha);
  return s;
}

double ReducedModel::dormant_loss(double alpha, const std::vector<double>& beta, double* d_alpha,
                                  std::vector<double>* d_beta) const {
  const int d = spec_.d;
  const double p = 1.0 / double(spec_.n_max - spec_.n_min + 1);
  double L = 0, da = 0;
  if (d_beta) d_beta->assign(d, 0.0);
  std::vector<double> o(d);
  for (int n = spec_.n_min; n <= spec_.n_max; ++n) {
    const double ln = std::log(double(n));
    const double wh = logistic_neg(ln - alpha);  // e^a / (e^a + n)
    const double xh = logistic_neg(alpha - ln);  // n / (e^a + n)
    // Mean output o = wh beta + xh mu; G = E|o|^2 = |o|^2 + xh^2 s^2 / n.
    for (int i = 0; i < d; ++i) o[i] = wh * beta[i] + xh * mu_[i];
    const double G = dot(o, o) + xh * xh * s2_ / double(n);
    L += p * 0.5 * G;
    da += p * wh * (dot(o, beta) - G);
    if (d_beta)
      for (int i = 0; i < d; ++i) (*d_beta)[i] += p * wh * o[i];
  }
  if (d_alpha) *d_alpha = da;
  return L;
}

double ReducedModel::loss(const std::vector<double>& th) const {
  std::vector<double> g;
  return loss_grad(th, g);
}

double ReducedModel::loss_grad(const std::vector<double>& th, std::vector<double>& grad) const {
  require(int(th.size()) == size(), "theory: parameter vector has the wrong size");
  const int d = spec_.d;
  const Params P = unpack(th);
  const double rho = spec_.trigger ? spec_.trigger_frac : 0.0;
  grad.assign(th.size(), 0.0);
  std::vector<double> gb;
  double ga = 0;
  double L = (1 - rho) * dormant_loss(P.alpha, P.beta, &ga, &gb);
  ga *= (1 - rho);
  for (auto& x : gb) x *= (1 - rho);
  const int boff = spec_.residual ? 2 : 1;
  if (spec_.trigger) {
    const double p = 1.0 / double(spec_.n_max - spec_.n_min + 1);
    std::vector<double> bm(d);
    for (int i = 0; i < d; ++i) bm[i] = P.beta[i] - mu_[i];
    const double bm2 = dot(bm, bm);
    double LT = 0, gat = 0, gl = 0, gbs = 0;
    for (int n = spec_.n_min; n <= spec_.n_max; ++n) {
      // Trigger query: sink (alpha_t), previous token (lambda, the target), n - 1 others (0).
      double mx = std::max(P.alpha_t, P.lambda);
      if (n > 1) mx = std::max(mx, std::log(double(n - 1)));
      double z = std::exp(P.alpha_t - mx) + std::exp(P.lambda - mx) + double(n - 1) * std::exp(-mx);
      const double logZ = mx + std::log(z);
      const double u = std::exp(P.alpha_t - logZ), e = std::exp(P.lambda - logZ);
      const double invZ = std::exp(-logZ), m = double(n - 1) * invZ;
      const double c = u + m;
      const double G = u * u * bm2 + (double(n - 1) * invZ * invZ + c * c) * s2_;
      LT += p * 0.5 * G;
      gbs += p * u * u;
      gat += p * (u * u * bm2 + u * c * s2_ - u * G);
      gl += p * (-e * G);
    }
    L += rho * LT;
    for (int i = 0; i < d; ++i) gb[i] += rho * gbs * bm[i];
    grad[boff + d] = rho * gat;
    grad[boff + d + 1] = rho * gl;
  }
  if (spec_.residual) {
    grad[0] = P.kappa * ga;
    grad[1] = P.r * ga;
  } else {
    grad[0] = ga;
  }
  for (int i = 0; i < d; ++i) grad[boff + i] = gb[i];
  return L;
}

double ReducedModel::sample_loss_grad(const std::vector<double>& th, Rng& rng, int batch,
                                      std::vector<double>& grad) const {
  require(int(th.size()) == size(), "theory: parameter vector has the wrong size");
  require(batch >= 1, "theory: batch must be >= 1");
  const int d = spec_.d;
  const Params P = unpack(th);
  const double rho = spec_.trigger ? spec_.trigger_frac : 0.0;
  const int boff = spec_.residual ? 2 : 1;
  const int span = spec_.n_max - spec_.n_min + 1;
  grad.assign(th.size(), 0.0);
  double L = 0, ga = 0;
  std::vector<double> o(d), vp(d), gb(d, 0.0);
  const double sig = spec_.sigma;
  for (int b = 0; b < batch; ++b) {
    const int n = spec_.n_min + int(rng.next() % uint64_t(span));
    const double ln = std::log(double(n));
    {
      // Dormant query: the sum of n i.i.d. N(mu, sigma^2 I) values is N(n mu, n sigma^2 I).
      const double wh = logistic_neg(ln - P.alpha);
      const double xh = logistic_neg(P.alpha - ln);
      const double sn = std::sqrt(double(n)) * sig;
      for (int i = 0; i < d; ++i) {
        const double S = double(n) * mu_[i] + sn * gauss(rng);
        o[i] = wh * P.beta[i] + xh / double(n) * S;
      }
      const double oo = dot(o, o);
      L += (1 - rho) * 0.5 * oo;
      ga += (1 - rho) * wh * (dot(o, P.beta) - oo);
      for (int i = 0; i < d; ++i) gb[i] += (1 - rho) * wh * o[i];
    }
    if (spec_.trigger) {
      double mx = std::max(P.alpha_t, P.lambda);
      if (n > 1) mx = std::max(mx, std::log(double(n - 1)));
      const double z = std::exp(P.alpha_t - mx) + std::exp(P.lambda - mx) + double(n - 1) * std::exp(-mx);
      const double logZ = mx + std::log(z);
      const double u = std::exp(P.alpha_t - logZ), e = std::exp(P.lambda - logZ), invZ = std::exp(-logZ);
      const double so = std::sqrt(double(n - 1)) * sig;
      for (int i = 0; i < d; ++i) {
        vp[i] = mu_[i] + sig * gauss(rng);
        const double S = double(n - 1) * mu_[i] + so * gauss(rng);
        o[i] = u * P.beta[i] + e * vp[i] + invZ * S;  // trigger output
      }
      double rr = 0, rb = 0, rv = 0;
      for (int i = 0; i < d; ++i) {
        const double r = o[i] - vp[i];
        rr += r * r;
        rb += r * (P.beta[i] - o[i]);
        rv += r * (vp[i] - o[i]);
        gb[i] += rho * u * r;
      }
      L += rho * 0.5 * rr;
      grad[boff + d] += rho * u * rb;
      grad[boff + d + 1] += rho * e * rv;
    }
  }
  const double inv = 1.0 / double(batch);
  ga *= inv;
  if (spec_.residual) {
    grad[0] = P.kappa * ga;
    grad[1] = P.r * ga;
  } else {
    grad[0] = ga;
  }
  for (int i = 0; i < d; ++i) grad[boff + i] = gb[i] * inv;
  if (spec_.trigger) {
    grad[boff + d] *= inv;
    grad[boff + d + 1] *= inv;
  }
  return L * inv;
}

Params ReducedModel::initial(double alpha0, const std::string& beta0, double scale) const {
  require(std::isfinite(alpha0) && std::fabs(alpha0) <= 50,
          fmt::format("theory: alpha0 must be finite with |alpha0| <= 50, got {}", alpha0));
  require(std::isfinite(scale), "theory: beta0-scale must be finite");
  Params p;
  p.beta.assign(spec_.d, 0.0);
  if (beta0 == "token") {
    Rng rng(spec_.seed, 2, 0);
    for (int i = 0; i < spec_.d; ++i) p.beta[i] = mu_[i] + spec_.sigma * gauss(rng);
  } else if (beta0 == "mean") {
    p.beta = mu_;
  } else if (beta0 != "zero") {
    fail("theory: beta0 must be token, mean or zero, got '" + beta0 + "'");
  }
  for (auto& x : p.beta) x *= scale;
  p.alpha = alpha0;
  p.alpha_t = alpha0;
  p.lambda = 0;
  if (spec_.residual) {
    p.r = 1.0;
    p.kappa = alpha0;
  }
  return p;
}

// ---------------------------------------------------------------- dynamics

Method parse_method(const std::string& s) {
  if (s == "flow") return Method::Flow;
  if (s == "gd") return Method::GD;
  if (s == "sgd") return Method::SGD;
  if (s == "adam") return Method::Adam;
  fail("theory: unknown method '" + s + "' (expected flow, gd, sgd or adam)");
}

std::string method_name(Method m) {
  switch (m) {
    case Method::Flow: return "flow";
    case Method::GD: return "gd";
    case Method::SGD: return "sgd";
    case Method::Adam: return "adam";
  }
  return "?";
}

namespace {

TrajPoint make_point(const ReducedModel& m, const std::vector<double>& th, long step, double t) {
  TrajPoint q;
  const Params P = m.unpack(th);
  q.step = step;
  q.t = t;
  q.alpha = P.alpha;
  q.beta_norm = std::sqrt(ReducedModel::norm2(P.beta));
  const double mn = std::sqrt(ReducedModel::norm2(m.mu()));
  q.beta_par = mn > 0 ? dot(P.beta, m.mu()) / mn : 0.0;
  q.loss = m.loss(th);
  q.sink_weight = m.sink_weight(P.alpha);
  q.alpha_t = P.alpha_t;
  q.lambda = P.lambda;
  q.r = P.r;
  q.kappa = P.kappa;
  return q;
}

// 0, about n_out log-spaced and n_out evenly spaced integer steps up to `steps`.
std::vector<long> record_steps(long steps, int n_out) {
  std::set<long> s{0, steps};
  if (steps > 0) {
    const int k = std::max(2, n_out - 1);
    for (int i = 0; i < k; ++i) {
      const double f = double(i) / double(k - 1);
      s.insert(std::clamp(long(std::llround(std::pow(double(steps), f))), 1L, steps));
      s.insert(std::clamp(long(std::llround(f * double(steps))), 0L, steps));
    }
  }
  return {s.begin(), s.end()};
}

}  // namespace

Trajectory run(const ReducedModel& m, const Params& init, const RunOptions& o) {
  require(o.n_out >= 2 && o.n_out <= 100000, fmt::format("theory: n-out must be in [2, 100000], got {}", o.n_out));
  require(std::isfinite(o.freeze_after) && o.freeze_after >= 0,
          fmt::format("theory: freeze-after must be finite and >= 0, got {}", o.freeze_after));
  Trajectory tr;
  tr.method = o.method;
  tr.variant = o.freeze_alpha && o.freeze_beta ? "freeze_both"
               : o.freeze_alpha                ? "freeze_alpha"
               : o.freeze_beta                 ? "freeze_beta"
                                               : "free";
  std::vector<double> th = m.pack(init);
  require(finite_all(th), "theory: the initial parameters are not finite");
  std::vector<char> frozen_mask(th.size(), 1);
  if (o.freeze_alpha)
    for (int i : m.alpha_indices()) frozen_mask[i] = 0;
  if (o.freeze_beta)
    for (int i : m.beta_indices()) frozen_mask[i] = 0;
  const bool any_freeze = o.freeze_alpha || o.freeze_beta;
  std::vector<char> free(th.size(), 1);
  bool frozen = false;
  auto maybe_freeze = [&](double t) {
    if (any_freeze && !frozen && t >= o.freeze_after) {
      free = frozen_mask;
      frozen = true;
      tr.theta_at_freeze = th;
    }
  };

  if (o.method == Method::Flow) {
    require(std::isfinite(o.t_max) && o.t_max > 0, fmt::format("theory: t-max must be finite and > 0, got {}", o.t_max));
    require(std::isfinite(o.rtol) && o.rtol > 0 && o.rtol < 1 && std::isfinite(o.atol) && o.atol > 0,
            "theory: rtol must be in (0, 1) and atol > 0");
    std::vector<double> touts{0.0};
    const double t1 = std::min(1e-2, o.t_max);
    const int k = std::max(2, o.n_out - 1);
    for (int i = 0; i < k; ++i) touts.push_back(t1 * std::pow(o.t_max / t1, double(i) / double(k - 1)));
    touts.back() = o.t_max;
    std::vector<double> g;
    auto rhs = [&](double, const std::vector<double>& y, std::vector<double>& dy) {
      m.loss_grad(y, g);
      for (size_t i = 0; i < y.size(); ++i) dy[i] = free[i] ? -g[i] : 0.0;
    };
    ode::Options oo;
    oo.rtol = o.rtol;
    oo.atol = o.atol;
    auto observe = [&](double t, const std::vector<double>& y) { tr.points.push_back(make_point(m, y, 0, t)); };
    maybe_freeze(0.0);
    if (!any_freeze || frozen || o.freeze_after >= o.t_max) {
      tr.ode = ode::integrate(rhs, 0.0, th, touts, observe, oo);
    } else {
      // Free up to freeze_after, then frozen: two integrations.
      std::vector<double> a, b;
      for (double t : touts) (t <= o.freeze_after ? a : b).push_back(t);
      const bool appended = a.empty() || a.back() != o.freeze_after;
      if (appended) a.push_back(o.freeze_after);
      size_t seen = 0;
      auto s1 = ode::integrate(rhs, 0.0, th, a,
                               [&](double t, const std::vector<double>& y) {
                                 if (!(appended && ++seen == a.size())) observe(t, y);
                                 if (!appended) ++seen;
                               },
                               oo);
      maybe_freeze(o.freeze_after);
      auto s2 = ode::integrate(rhs, o.freeze_after, th, b, observe, oo);
      tr.ode = s2;
      tr.ode.accepted += s1.accepted;
      tr.ode.rejected += s1.rejected;
      tr.ode.rhs_evals += s1.rhs_evals;
    }
    return tr;
  }

  require(o.steps >= 0, fmt::format("theory: steps must be >= 0, got {}", o.steps));
  require(o.steps <= 100000000L, fmt::format("theory: steps must be <= 1e8, got {}", o.steps));
  require(std::isfinite(o.lr) && o.lr > 0, fmt::format("theory: lr must be finite and > 0, got {}", o.lr));
  if (o.method == Method::SGD) {
    require(o.batch >= 1 && o.batch <= 1000000, fmt::format("theory: batch must be in [1, 1e6], got {}", o.batch));
    require(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1,
            fmt::format("theory: momentum must be in [0, 1), got {}", o.momentum));
  }
  if (o.method == Method::Adam)
    require(std::isfinite(o.beta1) && std::isfinite(o.beta2) && std::isfinite(o.eps) && o.beta1 >= 0 &&
                o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps >= 0,
            fmt::format("theory: Adam needs 0 <= beta1, beta2 < 1 and eps >= 0 (got {}, {}, {})", o.beta1,
                        o.beta2, o.eps));
  const auto rec = record_steps(o.steps, o.n_out);
  size_t next = 0;
  auto time_of = [&](long k) { return o.method == Method::Adam ? double(k) : o.lr * double(k); };
  std::vector<double> g(th.size()), mom(th.size(), 0.0), v(th.size(), 0.0);
  Rng rng(o.seed, 3, 0);
  double b1p = 1, b2p = 1;
  for (long k = 0;; ++k) {
    maybe_freeze(time_of(k));
    if (next < rec.size() && rec[next] == k) {
      require(finite_all(th), fmt::format("theory: {} diverged (non-finite parameters) by step {}; lower the lr",
                                          method_name(o.method), k));
      tr.points.push_back(make_point(m, th, k, time_of(k)));
      ++next;
    }
    if (k >= o.steps) break;
    if (o.method == Method::SGD)
      m.sample_loss_grad(th, rng, o.batch, g);
    else
      m.loss_grad(th, g);
    switch (o.method) {
      case Method::GD:
        for (size_t i = 0; i < th.size(); ++i)
          if (free[i]) th[i] -= o.lr * g[i];
        break;
      case Method::SGD:
        for (size_t i = 0; i < th.size(); ++i)
          if (free[i]) {
            mom[i] = o.momentum * mom[i] + g[i];
            th[i] -= o.lr * mom[i];
          }
        break;
      case Method::Adam: {
        b1p *= o.beta1;
        b2p *= o.beta2;
        for (size_t i = 0; i < th.size(); ++i)
          if (free[i]) {
            mom[i] = o.beta1 * mom[i] + (1 - o.beta1) * g[i];
            v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
            const double mh = mom[i] / (1 - b1p), vh = v[i] / (1 - b2p);
            th[i] -= o.lr * mh / (std::sqrt(vh) + o.eps);
          }
        break;
      }
      case Method::Flow: break;
    }
  }
  return tr;
}

// ---------------------------------------------------------------- predictions

FlowAsymptotics flow_asymptotics(const ReducedModel& m) {
  FlowAsymptotics a;
  a.K = m.K();
  a.alpha_intercept = 0.5 * std::log(2 * a.K);
  a.beta_prefactor = m.mean_n() * std::sqrt(ReducedModel::norm2(m.mu())) / std::sqrt(2 * a.K);
  return a;
}

double frozen_beta_drift_coefficient(const ReducedModel& m, const std::vector<double>& beta0) {
  return m.mean_n() * (dot(beta0, m.mu()) - ReducedModel::norm2(beta0));
}

double frozen_beta_alpha_star(const ReducedModel& m, const std::vector<double>& beta0) {
  auto dLda = [&](double a) {
    double ga = 0;
    m.dormant_loss(a, beta0, &ga, nullptr);
    return ga;
  };
  // Scan for the first sign change from dL/dalpha < 0 (alpha grows) to > 0.
  double prev_a = -30, prev = dLda(prev_a);
  for (double a = -29.75; a <= 60; a += 0.25) {
    const double cur = dLda(a);
    if (prev < 0 && cur >= 0) {
      double lo = prev_a, hi = a;
      for (int it = 0; it < 200; ++it) {
        const double mid = 0.5 * (lo + hi);
        (dLda(mid) < 0 ? lo : hi) = mid;
      }
      return 0.5 * (lo + hi);
    }
    prev_a = a;
    prev = cur;
  }
  return std::numeric_limits<double>::infinity();
}

std::vector<double> frozen_alpha_beta_star(const ReducedModel& m, double alpha0) {
  const auto& s = m.spec();
  const double p = 1.0 / double(s.n_max - s.n_min + 1);
  double A = 0, B = 0;
  for (int n = s.n_min; n <= s.n_max; ++n) {
    const double ln = std::log(double(n));
    const double wh = logistic_neg(ln - alpha0), xh = logistic_neg(alpha0 - ln);
    A += p * wh * wh;
    B += p * wh * xh;
  }
  std::vector<double> b = m.mu();
  for (auto& x : b) x *= -B / A;
  return b;
}

std::vector<FieldPoint> phase_field(const ReducedModel& m, double a_min, double a_max, int na, double b_min,
                                    double b_max, int nb) {
  require(na >= 2 && nb >= 2 && na <= 1000 && nb <= 1000, "theory: field grid must be 2..1000 per axis");
  require(std::isfinite(a_min) && std::isfinite(a_max) && a_max > a_min && std::isfinite(b_min) &&
              std::isfinite(b_max) && b_max > b_min,
          "theory: field ranges must be finite with max > min");
  const double mn = std::sqrt(ReducedModel::norm2(m.mu()));
  std::vector<double> u(m.mu().size(), 0.0);
  if (mn > 0)
    for (size_t i = 0; i < u.size(); ++i) u[i] = m.mu()[i] / mn;
  else
    u[0] = 1.0;
  std::vector<FieldPoint> out;
  std::vector<double> beta(u.size()), gb;
  for (int i = 0; i < na; ++i)
    for (int j = 0; j < nb; ++j) {
      const double a = a_min + (a_max - a_min) * i / double(na - 1);
      const double b = b_min + (b_max - b_min) * j / double(nb - 1);
      for (size_t k = 0; k < u.size(); ++k) beta[k] = b * u[k];
      double ga = 0;
      m.dormant_loss(a, beta, &ga, &gb);
      out.push_back({a, b, std::fabs(b), -ga, -dot(gb, u)});
    }
  return out;
}

double effective_K(const ReducedModel& m) {
  return m.K() * (m.spec().trigger ? 1 - m.spec().trigger_frac : 1.0);
}

AdamAsymptotics adam_asymptotics(const ReducedModel& m, double lr, double b1, double b2, double eps) {
  AdamAsymptotics a;
  const double rho = b2 < 1 ? lr / (1 - b2) : std::numeric_limits<double>::infinity();
  a.c_first_order = std::isfinite(rho) ? std::sqrt(1 + 4 * rho * rho) - 2 * rho : 0.0;
  // c - M(c)/sqrt(V(c)) is increasing on (0, c_max): bisection.
  auto f = [&](double c) {
    const double M = (1 - b1) / (1 - b1 * std::exp(2 * c * lr));
    const double V = (1 - b2) / (1 - b2 * std::exp(4 * c * lr));
    return c - M / std::sqrt(V);
  };
  double hi = 1.0;
  if (b2 > 0) hi = std::min(hi, -std::log(b2) / (4 * lr) * (1 - 1e-12));
  if (b1 > 0) hi = std::min(hi, -std::log(b1) / (2 * lr) * (1 - 1e-12));
  double lo = 0;
  if (f(hi) <= 0) {
    a.c = hi;
  } else {
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (f(mid) < 0 ? lo : hi) = mid;
    }
    a.c = 0.5 * (lo + hi);
  }
  a.alpha_slope = a.c * lr;
  a.beta_log_slope = -a.c * lr;
  a.loss_log_slope = -2 * a.c * lr;
  const double K = effective_K(m);
  a.alpha_eps_limit = eps > 0 ? 0.5 * std::log(K / (100 * eps)) : std::numeric_limits<double>::infinity();
  return a;
}

// ---------------------------------------------------------------- configuration

void TheoryConfig::validate() const {
  model.validate();
  require(std::isfinite(alpha0) && std::fabs(alpha0) <= 50,
          fmt::format("theory: alpha0 must be finite with |alpha0| <= 50, got {}", alpha0));
  require(beta0 == "token" || beta0 == "mean" || beta0 == "zero",
          "theory: beta0 must be token, mean or zero, got '" + beta0 + "'");
  require(std::isfinite(beta0_scale), "theory: beta0-scale must be finite");
  require(!methods.empty(), "theory: no methods selected");
  for (auto& me : methods) parse_method(me);
  require(!variants.empty(), "theory: no variants selected");
  for (auto& v : variants)
    require(v == "free" || v == "freeze_beta" || v == "freeze_alpha" || v == "freeze_both",
            "theory: unknown variant '" + v + "' (expected free, freeze_beta, freeze_alpha or freeze_both)");
  require(std::isfinite(t_max) && t_max > 0 && t_max <= 1e12,
          fmt::format("theory: t-max must be in (0, 1e12], got {}", t_max));
  require(std::isfinite(rtol) && rtol > 0 && rtol < 1 && std::isfinite(atol) && atol > 0,
          "theory: rtol must be in (0, 1) and atol > 0");
  for (auto [name, v] : {std::pair<const char*, long>{"gd-steps", gd_steps}, {"sgd-steps", sgd_steps},
                         {"adam-steps", adam_steps}})
    require(v >= 0 && v <= 100000000L, fmt::format("theory: {} must be in [0, 1e8], got {}", name, v));
  for (auto [name, v] : {std::pair<const char*, double>{"gd-lr", gd_lr}, {"sgd-lr", sgd_lr}, {"adam-lr", adam_lr}})
    require(std::isfinite(v) && v > 0, fmt::format("theory: {} must be finite and > 0, got {}", name, v));
  require(sgd_batch >= 1 && sgd_batch <= 1000000, fmt::format("theory: sgd-batch must be in [1, 1e6], got {}", sgd_batch));
  require(std::isfinite(sgd_momentum) && sgd_momentum >= 0 && sgd_momentum < 1,
          fmt::format("theory: sgd-momentum must be in [0, 1), got {}", sgd_momentum));
  require(std::isfinite(adam_beta1) && adam_beta1 >= 0 && adam_beta1 < 1,
          fmt::format("theory: adam-beta1 must be in [0, 1), got {}", adam_beta1));
  require(std::isfinite(adam_beta2) && adam_beta2 >= 0 && adam_beta2 < 1,
          fmt::format("theory: adam-beta2 must be in [0, 1), got {}", adam_beta2));
  require(std::isfinite(adam_eps) && adam_eps >= 0, fmt::format("theory: adam-eps must be finite and >= 0, got {}", adam_eps));
  require(n_out >= 2 && n_out <= 100000, fmt::format("theory: n-out must be in [2, 100000], got {}", n_out));
  require(std::isfinite(fit_decades) && fit_decades > 0, "theory: fit-decades must be finite and > 0");
  require(std::isfinite(fit_min_sink_weight) && fit_min_sink_weight >= 0 && fit_min_sink_weight < 1,
          "theory: fit-min-sink-weight must be in [0, 1)");
  require(std::isfinite(freeze_after) && freeze_after >= 0,
          fmt::format("theory: freeze-after must be finite and >= 0, got {}", freeze_after));
  require(field_n >= 2 && field_n <= 1000, fmt::format("theory: field-n must be in [2, 1000], got {}", field_n));
  require(std::isfinite(field_t_max) && field_t_max > 0 && field_t_max <= 1e9,
          fmt::format("theory: field-t-max must be in (0, 1e9], got {}", field_t_max));
  require(std::isfinite(field_alpha_min) && std::isfinite(field_alpha_max) && field_alpha_max > field_alpha_min &&
              std::isfinite(field_beta_min) && std::isfinite(field_beta_max) && field_beta_max > field_beta_min,
          "theory: phase-field ranges must be finite with max > min");
}

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

}  // namespace

void apply_toml(TheoryConfig& cfg, const std::string& text, const std::string& what) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, what);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    std::string d(e.description());
    for (auto& ch : d)
      if (ch == '\n' || ch == '\r') ch = ' ';
    fail(fmt::format("{}: malformed TOML at line {}, column {}: {}", what, b.line, b.column, d));
  }
  // An optional [theory] table, else the top level.
  const toml::table* t = &tbl;
  if (auto* sub = tbl["theory"].as_table()) t = sub;
  auto num = [&](const std::string& key, const toml::node& n) -> double {
    if (auto v = n.value<double>()) return *v;
    fail(fmt::format("{}: key '{}' must be a number", what, key));
  };
  auto integer = [&](const std::string& key, const toml::node& n) -> long {
    if (auto v = n.as_integer()) return long(v->get());
    if (auto v = n.as_floating_point()) {
      const double x = v->get();
      if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return long(x);
    }
    fail(fmt::format("{}: key '{}' must be an integer", what, key));
  };
  auto boolean = [&](const std::string& key, const toml::node& n) -> bool {
    if (auto v = n.as_boolean()) return v->get();
    fail(fmt::format("{}: key '{}' must be true or false", what, key));
  };
  auto str = [&](const std::string& key, const toml::node& n) -> std::string {
    if (auto v = n.as_string()) return v->get();
    if (auto arr = n.as_array()) {
      std::string joined;
      for (auto& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) fail(fmt::format("{}: key '{}' must be a list of strings", what, key));
        joined += (joined.empty() ? "" : ",") + *s;
      }
      return joined;
    }
    fail(fmt::format("{}: key '{}' must be a string", what, key));
  };
  for (auto&& [k, node] : *t) {
    std::string key(k.str());
    for (auto& ch : key)
      if (ch == '_') ch = '-';
    if (node.is_table()) {
      if (t == &tbl && key == "theory") continue;
      fail(fmt::format("{}: unexpected table [{}]", what, key));
    }
    auto& M = cfg.model;
    if (key == "d") M.d = int(integer(key, node));
    else if (key == "mean-norm") M.mean_norm = num(key, node);
    else if (key == "sigma") M.sigma = num(key, node);
    else if (key == "n-min") M.n_min = int(integer(key, node));
    else if (key == "n-max") M.n_max = int(integer(key, node));
    else if (key == "n") M.n_min = M.n_max = int(integer(key, node));
    else if (key == "seed") M.seed = uint64_t(integer(key, node));
    else if (key == "trigger") M.trigger = boolean(key, node);
    else if (key == "trigger-frac") M.trigger_frac = num(key, node);
    else if (key == "residual") M.residual = boolean(key, node);
    else if (key == "alpha0") cfg.alpha0 = num(key, node);
    else if (key == "beta0") cfg.beta0 = str(key, node);
    else if (key == "beta0-scale") cfg.beta0_scale = num(key, node);
    else if (key == "methods") cfg.methods = split_list(str(key, node));
    else if (key == "variants") cfg.variants = split_list(str(key, node));
    else if (key == "t-max") cfg.t_max = num(key, node);
    else if (key == "rtol") cfg.rtol = num(key, node);
    else if (key == "atol") cfg.atol = num(key, node);
    else if (key == "gd-steps") cfg.gd_steps = integer(key, node);
    else if (key == "gd-lr") cfg.gd_lr = num(key, node);
    else if (key == "sgd-steps") cfg.sgd_steps = integer(key, node);
    else if (key == "sgd-lr") cfg.sgd_lr = num(key, node);
    else if (key == "sgd-batch") cfg.sgd_batch = int(integer(key, node));
    else if (key == "sgd-momentum") cfg.sgd_momentum = num(key, node);
    else if (key == "adam-steps") cfg.adam_steps = integer(key, node);
    else if (key == "adam-lr") cfg.adam_lr = num(key, node);
    else if (key == "adam-beta1") cfg.adam_beta1 = num(key, node);
    else if (key == "adam-beta2") cfg.adam_beta2 = num(key, node);
    else if (key == "adam-eps") cfg.adam_eps = num(key, node);
    else if (key == "n-out") cfg.n_out = int(integer(key, node));
    else if (key == "fit-decades") cfg.fit_decades = num(key, node);
    else if (key == "fit-min-sink-weight") cfg.fit_min_sink_weight = num(key, node);
    else if (key == "freeze-after") cfg.freeze_after = num(key, node);
    else if (key == "run-seed") cfg.run_seed = uint64_t(integer(key, node));
    else if (key == "field-n") cfg.field_n = int(integer(key, node));
    else if (key == "field-alpha-min") cfg.field_alpha_min = num(key, node);
    else if (key == "field-alpha-max") cfg.field_alpha_max = num(key, node);
    else if (key == "field-beta-min") cfg.field_beta_min = num(key, node);
    else if (key == "field-beta-max") cfg.field_beta_max = num(key, node);
    else if (key == "field-t-max") cfg.field_t_max = num(key, node);
    else fail(fmt::format("{}: unknown key '{}'", what, std::string(k.str())));
  }
}

// ---------------------------------------------------------------- the study

namespace {

json law_json(const LawFit& f) {
  json j{{"ok", f.ok}};
  if (f.ok) {
    j["intercept"] = f.intercept;
    j["slope"] = f.slope;
    j["r2"] = f.r2;
    if (f.law == "power") j["r2_loglog"] = f.r2_fit_space;
  } else {
    j["note"] = f.note;
  }
  return j;
}

json growth_json(const GrowthFit& g) {
  return json{{"log", law_json(g.log_law)},
              {"power", law_json(g.power_law)},
              {"linear", law_json(g.linear_law)},
              {"better", g.better},
              {"n_points", g.n_points}};
}

RateCheck make_check(const std::string& quantity, double predicted, double fitted) {
  RateCheck c{quantity, predicted, fitted};
  c.rel_error = predicted != 0 ? std::fabs(fitted - predicted) / std::fabs(predicted)
                               : std::numeric_limits<double>::infinity();
  c.within_10pct = c.rel_error <= 0.10;
  return c;
}

json check_json(const RateCheck& c) {
  json j{{"quantity", c.quantity}, {"predicted", c.predicted}, {"fitted", c.fitted}};
  j["rel_error"] = std::isfinite(c.rel_error) ? json(c.rel_error) : json(nullptr);
  j["within_10pct"] = c.within_10pct;
  return j;
}

std::string fmt_num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.17g}", v);
}

json vec_json(const std::vector<double>& v) { return json(v); }

}  // namespace

json predicted_rates_json(const TheoryConfig& cfg) {
  cfg.validate();
  ReducedModel m(cfg.model);
  const auto fa = flow_asymptotics(m);
  const double K = effective_K(m);
  const auto aa = adam_asymptotics(m, cfg.adam_lr, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps);
  json j;
  j["gradient_flow"] = {
      {"alpha", {{"law", "log"}, {"log_slope", 0.5}, {"intercept", 0.5 * std::log(2 * K)},
                 {"formula", "alpha(t) = 1/2 log(2 K t)"}}},
      {"beta_norm", {{"law", "power"}, {"exponent", -0.5}, {"prefactor", fa.beta_prefactor * std::sqrt(m.K() / K)},
                     {"formula", "|beta| = E[n] |mu| / sqrt(2 K t)"}}},
      {"loss", {{"law", "power"}, {"exponent", -1.0}, {"prefactor", 0.25}, {"formula", "L = 1 / (4 t)"}}},
      {"note", "GD and SGD follow the same laws in t = lr * step"}};
  j["adam"] = {{"alpha", {{"law", "linear"}, {"slope_per_step", aa.alpha_slope}, {"c", aa.c},
                          {"c_first_order", aa.c_first_order}, {"lr", cfg.adam_lr}, {"beta2", cfg.adam_beta2}}},
               {"beta_norm", {{"law", "exponential"}, {"log_slope_per_step", aa.beta_log_slope}}},
               {"loss", {{"law", "exponential"}, {"log_slope_per_step", aa.loss_log_slope}}},
               {"linear_phase_ends_near_alpha", aa.alpha_eps_limit}};
  j["K"] = K;
  return j;
}

bool TheoryRun::all_checks_within_10pct() const {
  return std::all_of(checks.begin(), checks.end(), [](const RateCheck& c) { return c.within_10pct; });
}

const TheoryRun* TheoryResult::find(const std::string& method, const std::string& variant) const {
  for (const auto& r : runs)
    if (r.method == method && r.variant == variant) return &r;
  return nullptr;
}

TheoryResult run_theory(const TheoryConfig& cfg, const std::string& out_dir) {
  cfg.validate();
  ensure_writable_dir(out_dir);
  ReducedModel m(cfg.model);
  const Params init = m.initial(cfg.alpha0, cfg.beta0, cfg.beta0_scale);
  const auto fa = flow_asymptotics(m);
  const double K = effective_K(m);
  const double mu_norm = std::sqrt(ReducedModel::norm2(m.mu()));
  const auto aa = adam_asymptotics(m, cfg.adam_lr, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps);
  const bool ext = cfg.model.trigger || cfg.model.residual;

  TheoryResult result;
  result.K_effective = K;
  json S;
  S["model"] = {{"d", cfg.model.d},
                {"mean_norm", cfg.model.mean_norm},
                {"sigma", cfg.model.sigma},
                {"n_min", cfg.model.n_min},
                {"n_max", cfg.model.n_max},
                {"seed", cfg.model.seed},
                {"trigger", cfg.model.trigger},
                {"trigger_frac", cfg.model.trigger_frac},
                {"residual", cfg.model.residual},
                {"mu", vec_json(m.mu())},
                {"trace_cov", m.trace_cov()},
                {"mean_n", m.mean_n()},
                {"var_n", m.var_n()},
                {"K", m.K()},
                {"K_effective", K}};
  S["init"] = {{"alpha0", cfg.alpha0},
               {"beta0", cfg.beta0},
               {"beta0_scale", cfg.beta0_scale},
               {"beta0_vector", vec_json(init.beta)},
               {"beta0_norm", std::sqrt(ReducedModel::norm2(init.beta))}};
  json pred = predicted_rates_json(cfg);
  S["predictions"] = pred;

  json runs = json::array();
  std::map<std::string, std::map<std::string, json>> cmp;  // method -> variant -> end state
  json files = json::array();

  for (const auto& mname : cfg.methods) {
    const Method meth = parse_method(mname);
    for (const auto& var : cfg.variants) {
      RunOptions o;
      o.method = meth;
      o.freeze_alpha = var == "freeze_alpha" || var == "freeze_both";
      o.freeze_beta = var == "freeze_beta" || var == "freeze_both";
      o.freeze_after = cfg.freeze_after;
      o.t_max = cfg.t_max;
      o.rtol = cfg.rtol;
      o.atol = cfg.atol;
      o.n_out = cfg.n_out;
      o.seed = cfg.run_seed;
      switch (meth) {
        case Method::GD: o.steps = cfg.gd_steps, o.lr = cfg.gd_lr; break;
        case Method::SGD:
          o.steps = cfg.sgd_steps, o.lr = cfg.sgd_lr, o.batch = cfg.sgd_batch, o.momentum = cfg.sgd_momentum;
          break;
        case Method::Adam:
          o.steps = cfg.adam_steps, o.lr = cfg.adam_lr, o.beta1 = cfg.adam_beta1, o.beta2 = cfg.adam_beta2,
          o.eps = cfg.adam_eps;
          break;
        case Method::Flow: break;
      }
      const Trajectory tr = run(m, init, o);
      const auto& P = tr.points;
      json R{{"method", mname}, {"variant", var}};
      const TrajPoint& last = P.back();
      TheoryRun run_result;
      run_result.method = mname;
      run_result.variant = var;
      run_result.end = last;
      R["t_end"] = last.t;
      R["steps"] = last.step;
      R["alpha_end"] = last.alpha;
      R["beta_norm_end"] = last.beta_norm;
      R["beta_par_end"] = last.beta_par;
      R["loss_end"] = last.loss;
      R["sink_weight_end"] = last.sink_weight;
      if (cfg.model.trigger) R["lambda_end"] = last.lambda, R["alpha_t_end"] = last.alpha_t;
      if (cfg.model.residual) R["r_end"] = last.r, R["kappa_end"] = last.kappa;
      if (meth == Method::Flow)
        R["ode"] = {{"accepted", tr.ode.accepted}, {"rejected", tr.ode.rejected}, {"rhs_evals", tr.ode.rhs_evals}};

      // Fit window: the asymptotic regime (sink weight >= 0.9) within the last
      // fit_decades decades (flow/GD/SGD), or up to the eps limit (Adam).
      std::vector<double> fx, fa_, fb, fl;
      const double t_lo = last.t * std::pow(10.0, -cfg.fit_decades);
      for (const auto& q : P) {
        if (!(q.t > 0) || q.sink_weight < cfg.fit_min_sink_weight) continue;
        if (meth == Method::Adam) {
          if (q.alpha > aa.alpha_eps_limit) continue;
        } else if (q.t < t_lo) {
          continue;
        }
        fx.push_back(q.t);
        fa_.push_back(q.alpha);
        fb.push_back(q.beta_norm);
        fl.push_back(q.loss);
      }
      LawFit alpha_curve, beta_curve;
      bool have_fit = false;
      bool adam_fit = false;
      LineFit adam_logb, adam_logl;
      if (fx.size() >= 3 && fx.front() < fx.back()) {
        have_fit = true;
        R["fit_window"] = {fx.front(), fx.back()};
        const auto ga = fit_growth_law(fx, fa_);
        const auto gb = fit_growth_law(fx, fb);
        const auto gl = fit_growth_law(fx, fl);
        R["alpha_fit"] = growth_json(ga);
        R["beta_norm_fit"] = growth_json(gb);
        R["loss_fit"] = growth_json(gl);
        std::vector<RateCheck>& checks = run_result.checks;
        if (meth == Method::Adam) {
          std::vector<double> lb(fb.size()), ll(fl.size());
          for (size_t i = 0; i < fb.size(); ++i) lb[i] = std::log(std::max(fb[i], 1e-300));
          for (size_t i = 0; i < fl.size(); ++i) ll[i] = std::log(std::max(fl[i], 1e-300));
          adam_logb = fit_line(fx, lb);
          adam_logl = fit_line(fx, ll);
          adam_fit = true;
          R["beta_norm_log_linear_fit"] = {{"slope", adam_logb.b}, {"intercept", adam_logb.a}, {"r2", adam_logb.r2}};
          R["loss_log_linear_fit"] = {{"slope", adam_logl.b}, {"intercept", adam_logl.a}, {"r2", adam_logl.r2}};
          alpha_curve = ga.linear_law;
          if (var == "free" && !cfg.model.residual) {
            checks.push_back(make_check("alpha slope per step", aa.alpha_slope, ga.linear_law.slope));
            checks.push_back(make_check("log|beta| slope per step", aa.beta_log_slope, adam_logb.b));
            checks.push_back(make_check("log loss slope per step", aa.loss_log_slope, adam_logl.b));
          }
        } else {
          alpha_curve = ga.log_law;
          beta_curve = gb.power_law;
          if (var == "free") {
            checks.push_back(make_check("alpha log-slope", fa.alpha_log_slope, ga.log_law.slope));
            if (gb.power_law.ok) checks.push_back(make_check("|beta| exponent", fa.beta_exponent, gb.power_law.slope));
            if (gl.power_law.ok) checks.push_back(make_check("loss exponent", fa.loss_exponent, gl.power_law.slope));
          }
        }
        if (!checks.empty()) {
          json cj = json::array();
          for (const auto& c : checks) cj.push_back(check_json(c));
          R["checks"] = cj;
          R["all_checks_within_10pct"] = run_result.all_checks_within_10pct();
          if (ext) R["checks_note"] = "extension enabled: the predictions are the base model's leading order";
        }
      } else {
        R["fit_window"] = nullptr;
        R["fit_note"] = "fewer than 3 points in the asymptotic window (see fit-min-sink-weight); run longer";
      }

      // Counterfactual predictions.
      if (o.freeze_beta && !tr.theta_at_freeze.empty() && !cfg.model.residual) {
        const Params F = m.unpack(tr.theta_at_freeze);
        const double astar = frozen_beta_alpha_star(m, F.beta);
        const FrozenBetaOutcome fb{std::sqrt(ReducedModel::norm2(F.beta)), frozen_beta_drift_coefficient(m, F.beta),
                                   std::isfinite(astar) ? astar : std::numeric_limits<double>::infinity()};
        run_result.frozen_beta = fb;
        const bool stops = std::isfinite(fb.alpha_star);
        R["frozen_beta"] = {{"beta_norm", fb.beta_norm},
                            {"drift_coefficient", fb.drift_coefficient},
                            {"alpha_star_predicted", stops ? json(fb.alpha_star) : json("inf")},
                            {"alpha_growth", stops ? "stops at alpha_star" : "continues"}};
        if (!cfg.model.trigger && stops) R["frozen_beta"]["alpha_end_minus_star"] = last.alpha - fb.alpha_star;
      }
      if (o.freeze_alpha && !tr.theta_at_freeze.empty() && !cfg.model.trigger) {
        const Params F = m.unpack(tr.theta_at_freeze);
        const auto bstar = frozen_alpha_beta_star(m, F.alpha);
        const FrozenAlphaOutcome fa_out{F.alpha, std::sqrt(ReducedModel::norm2(bstar)),
                                        mu_norm > 0 ? dot(bstar, m.mu()) / mu_norm : 0.0};
        run_result.frozen_alpha = fa_out;
        R["frozen_alpha"] = {{"alpha", fa_out.alpha},
                             {"beta_star_norm_predicted", fa_out.beta_star_norm},
                             {"beta_star_par_predicted", fa_out.beta_star_par}};
      }

      // Trajectory CSV with the fitted and the theoretical curves.
      std::ostringstream csv;
      csv << "step,t,alpha,beta_norm,beta_par,loss,sink_weight";
      if (cfg.model.trigger) csv << ",alpha_t,lambda";
      if (cfg.model.residual) csv << ",r,kappa";
      csv << ",alpha_fit,beta_norm_fit,alpha_theory,beta_norm_theory\n";
      for (const auto& q : P) {
        csv << q.step << ',' << fmt_num(q.t) << ',' << fmt_num(q.alpha) << ',' << fmt_num(q.beta_norm) << ','
            << fmt_num(q.beta_par) << ',' << fmt_num(q.loss) << ',' << fmt_num(q.sink_weight);
        if (cfg.model.trigger) csv << ',' << fmt_num(q.alpha_t) << ',' << fmt_num(q.lambda);
        if (cfg.model.residual) csv << ',' << fmt_num(q.r) << ',' << fmt_num(q.kappa);
        std::string af, bf, at, bt;
        // Fitted curves are drawn from a little before the fit window on
        // (extrapolating them far back says nothing).
        const bool near_window = have_fit && q.t > 0 &&
                                 q.t >= (meth == Method::Adam ? 0.5 * fx.front() : 0.01 * fx.front());
        if (near_window) {
          if (alpha_curve.ok) af = fmt_num(alpha_curve.predict(q.t));
          if (beta_curve.ok) bf = fmt_num(beta_curve.predict(q.t));
          if (adam_fit) bf = fmt_num(std::exp(adam_logb.a + adam_logb.b * q.t));
        }
        if (var == "free" && q.t > 0) {
          if (meth == Method::Adam) {
            // The derived slope, anchored at the start of the fit window (the
            // intercept comes from the transient, which the theory does not give).
            if (have_fit && q.t >= 0.5 * fx.front()) at = fmt_num(fa_.front() + aa.alpha_slope * (q.t - fx.front()));
          } else {
            at = fmt_num(0.5 * std::log(2 * K * q.t));
            bt = fmt_num(m.mean_n() * mu_norm / std::sqrt(2 * K * q.t));
          }
        }
        csv << ',' << af << ',' << bf << ',' << at << ',' << bt << '\n';
      }
      const std::string rel = "trajectories/" + var + "_" + mname + ".csv";
      write_file_atomic(out_dir + "/" + rel, csv.str());
      R["file"] = rel;
      run_result.file = rel;
      result.runs.push_back(std::move(run_result));
      files.push_back(rel);
      cmp[mname][var] = {{"alpha_end", last.alpha}, {"beta_norm_end", last.beta_norm}, {"loss_end", last.loss}};
      runs.push_back(std::move(R));
    }
  }
  S["runs"] = runs;
  json C = json::object();
  for (auto& [mn, vs] : cmp) {
    json c = json::object();
    for (auto& [vn, e] : vs) c[vn] = e;
    C[mn] = c;
  }
  S["comparison"] = C;

  // Phase portrait of the dormant flow on the plane beta = b mu/|mu|.
  {
    const auto F = phase_field(m, cfg.field_alpha_min, cfg.field_alpha_max, cfg.field_n, cfg.field_beta_min,
                               cfg.field_beta_max, cfg.field_n);
    std::ostringstream csv;
    csv << "alpha,beta_par,beta_norm,d_alpha,d_beta\n";
    for (const auto& p : F)
      csv << fmt_num(p.alpha) << ',' << fmt_num(p.beta_par) << ',' << fmt_num(p.beta_norm) << ','
          << fmt_num(p.d_alpha) << ',' << fmt_num(p.d_beta) << '\n';
    write_file_atomic(out_dir + "/phase_field.csv", csv.str());
    files.push_back("phase_field.csv");
    // The slow manifold beta = -(B/A) mu for reference (where dL/dbeta = 0).
    std::ostringstream man;
    man << "alpha,beta_par\n";
    for (int i = 0; i < 201; ++i) {
      const double a = cfg.field_alpha_min + (cfg.field_alpha_max - cfg.field_alpha_min) * i / 200.0;
      const auto b = frozen_alpha_beta_star(m, a);
      man << fmt_num(a) << ',' << fmt_num(mu_norm > 0 ? dot(b, m.mu()) / mu_norm : 0.0) << '\n';
    }
    write_file_atomic(out_dir + "/slow_manifold.csv", man.str());
    files.push_back("slow_manifold.csv");
    // Flows started on the plane (the base model), for the portrait.
    ModelSpec base = cfg.model;
    base.trigger = base.residual = false;
    ReducedModel mb(base);
    std::vector<double> u = m.mu();
    for (auto& x : u) x = mu_norm > 0 ? x / mu_norm : 0.0;
    if (!(mu_norm > 0)) u[0] = 1.0;
    std::ostringstream pt;
    pt << "traj,t,alpha,beta_par\n";
    int id = 0;
    for (double a0 : {cfg.field_alpha_min + 0.1 * (cfg.field_alpha_max - cfg.field_alpha_min),
                      cfg.field_alpha_min + 0.35 * (cfg.field_alpha_max - cfg.field_alpha_min),
                      cfg.field_alpha_min + 0.6 * (cfg.field_alpha_max - cfg.field_alpha_min)})
      for (double b0 : {cfg.field_beta_max - 0.05 * (cfg.field_beta_max - cfg.field_beta_min),
                        cfg.field_beta_min + 0.05 * (cfg.field_beta_max - cfg.field_beta_min)}) {
        Params p0;
        p0.alpha = a0;
        p0.beta = u;
        for (auto& x : p0.beta) x *= b0;
        RunOptions po;
        po.method = Method::Flow;
        po.t_max = cfg.field_t_max;
        po.n_out = 100;
        po.rtol = 1e-8;
        po.atol = 1e-11;
        const auto ptr = run(mb, p0, po);
        for (const auto& q : ptr.points)
          pt << id << ',' << fmt_num(q.t) << ',' << fmt_num(q.alpha) << ',' << fmt_num(q.beta_par) << '\n';
        ++id;
      }
    write_file_atomic(out_dir + "/phase_trajectories.csv", pt.str());
    files.push_back("phase_trajectories.csv");
    S["phase_field"] = {{"plane", "beta = beta_par * mu/|mu| (invariant under the dormant flow)"},
                        {"grid", cfg.field_n},
                        {"alpha_range", {cfg.field_alpha_min, cfg.field_alpha_max}},
                        {"beta_par_range", {cfg.field_beta_min, cfg.field_beta_max}}};
  }
  S["files"] = files;
  write_file_atomic(out_dir + "/summary.json", S.dump(2) + "\n");
  return result;
}

ColumnFits fit_csv_columns(const std::string& path, const std::string& x_col, const std::vector<std::string>& y_cols,
                     double from, double to, const std::vector<std::pair<std::string, double>>& where) {
  require(!y_cols.empty(), "theory fit: give at least one --y column");
  require(!std::isnan(from) && !std::isnan(to) && from <= to,
          fmt::format("theory fit: --from ({}) must be <= --to ({})", from, to));
  const CsvTable t = read_numeric_csv(path);
  auto col = [&](const std::string& name) {
    const int c = t.column(name);
    if (c < 0) {
      std::string all;
      for (auto& h : t.columns) all += (all.empty() ? "" : ", ") + h;
      fail(fmt::format("'{}': no column '{}' (columns: {})", path, name, all));
    }
    return c;
  };
  const int xc = col(x_col);
  std::vector<std::pair<int, double>> filt;
  for (const auto& [name, v] : where) filt.emplace_back(col(name), v);
  auto keep = [&](const std::vector<double>& row) {
    for (const auto& [c, v] : filt)
      if (!(row[c] == v)) return false;
    return true;
  };
  ColumnFits out{path, x_col, from, to, where, {}};
  for (const auto& y : y_cols) {
    const int yc = col(y);
    std::vector<double> xs, ys;
    for (size_t r = 0; r < t.rows.size(); ++r) {
      if (!keep(t.rows[r])) continue;
      const double x = t.rows[r][xc], v = t.rows[r][yc];
      if (!std::isfinite(x))
        fail(fmt::format("'{}': column '{}' has a non-finite or empty value in data row {}", path, x_col, r + 1));
      if (x < from || x > to || x <= 0) continue;
      if (!std::isfinite(v))
        fail(fmt::format("'{}': column '{}' has a non-finite or empty value at {} = {}", path, y, x_col, x));
      xs.push_back(x);
      ys.push_back(v);
    }
    if (xs.size() < 3)
      fail(fmt::format("'{}': only {} rows with {} in [{}, {}] and > 0{}; a fit needs at least 3", path, xs.size(),
                       x_col, from, to, filt.empty() ? "" : " (after --where)"));
    std::vector<double> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 1; i < sorted.size(); ++i)
      if (sorted[i] == sorted[i - 1])
        fail(fmt::format("'{}': {} = {} appears in two rows (several layers/heads?); select one with --where "
                         "COL=VALUE, e.g. --where layer=0 --where head=0",
                         path, x_col, sorted[i]));
    out.fits.push_back(ColumnFit{y, fit_growth_law(xs, ys), sorted.front(), sorted.back()});
  }
  return out;
}

json to_json(const ColumnFits& f) {
  json out{{"csv", f.csv}, {"x", f.x}, {"from", f.from}, {"to", std::isfinite(f.to) ? json(f.to) : json(nullptr)}};
  if (!f.where.empty()) {
    json wj = json::object();
    for (const auto& [name, v] : f.where) wj[name] = v;
    out["where"] = wj;
  }
  json fits = json::object();
  for (const auto& c : f.fits) {
    json j = growth_json(c.fit);
    j["window"] = {c.window_from, c.window_to};
    fits[c.column] = j;
  }
  out["fits"] = fits;
  return out;
}

}  // namespace sinklab::theory
