// libFuzzer target: fuzzer bytes as figure text (titles, axis labels, legend
// entries, tic labels, tokens) through the gnuplot script generation only
// (report::gnuplot_script, gnuplot_text, gnuplot_tic_label; gnuplot never runs).
// Invariants (tests/unit/core/gnuplot_lint.h):
//  - every quoted string parses back: single-quoted pieces joined by the
//    constants "'" and "\n", nothing else; valid UTF-8, no control bytes; a
//    clean input comes back byte for byte;
//  - tic labels hold '%' only doubled (gnuplot reads them as printf formats),
//    no newline, at most 64 characters;
//  - whole scripts: no backquote, '@' or '#' outside single quotes, no control
//    byte in a command line, no line ending in a backslash except a plot
//    continuation, datablocks closed and free of control bytes.
// Building a figure may throw InputError (bad value_format); nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "../tests/unit/core/gnuplot_lint.h"
#include "io/error.h"
#include "report/core/figures.h"

using namespace sinklab;
using namespace sinklab::report;

namespace {

[[noreturn]] void die(const std::string& what, const std::string& detail) {
  std::fprintf(stderr, "invariant broken: %s\n%s\n", what.c_str(), detail.substr(0, 2000).c_str());
  std::abort();
}

void check_script(const std::string& kind, const std::string& script) {
  std::string e = gnuplot_lint::check_script(script);
  if (!e.empty()) die(kind + " script: " + e, script);
}

bool clean(const std::string& s) {
  if (!gnuplot_lint::valid_utf8(s)) return false;
  for (unsigned char c : s)
    if (gnuplot_lint::is_control(c) && c != '\n') return false;
  return true;
}

void check_quoting(const std::string& s) {
  std::string err;
  std::string t = gnuplot_text(s);
  std::string dec = gnuplot_lint::decode_string_expr(t, &err);
  if (!err.empty()) die("gnuplot_text: " + err, t);
  if (!clean(dec)) die("gnuplot_text: decoded text not clean", t);
  if (clean(s) && dec != s) die("gnuplot_text: clean text changed", t);

  t = gnuplot_text(s, false);
  dec = gnuplot_lint::decode_string_expr(t, &err);
  if (!err.empty()) die("gnuplot_text(no newline): " + err, t);
  if (dec.find('\n') != std::string::npos) die("gnuplot_text(no newline): newline", t);

  t = gnuplot_tic_label(s);
  dec = gnuplot_lint::decode_string_expr(t, &err);
  if (!err.empty()) die("gnuplot_tic_label: " + err, t);
  if (!gnuplot_lint::percent_doubled(dec)) die("gnuplot_tic_label: single '%'", t);
  if (dec.find('\n') != std::string::npos || !clean(dec)) die("gnuplot_tic_label: not clean", t);
  // 64 code points of up to 4 bytes, '%' doubled, plus "…".
  if (dec.size() > 64 * 4 * 2 + 3) die("gnuplot_tic_label: not cut", t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<std::string> l;
  for (int k = 0; k < 10; ++k) l.push_back(in.ConsumeRandomLengthString(600));
  std::string rest = in.ConsumeRemainingBytesAsString();
  if (!rest.empty()) l[0] += rest;
  for (const auto& s : l) check_quoting(s);

  LinePlot p;
  p.title = l[0], p.xlabel = l[1], p.ylabel = l[2], p.y2label = l[3];
  p.series.push_back(Series::line(l[4], {1, 2, 3}, {1, 4, 9}));
  Series s2 = Series::points(l[5], {1, 2, 3}, {3, 2, 1});
  s2.y2 = true;
  p.series.push_back(s2);
  p.vlines = {{2, l[6]}};
  p.hlines = {{4, l[7]}};
  p.log_y = true;
  check_script("line plot", gnuplot_script(p));

  SmallMultiples m;
  m.title = l[8];
  m.panels = {p, p};
  check_script("small multiples", gnuplot_script(m));

  Heatmap h;
  h.title = l[0], h.xlabel = l[1], h.ylabel = l[2], h.cbar_label = l[3];
  h.values = {{1, 2}, {3, 4}};
  h.row_labels = {l[4], l[5]};
  h.col_labels = {l[6], l[7]};
  check_script("heatmap", gnuplot_script(h));
  // A value_format from the fuzzer: accepted or InputError, and if accepted,
  // the annotations cannot break the datablock.
  h.value_format = l[9].substr(0, 39);
  try {
    check_script("heatmap (value_format)", gnuplot_script(h));
  } catch (const InputError&) {
  }

  AttentionPattern a;
  a.title = l[0];
  a.weights = {{1}, {0.5, 0.5}, {0.2, 0.3, 0.5}};
  a.tokens = {l[1], l[2], l[3]};
  a.marked_queries = {1};
  a.mark_label = l[4];
  check_script("attention pattern", gnuplot_script(a));

  BarPlot b;
  b.title = l[0], b.xlabel = l[1], b.ylabel = l[2];
  b.categories = {l[3], l[4], l[5]};
  b.series = {{l[6], {1, 2, 3}, {}, -1}};
  b.highlight = {1};
  b.highlight_label = l[7];
  b.hlines = {{1.5, l[8]}};
  check_script("bar plot", gnuplot_script(b));

  VectorField v;
  v.title = l[0], v.xlabel = l[1], v.ylabel = l[2], v.speed_label = l[3];
  v.x = {0, 1}, v.y = {0, 1}, v.dx = {1, 1}, v.dy = {1, -1};
  v.trajectories.push_back(Series::line(l[4], {0, 1}, {0, 1}));
  check_script("vector field", gnuplot_script(v));
  return 0;
}
