// Every string that reaches gnuplot is drawn literally and never fails a figure
// or runs anything: property tests over every figure kind with random-byte and
// hostile labels (needs gnuplot), script checks (no gnuplot), try_render and the
// HTML note for a figure that could not be drawn.
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gnuplot_lint.h"
#include "io/error.h"
#include "io/files.h"
#include "report/core/figures.h"
#include "report/core/html.h"
#include "tmp_dir.h"

namespace fs = std::filesystem;
using namespace sinklab;
using namespace sinklab::report;

namespace {

struct TmpDir : sinklab::testing::TmpDir {
  TmpDir() : sinklab::testing::TmpDir("sinklab_figsafe_") {}
};

// Strings that broke, or could break, a figure: printf formats (gnuplot reads
// tic labels as formats), quotes of every kind, a backquote command that would
// create `marker`, macros, markup, datablock syntax, control bytes, NUL,
// invalid UTF-8, a trailing backslash, and long strings full of '%'.
std::vector<std::string> nasty_strings(const std::string& marker) {
  using namespace std::string_literals;
  return {
      "",
      "%",
      "50%",
      "Sales grew 50% in 2020",
      "%d %s %y %n %*d %999999d %.3000f %%",
      "100%!",
      "'",
      "''",
      "'''",
      "\"",
      "it's \"quoted\"",
      "`touch " + marker + "`",
      "\"`touch " + marker + "`\"",
      "'`touch " + marker + "`'",
      "@macro @@ $d0 $0 $1",
      "{x}^2_y & ~ \\ \\\\ \\n \\t",
      "ends in a backslash \\",
      "\\",
      "EOD",
      "\nEOD\nset output '/tmp/x'\n",
      "#comment",
      "a\tb\tc",
      "line one\nline two\r\n",
      "nul\0byte"s,
      "\x01\x02\x1b[31m\x7f",
      "\xff\xfe invalid \xc3\x28 \xe2\x82 \xf0\x28\x8c\x28",
      "é 日本語 ‖v‖ ␣ 🙂",
      std::string(3000, '%'),
      std::string(5000, 'x') + "%",
      [] {
        std::string s;
        for (int i = 0; i < 2500; ++i) s += "a%%";
        return s;
      }(),
      std::string(20000, '\''),
      "domain\twith\ttabs",
  };
}

// A random label: mostly short, sometimes long; bytes biased towards the ones
// gnuplot treats specially.
std::string random_label(std::mt19937& rng) {
  static const char kSpecial[] = "%'\"`\\@&{}^_$#!~()[],.;:=<>| \t\n\r\0\x01\x7f\xff\xc3\xe2\x82";
  static const std::string special(kSpecial, sizeof kSpecial - 1);  // with the NUL
  std::uniform_int_distribution<int> coin(0, 99), byte(0, 255), pick(0, (int)special.size() - 1);
  int len;
  int c = coin(rng);
  if (c < 5) len = 0;
  else if (c < 90) len = 1 + coin(rng) % 24;
  else len = 200 + coin(rng) * 40;  // up to ~4000 bytes
  std::string s;
  for (int i = 0; i < len; ++i) s += coin(rng) < 60 ? special[pick(rng)] : (char)byte(rng);
  return s;
}

constexpr int kRandomCases = 24;

// Draws `make(labels)` for the nasty strings and kRandomCases random label sets;
// each case must produce a PNG, pass the script checks, and run no command.
void draw_all(const std::string& kind, int labels_per_figure,
              const std::function<void(const std::vector<std::string>&, const std::string&)>& draw) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot not installed";
  TmpDir d;
  std::string marker = d / "injected";
  auto nasty = nasty_strings(marker);
  std::vector<std::vector<std::string>> cases;
  // Every nasty string appears in every label slot once (rotations).
  for (std::size_t start = 0; start < nasty.size(); start += 1) {
    if ((int)cases.size() * labels_per_figure >= (int)nasty.size() * 2) break;
    std::vector<std::string> l;
    for (int k = 0; k < labels_per_figure; ++k) l.push_back(nasty[(start + k * 7) % nasty.size()]);
    cases.push_back(l);
  }
  std::mt19937 rng(12345u + (unsigned)std::hash<std::string>{}(kind) % 1000);
  for (int c = 0; c < kRandomCases; ++c) {
    std::vector<std::string> l;
    for (int k = 0; k < labels_per_figure; ++k) l.push_back(random_label(rng));
    cases.push_back(l);
  }
  for (std::size_t c = 0; c < cases.size(); ++c) {
    std::string png = d / (kind + "_" + std::to_string(c) + ".png");
    try {
      draw(cases[c], png);
    } catch (const std::exception& e) {
      ADD_FAILURE() << kind << " case " << c << ": " << e.what();
      continue;
    }
    auto [w, h] = png_size(read_file(png));
    EXPECT_GT(w, 0) << kind << " case " << c;
    EXPECT_GT(h, 0) << kind << " case " << c;
    fs::remove(png);
  }
  EXPECT_FALSE(fs::exists(marker)) << "a backquote in a label ran a shell command";
}

