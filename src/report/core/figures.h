// Figures for sinklab reports, drawn by gnuplot (pngcairo / svg terminals).
//
// Plain C++ value types describe a figure; render() writes one temporary,
// self-contained gnuplot script (the data as datablocks, `$d0 << EOD`, then the
// drawing commands), runs it with gnuplot -d (SINKLAB_GNUPLOT if set, else
// `gnuplot` on PATH; init files ignored) via posix_spawn, checks its exit status
// and renames the result into place (atomic: a reader never sees a half-written
// PNG). Failures throw PlotError (an InputError: the CLI prints one line and
// exits 2) with gnuplot's message. RenderOptions::keep_script keeps the script.
//
// All text (titles, labels, legend entries, token strings) is shown literally:
// UTF-8 is fine, and no character is special (gnuplot's enhanced-text markup is
// off), so "a_b", "x^2", "50%", "{", "@", "`", "'" and "\"" are drawn as written
// and nothing in a string is ever run (see gnuplot_text). Control characters in
// token strings are made visible (see display_token); tic labels (categories,
// heatmap row/column labels, tokens) are cut to 64 characters with "…".
//
// A report that must not die on one figure uses try_render(), which returns the
// error as a one-line message instead of throwing (HtmlReport::figure takes it).
//
// Colours: series without an explicit colour take palette_color(i) in order
// (a colour-blind-safe palette), so the same series index has the same colour
// across figures. Heatmaps use viridis, or a blue-white-red palette centred on 0
// when `diverging` is set.
#pragma once
#include <cmath>
#include <exception>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "io/error.h"

namespace sinklab::report {

// gnuplot missing, failing, or a figure that cannot be drawn.
struct PlotError : InputError {
  using InputError::InputError;
};

constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();

// An axis range; NaN ends are chosen by gnuplot.
struct Range {
  double lo = kAuto, hi = kAuto;
  bool is_auto() const { return std::isnan(lo) && std::isnan(hi); }
};

enum class Legend { TopRight, TopLeft, BottomRight, BottomLeft, OutsideRight, Below, None };

// What render() writes.
struct RenderOptions {
  int width = 0;    // pixels; 0 = the figure kind's default
  int height = 0;   // pixels; 0 = the figure kind's default
  int font_size = 0;  // points; 0 = default (11)
  std::string font = "DejaVu Sans";
  bool svg = false;  // also write <png path with .svg extension>
  bool keep_script = false;  // also write <png path>.gp and its data (debugging)
};

// Returned by render(): the files written.
struct Rendered {
  std::string png;
  std::string svg;  // empty unless RenderOptions::svg
};

// ------------------------------------------------------------------ line plots
enum class SeriesStyle {
  Line,        // solid line
  LinePoints,  // solid line with point markers
  Points,      // markers only (measured values a fit is drawn through)
  Fitted,      // dashed line (a fitted / theoretical curve)
};

struct Series {
  std::string name;   // legend entry; empty = not in the legend
  std::vector<double> x, y;
  // Optional error band: both empty, or both the size of y (drawn shaded).
  std::vector<double> y_lo, y_hi;
  SeriesStyle style = SeriesStyle::Line;
  int color = -1;     // palette index; -1 = next in order
  double width = 2.0; // line width
  bool y2 = false;    // plot against the right-hand y axis (LinePlot::y2label etc.)

