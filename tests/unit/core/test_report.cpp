// Tests of the report layer: figures (gnuplot), HTML report, claims, CSV.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"
#include "report/core/claims.h"
#include "io/csv.h"
#include "report/core/figures.h"
#include "report/core/html.h"
#include "tmp_dir.h"

namespace fs = std::filesystem;
using namespace sinklab;
using namespace sinklab::report;

namespace {

struct TmpDir : sinklab::testing::TmpDir {
  TmpDir() : sinklab::testing::TmpDir("sinklab_report_") {}
};

// Scoped SINKLAB_GNUPLOT override.
struct GnuplotEnv {
  std::string old;
  bool had;
  explicit GnuplotEnv(const char* value) {
    const char* o = std::getenv("SINKLAB_GNUPLOT");
    had = o != nullptr;
    if (had) old = o;
    ::setenv("SINKLAB_GNUPLOT", value, 1);
  }
  ~GnuplotEnv() {
    if (had) ::setenv("SINKLAB_GNUPLOT", old.c_str(), 1);
    else ::unsetenv("SINKLAB_GNUPLOT");
  }
};

#define REQUIRE_GNUPLOT()                                              \
  do {                                                                 \
    if (!gnuplot_available()) GTEST_SKIP() << "gnuplot not installed"; \
  } while (0)

// A valid PNG of exactly w x h pixels with some content.
void expect_png(const std::string& path, int w, int h) {
  ASSERT_TRUE(fs::exists(path)) << path;
  std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0) << "not a PNG signature: " << path;
  EXPECT_GT(bytes.size(), 3000u) << "suspiciously small PNG: " << path;
  auto [pw, ph] = png_size(bytes);
  EXPECT_EQ(pw, w) << path;
  EXPECT_EQ(ph, h) << path;
  EXPECT_EQ(bytes.compare(bytes.size() - 8, 4, "IEND"), 0) << "PNG without IEND (truncated?): " << path;
}

// No temp files left beside the outputs.
void expect_no_temp_files(const fs::path& dir) {
  for (auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

std::vector<double> range_vec(int n, double a, double step) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = a + step * i;
  return v;
}

LinePlot sample_lineplot() {
  LinePlot p;
  p.title = "loss";
  p.xlabel = "step";
  p.ylabel = "nats";
  std::vector<double> x, y, lo, hi, fy;
  for (int i = 1; i <= 50; ++i) {
    x.push_back(i * 20.0);
    y.push_back(4.0 / std::sqrt(i));
    lo.push_back(y.back() * 0.9);
    hi.push_back(y.back() * 1.1);
    fy.push_back(4.1 / std::sqrt(i));
  }
  p.series.push_back(Series::line("measured", x, y).band(lo, hi));
  p.series.push_back(Series::fitted("fit", x, fy, 0));
  p.series.push_back(Series::points("points", x, y));
  p.vlines = {{100, "sink forms"}};
  p.hlines = {{0.5, "oracle"}};
  return p;
}

}  // namespace

// ------------------------------------------------------------------ figures

TEST(Figures, LinePlotRendersPngOfRequestedSize) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  auto p = sample_lineplot();
  auto r = render(p, d / "line.png");
  EXPECT_EQ(r.png, d / "line.png");
  EXPECT_TRUE(r.svg.empty());
  expect_png(d / "line.png", 800, 520);

  p.log_x = p.log_y = true;
  RenderOptions o;
  o.width = 640;
  o.height = 400;
  o.svg = true;
  r = render(p, d / "sub/dir/log.png", o);  // parent directories are created
  expect_png(d / "sub/dir/log.png", 640, 400);
  ASSERT_EQ(r.svg, d / "sub/dir/log.svg");
  std::string svg = read_file(r.svg);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  expect_no_temp_files(d.path);
  expect_no_temp_files(d.path / "sub/dir");
}