// Small canvases: the test is about text, and cairo is faster on fewer pixels.
RenderOptions small() {
  RenderOptions o;
  o.width = 360;
  o.height = 280;
  return o;
}

LinePlot line_with(const std::vector<std::string>& l) {
  LinePlot p;
  p.title = l[0];
  p.xlabel = l[1];
  p.ylabel = l[2];
  p.y2label = l[3];
  p.series.push_back(Series::line(l[4], {1, 2, 3}, {1, 4, 9}));
  p.series.push_back(Series::fitted(l[5], {1, 2, 3}, {2, 3, 4}));
  Series s2 = Series::points(l[6], {1, 2, 3}, {3, 2, 1});
  s2.y2 = true;
  p.series.push_back(s2);
  p.series.push_back(Series::line(l[7], {}, {}));  // no data: legend entry only
  p.vlines = {{2, l[8]}};
  p.hlines = {{4, l[9]}};
  p.log_y = true;  // explicit log tics
  return p;
}

}  // namespace

// ------------------------------------------------------------------ scripts (no gnuplot)

TEST(FigureSafety, TextQuotingRoundTrips) {
  for (const auto& s : nasty_strings("/tmp/m")) {
    std::string err;
    std::string dec = gnuplot_lint::decode_string_expr(gnuplot_text(s), &err);
    EXPECT_EQ(err, "") << gnuplot_text(s);
    EXPECT_TRUE(gnuplot_lint::valid_utf8(dec));
    for (unsigned char c : dec) EXPECT_FALSE(c != '\n' && gnuplot_lint::is_control(c));
    bool clean = gnuplot_lint::valid_utf8(s);
    for (unsigned char c : s) clean &= !(gnuplot_lint::is_control(c) && c != '\n');
    if (clean) EXPECT_EQ(dec, s);

    std::string tic = gnuplot_tic_label(s);
    dec = gnuplot_lint::decode_string_expr(tic, &err);
    EXPECT_EQ(err, "") << tic;
    EXPECT_TRUE(gnuplot_lint::percent_doubled(dec)) << tic;
    EXPECT_EQ(dec.find('\n'), std::string::npos);
    EXPECT_LE(dec.size(), 2u * 4 * 65) << "tic label not cut";
  }
  EXPECT_EQ(gnuplot_text("50%"), "'50%'");
  EXPECT_EQ(gnuplot_tic_label("50%"), "'50%%'");
  EXPECT_EQ(gnuplot_text("it's"), "'it'.\"'\".'s'");
  EXPECT_EQ(gnuplot_text("a\tb"), "'a b'");
  EXPECT_EQ(gnuplot_text("a\nb", false), "'a b'");
  EXPECT_EQ(gnuplot_text("a\nb"), "'a'.\"\\n\".'b'");
}