  // Shorthands (the struct stays an aggregate).
  static Series line(std::string name, std::vector<double> x, std::vector<double> y, int color = -1) {
    Series s;
    s.name = std::move(name), s.x = std::move(x), s.y = std::move(y), s.color = color;
    return s;
  }
  static Series points(std::string name, std::vector<double> x, std::vector<double> y, int color = -1) {
    Series s = line(std::move(name), std::move(x), std::move(y), color);
    s.style = SeriesStyle::Points;
    return s;
  }
  static Series fitted(std::string name, std::vector<double> x, std::vector<double> y, int color = -1) {
    Series s = line(std::move(name), std::move(x), std::move(y), color);
    s.style = SeriesStyle::Fitted;
    return s;
  }
  // Adds an error band.
  Series& band(std::vector<double> lo, std::vector<double> hi) {
    y_lo = std::move(lo), y_hi = std::move(hi);
    return *this;
  }
};

// A reference line across the plot, e.g. "sink forms" at step 200 or a threshold.
struct RefLine {
  double at = 0.0;
  std::string label;  // drawn next to the line; may be empty
};

struct LinePlot {
  std::string title;
  std::string xlabel, ylabel;
  std::vector<Series> series;
  bool log_x = false, log_y = false;  // non-positive values are dropped on a log axis
  Range x_range, y_range;
  // Right-hand axis, drawn when some series has y2 = true (e.g. the sink logit gap
  // rising on the left axis while the BOS value norm falls on the right).
  std::string y2label;
  bool log_y2 = false;
  Range y2_range;
  Legend legend = Legend::TopRight;
  std::vector<RefLine> vlines;  // vertical dotted lines at x = at
  std::vector<RefLine> hlines;  // horizontal dotted lines at y = at
};

// A grid of line plots sharing one title ("compare the mitigations").
struct SmallMultiples {
  std::string title;
  std::vector<LinePlot> panels;  // each panel's title names it
  int columns = 0;               // 0 = automatic (up to 3 per row)
  // true: one legend for the whole figure, below the grid, made from the first
  // panel's series (panels are expected to plot the same series); false: each
  // panel draws its own legend where its `legend` says.
  bool shared_legend = true;
  bool same_y_range = false;     // one y range for all panels (lo..hi over all data)
};

// ------------------------------------------------------------------ heatmaps
struct Heatmap {
  std::string title;
  std::string xlabel, ylabel;  // e.g. "head", "layer"
  std::string cbar_label;      // colour bar label, e.g. "BOS attention mass"
  std::vector<std::vector<double>> values;  // values[row][col]; NaN cells are blank
  std::vector<std::string> row_labels;      // empty = 0, 1, 2, ...
  std::vector<std::string> col_labels;      // empty = 0, 1, 2, ...
  bool row0_at_top = true;   // row 0 drawn at the top (matrix order)
  bool diverging = false;    // blue-white-red, range symmetric about 0
  Range z_range;             // colour range; auto = data range (symmetric if diverging)
  int annotate = -1;         // print values in cells: -1 auto (<= 200 cells), 0 no, 1 yes
  std::string value_format = "%.2f";  // printf format for annotations (one %f/%g/%e)
};

// A causal attention pattern: weights[query][key] for key <= query (the upper
// triangle is ignored and left blank). Query on the y axis (top to bottom), key on x.
struct AttentionPattern {
  std::string title;
  std::vector<std::vector<double>> weights;  // T x T (rows may be length T or query+1)
  std::vector<std::string> tokens;           // T token strings, or empty (positions)
  std::vector<int> marked_queries;           // rows to highlight, e.g. trigger queries
  std::string mark_label = "trigger query";  // legend text for the marks
  int label_limit = 64;                      // tick labels with tokens only when T <= this
  double vmax = 1.0;                         // colour scale 0..vmax
};

// The causal attention patterns of one sequence side by side, e.g. every head of one
// layer: one panel per pattern on one colour scale (0..vmax), token labels on the
// outer axes when T <= label_limit.
struct AttentionGrid {
  std::string title;
  std::vector<std::vector<std::vector<double>>> panels;  // each T x T, [query][key]
  std::vector<std::string> panel_titles;                 // one per panel, or empty
  std::vector<std::string> tokens;                       // T token strings, or empty
  int columns = 0;                                       // 0 = automatic (up to 5 per row)
  int label_limit = 32;
  double vmax = 1.0;
};

// Makes a token printable on an axis: ' ' -> "␣", '\n' -> "↵", '\t' -> "⇥",
// other control bytes -> "\xNN", invalid UTF-8 bytes -> "\xNN"; truncates to
// max_chars code points with "…".
std::string display_token(const std::string& token, int max_chars = 12);

// ------------------------------------------------------------------ bar plots
struct BarSeries {
  std::string name;            // legend entry
  std::vector<double> values;  // one per category
  std::vector<double> errors;  // empty, or one (symmetric) error bar per category
  int color = -1;              // palette index; -1 = next in order
};

// Grouped bars: one group per category, one bar per series in each group.
// With one series, `highlight` categories are drawn in highlight_color and named
// highlight_label in the legend (e.g. the BOS bar among per-position value norms).
struct BarPlot {
  std::string title;
  std::string xlabel, ylabel;
  std::vector<std::string> categories;  // empty = 0, 1, 2, ...
  std::vector<BarSeries> series;
  bool log_y = false;
  Range y_range;
  Legend legend = Legend::TopRight;
  std::vector<int> highlight;           // category indices (single-series plots)
  std::string highlight_label = "BOS";
  int highlight_color = 1;              // palette index (orange-red)
  int label_limit = 40;                 // category tick labels only when <= this many
  std::vector<RefLine> hlines;
};

// ------------------------------------------------------------------ vector fields
// A quiver plot with trajectories on top, e.g. the (alpha, |beta|) phase portrait.
struct VectorField {
  std::string title;
  std::string xlabel, ylabel;
  std::vector<double> x, y, dx, dy;  // arrow at (x, y) pointing along (dx, dy)
  // true: arrows drawn with equal length (direction only), coloured by log10 of
  // the speed |(dx, dy)|; false: lengths proportional to speed, scaled to the grid.
  bool normalize = true;
  std::string speed_label = "log10 speed";
  std::vector<Series> trajectories;  // drawn as lines; their first point is marked
  Range x_range, y_range;            // auto = extent of arrows and trajectories
  Legend legend = Legend::TopRight;
};

// ------------------------------------------------------------------ rendering
// Each writes `png_path` (and its .svg sibling if opts.svg). InputError/PlotError
// on empty or inconsistent data (naming the figure by its title) or gnuplot failure.
Rendered render(const LinePlot& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const SmallMultiples& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const Heatmap& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const AttentionPattern& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const AttentionGrid& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const BarPlot& fig, const std::string& png_path, const RenderOptions& opts = {});
Rendered render(const VectorField& fig, const std::string& png_path, const RenderOptions& opts = {});

// Non-throwing render(): the files written, or the one-line reason there are
// none. Prints nothing; the caller decides where a failure is reported.
struct FigureResult {
  std::string png;    // the path asked for (also on failure, to name the figure)
  std::string svg;    // empty unless RenderOptions::svg and ok()
  std::string error;  // empty when ok
  bool ok() const { return error.empty(); }
};

// `error` as one line of valid UTF-8 (never empty).
std::string one_line_error(const std::string& message);

// render(), with InputError/PlotError (bad data, gnuplot missing or failing) and
// any other std::exception turned into FigureResult::error.
template <class Fig>
FigureResult try_render(const Fig& fig, const std::string& png_path, const RenderOptions& opts = {}) {
  FigureResult r;
  r.png = png_path;
  try {
    r.svg = render(fig, png_path, opts).svg;
  } catch (const std::exception& e) {
    r.svg.clear();
    r.error = one_line_error(e.what());
  }
  return r;
}

// The gnuplot script render() runs for `fig` (datablocks, then the drawing
// commands), drawing into "figure.png" (and "figure.svg" if opts.svg). Validates
// the figure like render() (InputError) but runs nothing: for tests and fuzzing.
std::string gnuplot_script(const LinePlot& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const SmallMultiples& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const Heatmap& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const AttentionPattern& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const AttentionGrid& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const BarPlot& fig, const RenderOptions& opts = {});
std::string gnuplot_script(const VectorField& fig, const RenderOptions& opts = {});

// How every text reaches gnuplot: a string expression of single-quoted pieces
// (no escapes, no @ macros, no backquote commands inside them) joined by "'" and
// "\n" constants, drawing `text` literally. Control characters become spaces
// (TAB, CR, and newline unless allow_newline) or "\xNN"; invalid UTF-8 bytes "\xNN".
std::string gnuplot_text(const std::string& text, bool allow_newline = true);
// A tic label: gnuplot uses these as printf formats, so '%' is doubled as well;
// no newline; cut to 64 characters with "…".
std::string gnuplot_tic_label(const std::string& text);

// The gnuplot program used: $SINKLAB_GNUPLOT if set and non-empty, else "gnuplot".
std::string gnuplot_program();
// True if gnuplot_program() runs (`gnuplot --version` exits 0). Cached per program.
bool gnuplot_available();

// Palette colour i (wraps around) as "#rrggbb".
std::string palette_color(int i);

// Width and height of a PNG from its IHDR chunk; {0, 0} if not a PNG.
std::pair<int, int> png_size(const std::string& png_bytes);

}  // namespace sinklab::report