TEST(Figures, LinePlotWithSecondAxis) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  auto p = sample_lineplot();
  p.log_x = true;
  auto right = Series::line("value norm", {1, 10, 100, 1000}, {3, 1, 0.1, 0.01});
  right.y2 = true;
  p.series.push_back(right);
  p.y2label = "|v| (log)";
  p.log_y2 = true;
  p.legend = Legend::Below;
  RenderOptions o;
  o.keep_script = true;
  render(p, d / "y2.png", o);
  expect_png(d / "y2.png", 800, 520);
  // keep_script leaves the self-contained gnuplot script beside the figure.
  std::string gp = read_file(d / "y2.png.gp");
  EXPECT_NE(gp.find("axes x1y2"), std::string::npos);
  EXPECT_NE(gp.find("set logscale y2"), std::string::npos);
  EXPECT_NE(gp.find("$d0 << EOD"), std::string::npos);
}

TEST(Figures, LinePlotWithNoFiniteDataStillRenders) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  LinePlot p;
  p.title = "empty";
  p.series.push_back(Series::line("nothing", {1, 2}, {NAN, NAN}));
  p.log_y = true;
  render(p, d / "empty.png");
  expect_png(d / "empty.png", 800, 520);
}

TEST(Figures, SmallMultiplesRender) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  SmallMultiples sm;
  sm.title = "compare the mitigations";
  for (const char* name : {"softmax-Adam", "ReLU-attn", "SGD", "softmax 3L", "extra"}) {
    LinePlot p = sample_lineplot();
    p.title = name;
    p.log_x = true;
    sm.panels.push_back(p);
  }
  sm.same_y_range = true;
  render(sm, d / "sm.png");
  // 5 panels -> 3 columns, 2 rows by default.
  auto [w, h] = png_size(read_file(d / "sm.png"));
  EXPECT_EQ(w, 16 + 400 * 3);
  EXPECT_GT(h, 2 * 300);
  expect_png(d / "sm.png", w, h);
  sm.columns = 1;
  sm.shared_legend = false;
  RenderOptions o;
  o.width = 500;
  o.height = 1500;
  render(sm, d / "sm1.png", o);
  expect_png(d / "sm1.png", 500, 1500);
  SmallMultiples none;
  EXPECT_THROW(render(none, d / "none.png"), InputError);
}

TEST(Figures, HeatmapRendersSequentialAndDiverging) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  Heatmap h;
  h.title = "sink mass";
  h.xlabel = "head";
  h.ylabel = "layer";
  h.cbar_label = "BOS mass";
  for (int l = 0; l < 12; ++l) h.values.push_back(range_vec(9, l * 0.05, 0.01));
  h.values[3][4] = NAN;
  RenderOptions o;
  o.width = 600;
  o.height = 500;
  render(h, d / "seq.png", o);
  expect_png(d / "seq.png", 600, 500);

  Heatmap diff;
  diff.diverging = true;
  diff.values = {{-0.5, 0.1, 0.0}, {0.2, 0.7, -0.1}};
  diff.row_labels = {"L0", "L1"};
  diff.col_labels = {"H0", "H1", "H2"};
  diff.annotate = 1;
  diff.value_format = "%+.1f";
  render(diff, d / "div.png", o);
  expect_png(d / "div.png", 600, 500);
}

TEST(Figures, HeatmapRejectsBadInput) {
  TmpDir d;
  Heatmap h;
  EXPECT_THROW(render(h, d / "x.png"), InputError);  // no rows
  h.values = {{1, 2}, {3}};
  EXPECT_THROW(render(h, d / "x.png"), InputError);  // ragged
  h.values = {{1, 2}, {3, 4}};
  h.row_labels = {"only one"};
  EXPECT_THROW(render(h, d / "x.png"), InputError);
  h.row_labels.clear();
  h.annotate = 1;
  h.value_format = "%s";  // would read a char* from a double
  EXPECT_THROW(render(h, d / "x.png"), InputError);
  h.value_format = "%.2f %.2f";
  EXPECT_THROW(render(h, d / "x.png"), InputError);
  EXPECT_FALSE(fs::exists(d / "x.png"));
}