TEST(FigureSafety, ScriptsPassTheChecks) {
  std::mt19937 rng(7);
  for (int c = 0; c < 200; ++c) {
    std::vector<std::string> l;
    for (int k = 0; k < 10; ++k) l.push_back(random_label(rng));
    auto nasty = nasty_strings("/tmp/m");
    l[c % 10] = nasty[c % nasty.size()];
    std::string e = gnuplot_lint::check_script(gnuplot_script(line_with(l)));
    EXPECT_EQ(e, "") << "case " << c;
    Heatmap h;
    h.values = {{1, 2}, {3, 4}};
    h.row_labels = {l[0], l[1]};
    h.col_labels = {l[2], l[3]};
    h.title = l[4];
    h.cbar_label = l[5];
    EXPECT_EQ(gnuplot_lint::check_script(gnuplot_script(h)), "") << "case " << c;
  }
  // The "% " case of the bug report ends up doubled on the tic line.
  Heatmap h;
  h.values = {{1}};
  h.row_labels = {"Sales grew 50% in 2020"};
  h.col_labels = {"%d"};
  std::string s = gnuplot_script(h);
  EXPECT_NE(s.find("'Sales grew 50%% in 2020' 0"), std::string::npos) << s;
  EXPECT_NE(s.find("'%%d' 0"), std::string::npos) << s;
  // A title ending in a backslash must not continue the leading comment.
  h.title = "a\\";
  EXPECT_EQ(gnuplot_lint::check_script(gnuplot_script(h)), "");
}

TEST(FigureSafety, ValueFormatCannotInjectIntoADatablock) {
  Heatmap h;
  h.values = {{1, 2}};
  h.value_format = "%.1f\nEOD\nprint 1\n";
  EXPECT_THROW(gnuplot_script(h), InputError);
  h.value_format = "%.1f\"";
  EXPECT_THROW(gnuplot_script(h), InputError);
  h.value_format = "%.1f×";
  EXPECT_EQ(gnuplot_lint::check_script(gnuplot_script(h)), "");
}

TEST(FigureSafety, ErrorMessagesAreOneLine) {
  LinePlot p;
  p.title = std::string("two\nlines ") + std::string(500, 'x');
  p.series.push_back(Series::line("a\nb", {1, 2}, {1}));
  try {
    gnuplot_script(p);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_LT(m.size(), 400u) << m;
  }
}

// ------------------------------------------------------------------ drawing (gnuplot)

TEST(FigureSafety, LinePlotWithHostileLabels) {
  draw_all("line", 10, [](const std::vector<std::string>& l, const std::string& png) {
    render(line_with(l), png, small());
  });
}

TEST(FigureSafety, SmallMultiplesWithHostileLabels) {
  draw_all("multi", 10, [](const std::vector<std::string>& l, const std::string& png) {
    SmallMultiples m;
    m.title = l[0];
    LinePlot a = line_with(l), b = line_with(l);
    b.title = l[5];
    b.xlabel = l[6];
    b.log_y = false;
    m.panels = {a, b};
    RenderOptions o;
    o.width = 700;
    o.height = 360;
    render(m, png, o);
  });
}

TEST(FigureSafety, HeatmapWithHostileLabels) {
  draw_all("heat", 8, [](const std::vector<std::string>& l, const std::string& png) {
    Heatmap h;
    h.title = l[0];
    h.xlabel = l[1];
    h.ylabel = l[2];
    h.cbar_label = l[3];
    h.values = {{1, 2, NAN}, {3, 4, 5}};
    h.row_labels = {l[4], l[5]};
    h.col_labels = {l[6], l[7], l[0]};
    render(h, png, small());
  });
}

TEST(FigureSafety, AttentionPatternWithHostileTokens) {
  draw_all("attn", 6, [](const std::vector<std::string>& l, const std::string& png) {
    AttentionPattern a;
    a.title = l[0];
    a.weights = {{1}, {0.5, 0.5}, {0.2, 0.3, 0.5}, {0.1, 0.2, 0.3, 0.4}};
    a.tokens = {l[1], l[2], l[3], l[4]};
    a.marked_queries = {2};
    a.mark_label = l[5];
    render(a, png, small());
  });
}

TEST(FigureSafety, BarPlotWithHostileCategories) {
  draw_all("bar", 8, [](const std::vector<std::string>& l, const std::string& png) {
    BarPlot b;
    b.title = l[0];
    b.xlabel = l[1];
    b.ylabel = l[2];
    b.categories = {l[3], l[4], l[5]};
    b.series = {{l[6], {1, 2, 3}, {0.1, 0.2, 0.3}, -1}};
    b.highlight = {0};
    b.highlight_label = l[7];
    b.hlines = {{1.5, l[0]}};
    render(b, png, small());
  });
}

