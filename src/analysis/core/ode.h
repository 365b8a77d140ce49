// Adaptive explicit Runge-Kutta integration with error control:
// Dormand-Prince 5(4) (the pair behind MATLAB's ode45 / SciPy's RK45), with
// first-same-as-last stages, a mixed absolute/relative error norm and a
// standard step-size controller. Torch-free.
#pragma once
#include <functional>
#include <limits>
#include <vector>

namespace sinklab::ode {

// dy/dt = f(t, y); the callee writes dydt (already sized like y).
using Rhs = std::function<void(double t, const std::vector<double>& y, std::vector<double>& dydt)>;
// Called at every requested output time with the solution there.
using Observer = std::function<void(double t, const std::vector<double>& y)>;

struct Options {
  double rtol = 1e-8;
  double atol = 1e-10;
  double h_init = 0;  // 0: choose automatically (Hairer-Norsett-Wanner heuristic)
  double h_max = std::numeric_limits<double>::infinity();
  long max_steps = 50'000'000;  // accepted + rejected steps, over the whole call
};

struct Stats {
  long accepted = 0;
  long rejected = 0;
  long rhs_evals = 0;
  double last_h = 0;
};

// Integrates from t0 through every time in t_out (non-decreasing, >= t0); y holds
// the initial state on entry and the state at t_out.back() on return. The step
// is shortened to land exactly on each output time (no interpolation error).
// Throws sinklab::InputError on bad arguments, a non-finite state, a step size
// underflow or when max_steps is exceeded.
Stats integrate(const Rhs& f, double t0, std::vector<double>& y, const std::vector<double>& t_out,
                const Observer& observe, const Options& opt = {});

}  // namespace sinklab::ode