TEST(Figures, AttentionPatternLabelledAndLarge) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  // Tokens with every character that could upset a gnuplot script.
  std::vector<std::string> toks = {"<s>", " ", "\n", "'", "\"", "\\", "`", "@x", "$d0", "{}", "^_", "é", "日本",
                                   "EOD", "\t", "\x01", "\xff", "e"};
  int T = (int)toks.size();
  AttentionPattern a;
  a.title = "pattern with 'quotes' and \"dq\"";
  a.tokens = toks;
  for (int q = 0; q < T; ++q) {
    std::vector<double> w(q + 1, 0.0);
    w[0] = q % 3 == 0 ? 0.2 : 0.9;
    if (q > 0) w[q - 1] += 1 - w[0];
    else w[0] = 1;
    a.weights.push_back(w);
  }
  a.marked_queries = {3, 6, T - 1};
  render(a, d / "attn.png");
  auto [w, h] = png_size(read_file(d / "attn.png"));
  expect_png(d / "attn.png", w, h);
  EXPECT_GT(w, 400);

  // Large T: no token labels, still renders.
  AttentionPattern big;
  int n = 200;
  for (int q = 0; q < n; ++q) big.weights.push_back(std::vector<double>(q + 1, 1.0 / (q + 1)));
  RenderOptions o;
  o.width = 500;
  o.height = 450;
  render(big, d / "big.png", o);
  expect_png(d / "big.png", 500, 450);

  AttentionPattern bad;
  bad.weights = {{1.0}, {0.5}};  // row 1 needs 2 weights
  EXPECT_THROW(render(bad, d / "bad.png"), InputError);
  bad.weights = {{1.0}, {0.5, 0.5}};
  bad.marked_queries = {2};
  EXPECT_THROW(render(bad, d / "bad.png"), InputError);
}

TEST(Figures, BarPlotsHighlightAndGrouped) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  BarPlot b;
  b.title = "value norms";
  b.series = {{"others", range_vec(30, 2.0, 0.01), {}, -1}};
  b.series[0].values[0] = 0.1;
  b.highlight = {0};
  render(b, d / "bars.png");
  auto [w, h] = png_size(read_file(d / "bars.png"));
  expect_png(d / "bars.png", w, h);

  BarPlot g;
  g.categories = {"embed", "L0", "L1"};
  g.series = {{"BOS", {3, 90, 200}, {0.1, 5, 10}, -1}, {"others", {3, 10, 20}, {0.2, 1, 2}, -1}};
  g.log_y = true;
  g.hlines = {{50, "threshold"}};
  RenderOptions o;
  o.width = 700;
  o.height = 420;
  render(g, d / "grouped.png", o);
  expect_png(d / "grouped.png", 700, 420);

  g.series[1].values.pop_back();
  EXPECT_THROW(render(g, d / "bad.png"), InputError);
  BarPlot two = b;
  two.series.push_back(b.series[0]);
  EXPECT_THROW(render(two, d / "bad.png"), InputError);  // highlight needs one series
}

TEST(Figures, VectorFieldWithTrajectories) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  VectorField f;
  f.title = "phase portrait";
  f.xlabel = "alpha";
  f.ylabel = "|beta|";
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 8; ++j) {
      f.x.push_back(i), f.y.push_back(j * 0.25);
      f.dx.push_back(1.0 / (1 + i)), f.dy.push_back(-0.1 * j);
    }
  f.dx[5] = f.dy[5] = 0;  // a fixed point: no arrow, no crash
  f.trajectories.push_back(Series::line("from (0, 1.5)", {0, 1, 2, 4, 8}, {1.5, 1.0, 0.5, 0.2, 0.05}));
  f.normalize = false;
  render(f, d / "vf.png");
  expect_png(d / "vf.png", 780, 600);
  f.normalize = true;
  render(f, d / "vf2.png");
  expect_png(d / "vf2.png", 780, 600);

  VectorField bad;
  bad.x = {1, 2};
  bad.y = {1};
  bad.dx = {1, 2};
  bad.dy = {1, 2};
  EXPECT_THROW(render(bad, d / "bad.png"), InputError);
}