TEST(FigureSafety, VectorFieldWithHostileLabels) {
  draw_all("vec", 6, [](const std::vector<std::string>& l, const std::string& png) {
    VectorField v;
    v.title = l[0];
    v.xlabel = l[1];
    v.ylabel = l[2];
    v.speed_label = l[3];
    v.x = {0, 1, 0, 1};
    v.y = {0, 0, 1, 1};
    v.dx = {1, 1, -1, 0.5};
    v.dy = {0.5, -1, 1, 1};
    v.trajectories.push_back(Series::line(l[4], {0, 0.5, 1}, {0, 0.5, 0.8}));
    v.trajectories.push_back(Series::fitted(l[5], {1, 0.5}, {0, 0.5}));
    render(v, png, small());
  });
}

// ------------------------------------------------------------------ try_render + HTML note

TEST(FigureSafety, TryRenderReturnsTheErrorInsteadOfThrowing) {
  TmpDir d;
  Heatmap bad;  // no rows
  bad.title = "empty\nmatrix";
  FigureResult r = try_render(bad, d / "bad.png");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.png, d / "bad.png");
  EXPECT_NE(r.error.find("no rows"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  EXPECT_FALSE(fs::exists(d / "bad.png"));

  if (gnuplot_available()) {
    Heatmap good;
    good.values = {{1, 2}, {3, 4}};
    good.row_labels = {"50%", "%d"};
    FigureResult g = try_render(good, d / "good.png", small());
    EXPECT_TRUE(g.ok()) << g.error;
    EXPECT_GT(png_size(read_file(d / "good.png")).first, 0);
  }
}

TEST(FigureSafety, HtmlShowsANoteForAFigureThatCouldNotBeDrawn) {
  TmpDir d;
  HtmlReport r("report");
  FigureResult failed;
  failed.png = d / "attn.png";
  failed.error = "attention pattern 'x': gnuplot failed: <Bad format> & \"more\"";
  r.section("Patterns").figure(failed, "Layer 0 <head 1>");
  FigureResult missing;  // "ok" but the file is not there: a note too, never a throw
  missing.png = d / "gone.png";
  EXPECT_NO_THROW(r.figure(missing, ""));
  EXPECT_NO_THROW(r.figure_row(std::vector<FigureResult>{failed, missing}, {"left", "right"}));
  EXPECT_THROW(r.figure_row(std::vector<FigureResult>{failed}, {"a", "b"}), InputError);
  HtmlReport plain("paths");  // string literals pick the path overload (not ambiguous)
  EXPECT_THROW(plain.figure_row({"missing1.png", "missing2.png"}), InputError);

  std::string html = r.str();
  EXPECT_NE(html.find("figure could not be drawn: attention pattern &#39;x&#39;: gnuplot failed: &lt;Bad format&gt; "
                      "&amp; &quot;more&quot;"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<figcaption>Layer 0 &lt;head 1&gt;</figcaption>"), std::string::npos);
  EXPECT_EQ(html.find("<Bad format>"), std::string::npos) << "error not escaped";
  EXPECT_NE(html.find("class=\"figure-note\""), std::string::npos);

  const auto& w = r.warnings();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0], "figure 'Layer 0 <head 1>' could not be drawn: " + failed.error);
  EXPECT_NE(w[1].find("figure 'gone.png' could not be drawn: "), std::string::npos) << w[1];
  for (const auto& x : w) EXPECT_EQ(x.find('\n'), std::string::npos);

  // A drawn figure is embedded as before and adds no warning.
  if (gnuplot_available()) {
    Heatmap h;
    h.values = {{1}};
    HtmlReport ok("ok");
    ok.figure(try_render(h, d / "h.png", small()), "fine");
    EXPECT_TRUE(ok.warnings().empty());
    EXPECT_NE(ok.str().find("data:image/png;base64,"), std::string::npos);
  }
}
