#include "analysis/core/ode.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab::ode {
namespace {

// Dormand & Prince (1980) RK5(4)7M tableau.
constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
constexpr double a21 = 1.0 / 5;
constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561, a54 = -212.0 / 729;
constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176,
                 a65 = -5103.0 / 18656;
// 5th-order weights (also the 7th stage's row: FSAL).
constexpr double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784, b6 = 11.0 / 84;
// Difference between the 5th- and the embedded 4th-order weights.
constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920, e5 = -17253.0 / 339200,
                 e6 = 22.0 / 525, e7 = -1.0 / 40;

double err_norm(const std::vector<double>& e, const std::vector<double>& y0, const std::vector<double>& y1,
                const Options& o) {
  double s = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const double sc = o.atol + o.rtol * std::max(std::fabs(y0[i]), std::fabs(y1[i]));
    const double r = e[i] / sc;
    s += r * r;
  }
  return e.empty() ? 0.0 : std::sqrt(s / double(e.size()));
}

bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

Stats integrate(const Rhs& f, double t0, std::vector<double>& y, const std::vector<double>& t_out,
                const Observer& observe, const Options& opt) {
  require(std::isfinite(t0), "ode: the initial time is not finite");
  require(all_finite(y), "ode: the initial state is not finite");
  require(opt.rtol > 0 && opt.atol >= 0 && std::isfinite(opt.rtol) && std::isfinite(opt.atol),
          "ode: tolerances must be finite, rtol > 0 and atol >= 0");
  double prev = t0;
  for (double t : t_out) {
    require(std::isfinite(t) && t >= prev, "ode: output times must be finite, >= t0 and non-decreasing");
    prev = t;
  }
  Stats st;
  const size_t n = y.size();
  std::vector<double> k1(n), k2(n), k3(n), k4(n), k5(n), k6(n), k7(n), tmp(n), y1(n), err(n);
  double t = t0;
  f(t, y, k1);
  ++st.rhs_evals;
  require(all_finite(k1), fmt::format("ode: the right-hand side is not finite at t = {}", t));

  double h = opt.h_init;
  if (!(h > 0)) {
    // Initial step after Hairer, Norsett & Wanner, Solving ODEs I, II.4.
    auto scaled = [&](const std::vector<double>& v) {
      double s = 0;
      for (size_t i = 0; i < n; ++i) {
        const double r = v[i] / (opt.atol + opt.rtol * std::fabs(y[i]));
        s += r * r;
      }
      return n ? std::sqrt(s / double(n)) : 0.0;
    };
    const double d0 = scaled(y), d1 = scaled(k1);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    for (size_t i = 0; i < n; ++i) tmp[i] = y[i] + h0 * k1[i];
    f(t + h0, tmp, k2);
    ++st.rhs_evals;
    for (size_t i = 0; i < n; ++i) err[i] = k2[i] - k1[i];
    const double d2 = scaled(err) / h0;
    const double h1 = std::max(d1, d2) <= 1e-15 ? std::max(1e-6, h0 * 1e-3)
                                                : std::pow(0.01 / std::max(d1, d2), 1.0 / 5);
    h = std::min(100 * h0, h1);
  }
  h = std::min(h, opt.h_max);

  for (double target : t_out) {
    while (t < target) {
      if (st.accepted + st.rejected >= opt.max_steps)
        fail(fmt::format("ode: more than {} steps before t = {} (stiff or too tight tolerances?)",
                         opt.max_steps, target));
      bool last = false;
      double hs = h;
      if (t + hs >= target || (target - t - hs) < 1e-12 * std::fabs(target)) {
        hs = target - t;
        last = true;
      }
      if (!(hs > 0) || t + hs == t)
        fail(fmt::format("ode: step size underflow at t = {}", t));
      for (size_t i = 0; i < n; ++i) tmp[i] = y[i] + hs * a21 * k1[i];
      f(t + c2 * hs, tmp, k2);
      for (size_t i = 0; i < n; ++i) tmp[i] = y[i] + hs * (a31 * k1[i] + a32 * k2[i]);
      f(t + c3 * hs, tmp, k3);
      for (size_t i = 0; i < n; ++i) tmp[i] = y[i] + hs * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);
      f(t + c4 * hs, tmp, k4);
      for (size_t i = 0; i < n; ++i)
        tmp[i] = y[i] + hs * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]);
      f(t + c5 * hs, tmp, k5);
      for (size_t i = 0; i < n; ++i)
        tmp[i] = y[i] + hs * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]);
      f(t + hs, tmp, k6);
      for (size_t i = 0; i < n; ++i)
        y1[i] = y[i] + hs * (b1 * k1[i] + b3 * k3[i] + b4 * k4[i] + b5 * k5[i] + b6 * k6[i]);
      f(t + hs, y1, k7);
      st.rhs_evals += 6;
      for (size_t i = 0; i < n; ++i)
        err[i] = hs * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
      double en = err_norm(err, y, y1, opt);
      if (!std::isfinite(en) || !all_finite(k7)) en = 1e10;  // treat as a failed step: shrink
      if (en <= 1.0) {
        ++st.accepted;
        t = last ? target : t + hs;
        y.swap(y1);
        k1.swap(k7);  // first same as last
        const double fac = en == 0 ? 5.0 : std::clamp(0.9 * std::pow(en, -0.2), 0.2, 5.0);
        // A step shortened to hit an output time says little about the natural size.
        h = std::min(opt.h_max, last ? std::max(h, hs * fac) : hs * fac);
        st.last_h = hs;
      } else {
        ++st.rejected;
        h = hs * std::clamp(0.9 * std::pow(en, -0.2), 0.1, 0.9);
      }
    }
    if (!all_finite(y)) fail(fmt::format("ode: the solution became non-finite at t = {}", t));
    if (observe) observe(t, y);
  }
  return st;
}

}  // namespace sinklab::ode