TEST(Figures, SpecialCharactersInTextDoNotBreakGnuplot) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  std::string marker = (d.path / "injected").string();
  LinePlot p;
  // Quotes, backslashes, gnuplot markup, macros, a backquote command, newlines,
  // UTF-8, an invalid byte and a control byte.
  p.title = "it's a \"test\" \\ `touch " + marker + "` @macro $d0 {x}^2_y & ~\nsecond line é 日本 \xff \x02";
  p.xlabel = "x ' \" \\";
  p.ylabel = "‖v‖ / ‖v_other‖";
  p.series.push_back(Series::line("a 'b' \"c\" `d` \\e\\", {1, 2, 3}, {1, 4, 9}));
  p.vlines = {{2, "v ' \" \\ `x`"}};
  p.hlines = {{4, "EOD"}};
  render(p, d / "special.png");
  expect_png(d / "special.png", 800, 520);
  EXPECT_FALSE(fs::exists(marker)) << "a backquote in a title ran a shell command";

  Heatmap h;
  h.values = {{1, 2}, {3, 4}};
  h.row_labels = {"'", "\""};
  h.col_labels = {"`x`", "\\"};
  h.title = "'\"";
  h.cbar_label = "\n";
  render(h, d / "special_heat.png");
  expect_png(d / "special_heat.png", png_size(read_file(d / "special_heat.png")).first,
             png_size(read_file(d / "special_heat.png")).second);
}

TEST(Figures, DisplayToken) {
  EXPECT_EQ(display_token(" "), "␣");
  EXPECT_EQ(display_token("\n"), "↵");
  EXPECT_EQ(display_token("\t"), "⇥");
  EXPECT_EQ(display_token("\x01"), "\\x01");
  EXPECT_EQ(display_token("\xff"), "\\xFF");
  EXPECT_EQ(display_token("é"), "é");
  EXPECT_EQ(display_token(""), "∅");
  EXPECT_EQ(display_token("abcdefghijklmnop", 4), "abcd…");
  EXPECT_EQ(display_token("日本語", 2), "日本…");
}

