#include "io/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace sinklab {

Progress::Progress(int64_t total, std::string label, bool enabled)
    : total_(total > 0 ? total : 1), label_(std::move(label)), enabled_(enabled), tty_(isatty(STDERR_FILENO)) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (enabled_ && tty_ && !finished_) std::fputs("\n", stderr);
}

static std::string hms(double s) {
  int t = (int)(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double el = std::chrono::duration<double>(now - start_).count();
  double frac = std::min(1.0, (double)done / total_);
  double eta = frac > 0 ? el / frac - el : 0;
  if (tty_) {
    if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    const int W = 30;
    int fill = (int)(frac * W);
    std::string bar(fill, '#');
    bar += std::string(W - fill, '.');
    fmt::print(stderr, "\r{} [{}] {:3.0f}% {}/{} {} eta {} {}\x1b[K", label_, bar, 100 * frac, done, total_, hms(el),
               hms(eta), status);
    std::fflush(stderr);
  } else {
    int dec = (int)(frac * 10);
    if (dec == last_decile_) return;
    last_decile_ = dec;
    fmt::print(stderr, "{} {:3.0f}% ({}/{}, {} elapsed, eta {}) {}\n", label_, 100 * frac, done, total_, hms(el),
               hms(eta), status);
  }
}

void Progress::finish(const std::string& status) {
  if (!enabled_ || finished_) return;
  update(total_, status);
  if (tty_) std::fputs("\n", stderr);
  finished_ = true;
}

}  // namespace sinklab