TEST(Figures, MissingGnuplotIsAClearError) {
  TmpDir d;
  {
    GnuplotEnv env("/nonexistent/bin/gnuplot");
    EXPECT_EQ(gnuplot_program(), "/nonexistent/bin/gnuplot");
    EXPECT_FALSE(gnuplot_available());
    try {
      render(sample_lineplot(), d / "x.png");
      FAIL() << "expected PlotError";
    } catch (const PlotError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("/nonexistent/bin/gnuplot"), std::string::npos) << m;
      EXPECT_NE(m.find("SINKLAB_GNUPLOT"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << "error message must be one line: " << m;
    }
    EXPECT_FALSE(fs::exists(d / "x.png"));
    expect_no_temp_files(d.path);
  }
  {
    // A program that runs but fails: the exit status is reported.
    GnuplotEnv env("false");
    try {
      render(sample_lineplot(), d / "x.png");
      FAIL() << "expected PlotError";
    } catch (const InputError& e) {  // PlotError is an InputError: the CLI prints one line, exit 2
      EXPECT_NE(std::string(e.what()).find("exit status 1"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(d / "x.png"));
    expect_no_temp_files(d.path);
  }
  {
    // A program that exits 0 but writes nothing.
    GnuplotEnv env("true");
    EXPECT_THROW(render(sample_lineplot(), d / "x.png"), PlotError);
    EXPECT_FALSE(fs::exists(d / "x.png"));
  }
}

TEST(Figures, ExistingOutputIsReplacedAtomically) {
  REQUIRE_GNUPLOT();
  TmpDir d;
  write_file_atomic(d / "fig.png", std::string("old"));
  {
    GnuplotEnv env("false");
    EXPECT_THROW(render(sample_lineplot(), d / "fig.png"), PlotError);
  }
  EXPECT_EQ(read_file(d / "fig.png"), "old");  // a failed render leaves the old file
  render(sample_lineplot(), d / "fig.png");
  expect_png(d / "fig.png", 800, 520);
  expect_no_temp_files(d.path);
}

TEST(Figures, BadSeriesAndOptions) {
  TmpDir d;
  LinePlot p;
  p.series.push_back(Series::line("a", {1, 2, 3}, {1, 2}));
  EXPECT_THROW(render(p, d / "x.png"), InputError);
  p.series[0] = Series::line("a", {1, 2}, {1, 2}).band({1}, {2});
  EXPECT_THROW(render(p, d / "x.png"), InputError);
  p.series[0] = Series::line("a", {1, 2}, {1, 2});
  RenderOptions o;
  o.width = 10;
  EXPECT_THROW(render(p, d / "x.png", o), InputError);
}

TEST(Figures, PngSizeParsesIhdr) {
  EXPECT_EQ(png_size("not a png"), std::make_pair(0, 0));
  std::string hdr = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\0\0\x0dIHDR", 8) +
                    std::string("\0\0\x03\x20\0\0\x02\x08", 8);
  EXPECT_EQ(png_size(hdr), std::make_pair(800, 520));
}

// ------------------------------------------------------------------ HTML

TEST(Html, Base64KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
}

TEST(Html, EscapesText) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  HtmlReport r("T <script>");
  r.paragraph("<script>alert(1)</script>").pre("a < b && c");
  std::string s = r.str();
  EXPECT_EQ(s.find("<script>"), std::string::npos);
  EXPECT_NE(s.find("a &lt; b &amp;&amp; c"), std::string::npos);
}

TEST(Html, ReportEmbedsFiguresAndShowsFailingClaims) {
  TmpDir d;
  // A figure file: a real render when gnuplot is there, else a tiny hand-made PNG.
  std::string png_path = d / "fig.png";
  if (gnuplot_available()) {
    render(sample_lineplot(), png_path);
  } else {
    write_file_atomic(png_path, std::string("\x89PNG\r\n\x1a\nfake", 12));
  }
  write_file_atomic(d / "fig.svg", std::string("<?xml version=\"1.0\"?>\n<svg width=\"10\"><rect/></svg>\n"));
  std::vector<Claim> claims = {
      {"C1", "dormant at non-trigger", "BOS mass", 0.95, ">= 0.9", Verdict::PASS, ""},
      {"C6", "ReLU removes the sink", "BOS share", 0.71, "<= 0.5", Verdict::FAIL, "untrained model"},
      {"C7", "SGD", "rel. change", std::numeric_limits<double>::quiet_NaN(), "<= 5%", Verdict::NOT_RUN, "skipped"}};
  HtmlReport r("Report", "subtitle");
  r.section("Claims").claims(claims);
  r.section("Figures").figure(png_path, "a caption <b>").figure(d / "fig.svg", "svg", 50);
  r.figure_row({png_path, png_path}, {"left", "right"});
  r.table({"run", "verdict", "loss"}, {{"a", "PASS", "1.5"}, {"b", "fail", "2"}, {"c"}}, "runs");
  r.write(d / "report.html");
  std::string html = read_file(d / "report.html");

  std::string b64 = base64_encode(read_file(png_path));
  EXPECT_NE(html.find("data:image/png;base64," + b64), std::string::npos);
  EXPECT_NE(html.find("<svg width=\"10\"><rect/></svg>"), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(html.find("a caption &lt;b&gt;"), std::string::npos);
  // The failing claim is rendered as failing.
  auto c6 = html.find("<td>C6</td>");
  ASSERT_NE(c6, std::string::npos);
  auto row_start = html.rfind("<tr", c6);
  auto row_end = html.find("</tr>", c6);
  std::string row = html.substr(row_start, row_end - row_start);
  EXPECT_NE(row.find("class=\"fail\""), std::string::npos) << row;
  EXPECT_NE(row.find("<td class=\"verdict fail\">FAIL</td>"), std::string::npos) << row;
  EXPECT_NE(row.find("0.71"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"verdict pass\">PASS</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"verdict notrun\">NOT_RUN</td>"), std::string::npos);
  EXPECT_NE(html.find("1 pass</span>, <span class=\"fail\">1 fail"), std::string::npos);
  // Plain-table verdict cells are classed too (any case).
  EXPECT_NE(html.find("<td class=\"verdict fail\">fail</td>"), std::string::npos);
  // Table of contents with both sections, self-contained document.
  EXPECT_NE(html.find("href=\"#s1\""), std::string::npos);
  EXPECT_NE(html.find("href=\"#s2\""), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  expect_no_temp_files(d.path);

  // Bad figures and tables are InputErrors.
  write_file_atomic(d / "fig.txt", std::string("x"));
  EXPECT_THROW(r.figure(d / "fig.txt"), InputError);
  EXPECT_THROW(r.figure(d / "missing.png"), InputError);
  write_file_atomic(d / "notpng.png", std::string("GIF89a"));
  EXPECT_THROW(r.figure(d / "notpng.png"), InputError);
  EXPECT_THROW(r.table({"a"}, {{"1", "2"}}), InputError);
}

// ------------------------------------------------------------------ claims

TEST(Claims, JsonRoundTripAndNaN) {
  std::vector<Claim> claims = {{"C1", "c", "m", 0.25, "<= 0.3", Verdict::PASS, "n"},
                               {"C2", "c2", "m2", NAN, ">= 1", Verdict::NOT_RUN, ""},
                               {"C3", "c3", "m3", -1.5, "x", Verdict::FAIL, ""}};
  auto j = claims_to_json(claims);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["verdict"], "PASS");
  EXPECT_TRUE(j[1]["measured"].is_null());
  EXPECT_EQ(j[2]["verdict"], "FAIL");
  EXPECT_DOUBLE_EQ(j[2]["measured"].get<double>(), -1.5);
  auto back = claims_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].id, "C1");
  EXPECT_EQ(back[0].verdict, Verdict::PASS);
  EXPECT_TRUE(std::isnan(back[1].measured));
  EXPECT_EQ(back[2].verdict, Verdict::FAIL);
  auto s = summarize(back);
  EXPECT_EQ(s.pass, 1);
  EXPECT_EQ(s.fail, 1);
  EXPECT_EQ(s.not_run, 1);
  EXPECT_EQ(verdict_from_name("not run"), Verdict::NOT_RUN);
  EXPECT_THROW(verdict_from_name("maybe"), InputError);
  EXPECT_THROW(claims_from_json(nlohmann::json::parse(R"([{"id":"C1","verdict":"PASS","measured":"x"}])")),
               InputError);
  EXPECT_THROW(claims_from_json(nlohmann::json::parse(R"({"id":"C1"})")), InputError);

  TmpDir d;
  write_claims_json(d / "claims.json", claims);
  auto j2 = nlohmann::json::parse(read_file(d / "claims.json"));
  EXPECT_EQ(j2, j);
}

// ------------------------------------------------------------------ CSV

TEST(Csv, RoundTripNumbersAndStrings) {
  TmpDir d;
  CsvWriter w({"step", "name", "value"});
  std::vector<double> vals = {0.1, 1e-300, -2.5e17, 1.0 / 3.0, 0.0, NAN, INFINITY, -INFINITY};
  std::vector<std::string> names = {"plain", "with,comma", "with \"quote\"", "multi\nline", " padded ", "é 日本",
                                    "", "x"};
  for (std::size_t i = 0; i < vals.size(); ++i) w.add_row({(int)i, names[i], vals[i]});
  EXPECT_EQ(w.num_rows(), vals.size());
  w.write(d / "t.csv");
  auto c = read_csv(d / "t.csv");
  ASSERT_EQ(c.header, (std::vector<std::string>{"step", "name", "value"}));
  ASSERT_EQ(c.num_rows(), vals.size());
  EXPECT_EQ(c.strings("name"), names);
  auto v = c.numbers("value");
  for (std::size_t i = 0; i < vals.size(); ++i) {
    if (std::isnan(vals[i])) EXPECT_TRUE(std::isnan(v[i]));
    else EXPECT_EQ(v[i], vals[i]) << i;  // exact round trip
  }
  auto steps = c.numbers("step");
  EXPECT_EQ(steps[7], 7.0);
  EXPECT_EQ(c.row_lines[3], 5u);
  EXPECT_EQ(c.row_lines[4], 7u);  // row 3 holds a two-line field
  EXPECT_THROW(c.numbers("name"), InputError);
  EXPECT_THROW(c.index("nope"), InputError);
  EXPECT_THROW(w.add_row({1.0, 2.0}), InputError);

  // One column with an empty cell, and a cell that starts like a byte-order mark.
  CsvWriter one({"only"});
  one.add_row({""}).add_row({"\xEF\xBB\xBFx"}).add_row({""});
  auto o = parse_csv(one.str(), "one");
  EXPECT_EQ(o.strings("only"), (std::vector<std::string>{"", "\xEF\xBB\xBFx", ""}));

  write_csv_columns(d / "cols.csv", {"x", "y"}, {{1, 2, 3}, {4, 5, 6}});
  auto cc = read_csv(d / "cols.csv");
  EXPECT_EQ(cc.numbers("y"), (std::vector<double>{4, 5, 6}));
  EXPECT_THROW(write_csv_columns(d / "bad.csv", {"x", "y"}, {{1, 2}, {1}}), InputError);
  expect_no_temp_files(d.path);
}

TEST(Csv, AcceptsCrlfBomBlankLinesAndNoFinalNewline) {
  auto c = parse_csv("\xEF\xBB\xBF" "a,b\r\n1,2\r\n\r\n3,\"4\"", "mem");
  ASSERT_EQ(c.header, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.numbers("a"), (std::vector<double>{1, 3}));
  EXPECT_EQ(c.numbers("b"), (std::vector<double>{2, 4}));
  auto e = parse_csv("a,b\n1,\n", "mem");
  EXPECT_TRUE(std::isnan(e.numbers("b")[0]));  // an empty cell reads as NaN
  EXPECT_EQ(parse_csv("a\n", "mem").num_rows(), 0u);
}

TEST(Csv, MalformedInputIsInputErrorWithLine) {
  auto expect_error = [](const std::string& text, const std::string& part) {
    try {
      parse_csv(text, "f.csv");
      ADD_FAILURE() << "no error for: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error("a,b\n1,2\n3\n", "f.csv:3: expected 2 fields, got 1");
  expect_error("a,b\n1,2,3\n", "f.csv:2: expected 2 fields, got 3");
  expect_error("a,b\n1,\"2\n", "f.csv:2: unterminated quoted field");
  expect_error("a,b\n1,2\"x\n", "f.csv:2: stray quote");
  expect_error("a,b\n1,\"2\"x\n", "f.csv:2: unexpected text after a closing quote");
  expect_error("", "f.csv: empty CSV");
  expect_error("a,a\n", "duplicate column 'a'");
  expect_error("a,,b\n", "empty column name");
  auto c = parse_csv("x,y\n1,2\n3,abc\n", "f.csv");
  try {
    c.numbers("y");
    ADD_FAILURE() << "no error for a non-numeric cell";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("f.csv:3"), std::string::npos) << m;
    EXPECT_NE(m.find("'y'"), std::string::npos) << m;
    EXPECT_NE(m.find("abc"), std::string::npos) << m;
  }
  EXPECT_THROW(parse_csv("x\n0x1p3\n", "f").numbers("x"), InputError);
  EXPECT_THROW(parse_csv("x\n1e999\n", "f").numbers("x"), InputError);
  EXPECT_THROW(read_csv("/nonexistent/file.csv"), InputError);
}

// ------------------------------------------------------------------ claims over seeds

TEST(Claims, TQuantileMatchesTables) {
  EXPECT_NEAR(t_quantile_975(1), 12.706, 1e-3);
  EXPECT_NEAR(t_quantile_975(2), 4.303, 1e-3);
  EXPECT_NEAR(t_quantile_975(4), 2.776, 1e-3);
  EXPECT_NEAR(t_quantile_975(40), 2.021, 2e-3);
  EXPECT_NEAR(t_quantile_975(120), 1.980, 2e-3);
  EXPECT_THROW(t_quantile_975(0), InputError);
}

TEST(Claims, MeasureVerdictFollowsTheWholeInterval) {
  // Mean 0.95, s = 0.01, n = 3: half-width 4.303 * 0.01 / sqrt(3) = 0.0248.
  Measure m = measure("mass", ">=", 0.9, {0.94, 0.95, 0.96});
  EXPECT_NEAR(m.median, 0.95, 1e-12);
  EXPECT_NEAR(m.mean, 0.95, 1e-12);
  EXPECT_NEAR(m.hi - m.mean, 4.3027 * 0.01 / std::sqrt(3.0), 1e-4);
  EXPECT_EQ(m.verdict, Verdict::PASS);
  // The same values against 0.94: the interval straddles it.
  EXPECT_EQ(measure("mass", ">=", 0.94, {0.94, 0.95, 0.96}).verdict, Verdict::INCONCLUSIVE);
  // Wholly on the failing side.
  EXPECT_EQ(measure("mass", ">=", 0.99, {0.94, 0.95, 0.96}).verdict, Verdict::FAIL);
  EXPECT_EQ(measure("ratio", "<=", 0.3, {0.1, 0.12, 0.11}).verdict, Verdict::PASS);
  EXPECT_EQ(measure("ratio", "<", 0.05, {0.1, 0.12, 0.11}).verdict, Verdict::FAIL);
  // One seed never decides, whatever its value; a missing value is NOT_RUN.
  EXPECT_EQ(measure("mass", ">=", 0.5, {0.99}).verdict, Verdict::INCONCLUSIVE);
  EXPECT_EQ(measure("mass", ">=", 0.5, {0.99, NAN, 0.98}).verdict, Verdict::NOT_RUN);
  // Identical seeds: a zero-width interval decides.
  EXPECT_EQ(measure("x", ">", 0.0, {1.0, 1.0}).verdict, Verdict::PASS);
  EXPECT_THROW(measure("x", "=>", 0.0, {1.0, 2.0}), InputError);
  // A claim: any FAIL fails it, all PASS pass it, otherwise inconclusive.
  auto p = measure("a", ">=", 0.0, {1, 1.1, 1.2}), f = measure("b", "<=", 0.0, {1, 1.1, 1.2}),
       i = measure("c", ">=", 1.1, {1, 1.1, 1.2});
  EXPECT_EQ(combine({p, p}), Verdict::PASS);
  EXPECT_EQ(combine({p, i}), Verdict::INCONCLUSIVE);
  EXPECT_EQ(combine({i, f}), Verdict::FAIL);
  EXPECT_EQ(combine({}), Verdict::NOT_RUN);
}

TEST(Claims, PerSeedValuesRoundTripAndRender) {
  Claim c{"C1", "claim", "metric", 0.95, ">= 0.9", Verdict::PASS, ""};
  c.seeds = {0, 1, 2};
  c.measures = {measure("BOS mass", ">=", 0.9, {0.94, 0.95, 0.96}), measure("prev mass", ">=", 0.8, {0.7, 0.9, 0.95})};
  c.verdict = combine(c.measures);
  EXPECT_EQ(c.verdict, Verdict::INCONCLUSIVE);
  auto j = claims_to_json({c});
  EXPECT_EQ(j[0]["seeds"].size(), 3u);
  EXPECT_EQ(j[0]["measures"][1]["per_seed"][0].get<double>(), 0.7);
  EXPECT_EQ(j[0]["measures"][1]["verdict"], "INCONCLUSIVE");
  EXPECT_EQ(j[0]["verdict"], "INCONCLUSIVE");
  auto back = claims_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_EQ(back[0].measures.size(), 2u);
  EXPECT_EQ(back[0].seeds, c.seeds);
  EXPECT_NEAR(back[0].measures[0].lo, c.measures[0].lo, 1e-12);
  EXPECT_EQ(back[0].measures[0].verdict, Verdict::PASS);
  EXPECT_EQ(summarize(back).inconclusive, 1);
  EXPECT_THROW(claims_from_json(nlohmann::json::parse(R"([{"id":"C1","verdict":"PASS","measures":[{"name":"x"}]}])")),
               InputError);
  HtmlReport r("t");
  r.claims({c});
  std::string html = r.str();
  EXPECT_NE(html.find("<td class=\"verdict inconclusive\">INCONCLUSIVE</td>"), std::string::npos);
  EXPECT_NE(html.find("s0 0.7, s1 0.9, s2 0.95"), std::string::npos) << html;
  EXPECT_NE(html.find("1 inconclusive"), std::string::npos);
}
