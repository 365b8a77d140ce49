// Figures drawn by gnuplot. See figures.h for the contract.
//
// Shape of a render: the figure's data go into gnuplot datablocks ($d0 << EOD)
// at the top of one temporary script file; the drawing commands (the "body")
// follow once per output format (pngcairo, then svg if asked), each drawing
// into a temp file beside the target. gnuplot runs that script through
// posix_spawn; on exit status 0 the temp files are renamed into place.
#include "report/core/figures.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "io/files.h"
#include "io/process.h"

extern char** environ;

namespace fs = std::filesystem;

namespace sinklab::report {

// ============================================================ small helpers
namespace {

// Okabe-Ito, reordered: blue, vermillion, green, reddish purple, orange, sky blue,
// grey, black. Safe for the common colour-vision deficiencies.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#7F7F7F", "#000000"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

// Colour maps as gnuplot `set palette defined` stops (evenly spaced).
const std::vector<std::string> kViridis = {"#440154", "#482878", "#3E4A89", "#31688E", "#26828E",
                                           "#1F9E89", "#35B779", "#6DCD59", "#B4DE2C", "#FDE725"};
const std::vector<std::string> kRdBu = {"#2166AC", "#4393C3", "#92C5DE", "#D1E5F0", "#F7F7F7",
                                        "#FDDBC7", "#F4A582", "#D6604D", "#B2182B"};
const std::vector<std::string> kBlues = {"#FFFFFF", "#DEEBF7", "#C6DBEF", "#9ECAE1", "#6BAED6",
                                         "#4292C6", "#2171B5", "#08519C", "#08306B"};
const std::vector<std::string> kSpeed = {"#D3DEEA", "#9FB8D2", "#6A93BA", "#3A6896"};

const char* kTextColor = "#262626";
const char* kGridColor = "#E3E3E3";
const char* kRefColor = "#595959";

int utf8_len(const std::string& s, std::size_t i);
std::string clean_text(const std::string& s, bool keep_newline);

// User text as shown in an error message: one line, valid UTF-8, at most 60
// code points (a title may be a whole document's first line).
std::string shown(const std::string& s) {
  std::string t = clean_text(s, false), out;
  int count = 0;
  for (std::size_t i = 0; i < t.size(); ++count) {
    if (count == 60) return out + "…";
    int n = std::max(1, utf8_len(t, i));
    out.append(t, i, n);
    i += n;
  }
  return out;
}

std::string fig_name(const std::string& kind, const std::string& title) {
  return title.empty() ? kind : kind + " '" + shown(title) + "'";
}

// Decodes one UTF-8 code point at s[i]; returns its byte length, or 0 if invalid.
int utf8_len(const std::string& s, std::size_t i) {
  unsigned char c = (unsigned char)s[i];
  int n;
  unsigned cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (int k = 1; k < n; ++k) {
    unsigned char d = (unsigned char)s[i + k];
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

// Valid UTF-8 with control characters replaced (newline kept if keep_newline).
std::string clean_text(const std::string& s, bool keep_newline) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F) {
      if (c == '\n' && keep_newline) out += '\n';
      else if (c == '\t' || c == '\n' || c == '\r') out += ' ';
      else out += fmt::format("\\x{:02X}", c);
      ++i;
      continue;
    }
    int n = utf8_len(s, i);
    if (n == 0) {
      out += fmt::format("\\x{:02X}", c);
      ++i;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

// Splices `t` (already clean) into a single-quoted gnuplot string. Single-quoted
// strings in gnuplot have no escapes and are not subject to macro (@) or
// backquote substitution. A quote or a newline is spliced in by concatenation
// with a double-quoted constant ('it'."'".'s'): gnuplot's scanner mis-reads the
// '' escape at the start of a string, so it is never used. The only
// double-quoted strings are these two constants, so no backquote ever sits
// where gnuplot would run it.
std::string single_quoted(const std::string& t) {
  std::string out = "'";
  for (char c : t) {
    if (c == '\'') out += "'.\"'\".'";
    else if (c == '\n') out += "'.\"\\n\".'";
    else out += c;
  }
  out += "'";
  return out;
}

// A gnuplot string expression showing `s` literally (see gnuplot_text).
std::string q(const std::string& s, bool allow_newline = true) { return single_quoted(clean_text(s, allow_newline)); }

// A file path, byte for byte (no cleaning: the file must be the one asked for).
std::string q_path(const std::string& path) { return single_quoted(path); }

// Longest tic label, in code points. gnuplot formats a tic label into a fixed
// stack buffer (gprintf): a label of a few thousand bytes with '%%' in it
// overflows it (gnuplot 5.4 dies with "stack smashing detected"); an axis label
// that long is unreadable anyway.
constexpr int kMaxTicChars = 64;

// A tic label: gnuplot uses explicit tic labels (`set xtics ('a' 0)`) as printf
// formats for the tic position, so '50%' fails with "Bad format character" and
// '%s' draws the number. Every '%' is doubled (gprintf prints '%%' as '%').
std::string q_tic(const std::string& s) {
  std::string t = clean_text(s, false);
  std::string cut;
  int count = 0;
  for (std::size_t i = 0; i < t.size();) {
    if (count == kMaxTicChars) {
      cut += "…";
      break;
    }
    int n = std::max(1, utf8_len(t, i));  // t is valid UTF-8: n >= 1 anyway
    cut.append(t, i, n);
    i += n;
    ++count;
  }
  std::string esc;
  for (char c : cut) esc += c == '%' ? std::string("%%") : std::string(1, c);
  return single_quoted(esc);
}

}  // namespace

std::string gnuplot_text(const std::string& text, bool allow_newline) { return q(text, allow_newline); }
std::string gnuplot_tic_label(const std::string& text) { return q_tic(text); }

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "1e308" : "-1e308";
  return fmt::format("{:.10g}", v);
}

std::string rgb(int palette_index) { return "rgb '" + palette_color(palette_index) + "'"; }

struct RGB {
  double r, g, b;
};
RGB parse_hex(const std::string& h) {
  auto hx = [&](int k) { return std::stoi(h.substr(k, 2), nullptr, 16) / 255.0; };
  return {hx(1), hx(3), hx(5)};
}
// Colour of a palette at t in [0, 1] (linear between evenly spaced stops).
RGB palette_at(const std::vector<std::string>& stops, double t) {
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  double p = t * (stops.size() - 1);
  std::size_t k = std::min<std::size_t>((std::size_t)p, stops.size() - 2);
  double f = p - k;
  RGB a = parse_hex(stops[k]), b = parse_hex(stops[k + 1]);
  return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}
bool is_dark(RGB c) { return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b < 0.5; }

std::string palette_cmd(const std::vector<std::string>& stops) {
  std::string s = "set palette defined (";
  for (std::size_t i = 0; i < stops.size(); ++i) s += fmt::format("{}{} '{}'", i ? ", " : "", i, stops[i]);
  return s + ")\nset palette maxcolors 0\n";
}

int int_pow10_floor(double v) { return (int)std::floor(std::log10(v) + 1e-9); }
int int_pow10_ceil(double v) { return (int)std::ceil(std::log10(v) - 1e-9); }

std::string superscript(int k) {
  static const char* digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string s = k < 0 ? "⁻" : "";
  std::string d = std::to_string(std::abs(k));
  for (char c : d) s += digits[c - '0'];
  return s;
}

// Explicit tics for a log axis over [lo, hi] (lo > 0): decades labelled, plus 2x
// and 5x when few decades show; minor tics at 2..9 x 10^k. Empty if not useful.
std::string log_tics(const std::string& axis, double lo, double hi) {
  if (!(lo > 0) || !(hi > lo)) return "";
  int k0 = int_pow10_floor(lo), k1 = int_pow10_ceil(hi);
  // Plain numbers (0.01, 1, 1000) when every labelled decade is short to write.
  int in0 = int_pow10_ceil(lo), in1 = int_pow10_floor(hi);
  bool plain = in0 >= -3 && in1 <= 4;
  auto inside = [&](double v) { return v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9); };
  auto label = [&](int m, int k) -> std::string {
    if (plain) return fmt::format("{:g}", m * std::pow(10.0, k));
    return (m == 1 ? std::string() : std::to_string(m) + "×") + "10" + superscript(k);
  };
  int majors = 0;
  for (int k = k0; k <= k1; ++k) majors += inside(std::pow(10.0, k));
  bool with25 = majors < 3;
  std::vector<std::string> items;
  int labelled = 0;
  for (int k = k0; k <= k1; ++k) {
    double p = std::pow(10.0, k);
    for (int m = 1; m <= 9; ++m) {
      double v = m * p;
      if (!inside(v)) continue;
      bool major = m == 1 || (with25 && (m == 2 || m == 5));
      if (major) {
        items.push_back(q_tic(label(m, k)) + " " + num(v));
        ++labelled;
      } else if (k1 - k0 <= 8) {
        items.push_back("'' " + num(v) + " 1");
      }
    }
  }
  if (labelled < 2) return "";
  std::string s = "set " + axis + "tics (";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s + ")\n";
}

// ------------------------------------------------------------ script assembly
struct Script {
  std::string data;  // datablocks
  int blocks = 0;
  // Adds a datablock; returns its name ($dN).
  std::string block(const std::string& content) {
    std::string name = "$d" + std::to_string(blocks++);
    data += name + " << EOD\n" + content;
    if (!content.empty() && content.back() != '\n') data += '\n';
    data += "EOD\n";
    return name;
  }
};

struct Canvas {
  int width, height, font_size;
  std::string font;
  // Line caps: rounded for line plots; butt for image plots, whose zero-length
  // tic marks would otherwise show as dots.
  bool butt = false;
};

Canvas canvas(const RenderOptions& o, int def_w, int def_h) {
  Canvas c{o.width > 0 ? o.width : def_w, o.height > 0 ? o.height : def_h,
           o.font_size > 0 ? o.font_size : 11, o.font.empty() ? "DejaVu Sans" : o.font, false};
  require(c.width >= 64 && c.width <= 20000 && c.height >= 64 && c.height <= 20000,
          fmt::format("figure size {}x{} pixels is out of range (64..20000)", c.width, c.height));
  require(c.font_size >= 4 && c.font_size <= 72, fmt::format("font size {} is out of range (4..72)", c.font_size));
  return c;
}

// Common look: light grid behind, left/bottom border, outward tics, no enhanced text.
std::string common_style(const Canvas& c) {
  std::string s;
  s += "reset\n";
  s += "set encoding utf8\n";
  s += "set minussign\n";
  s += fmt::format("set border 3 lw 1.0 lc rgb '{}'\n", "#4D4D4D");
  s += fmt::format("set tics nomirror out scale 0.6 textcolor rgb '{}'\n", kTextColor);
  s += "set mxtics default\nset mytics default\n";
  s += fmt::format("set grid back xtics ytics lw 1 lt 1 lc rgb '{}'\n", kGridColor);
  s += fmt::format("set title textcolor rgb '{}' font {}\n", kTextColor, q(fmt::format("{} Bold,{}", c.font, c.font_size + 2)));
  s += fmt::format("set xlabel textcolor rgb '{}'\nset ylabel textcolor rgb '{}'\n", kTextColor, kTextColor);
  s += fmt::format("set key noautotitle opaque nobox Left reverse samplen 2.5 spacing 1.15 textcolor rgb '{}'\n", kTextColor);
  s += "set style fill solid 1.0 noborder\n";
  s += "set pointintervalbox 0\n";
  return s;
}

std::string legend_cmd(Legend l) {
  // Inside the plot the key is opaque (it hides the grid and data under it);
  // outside it must not be, or it blanks the axis label next to it.
  switch (l) {
    case Legend::TopRight: return "set key inside top right opaque height 0\n";
    case Legend::TopLeft: return "set key inside top left opaque height 0\n";
    case Legend::BottomRight: return "set key inside bottom right opaque height 0\n";
    case Legend::BottomLeft: return "set key inside bottom left opaque height 0\n";
    case Legend::OutsideRight: return "set key outside right top vertical noopaque height 0\n";
    case Legend::Below: return "set key below center horizontal noopaque height 1\n";
    case Legend::None: return "unset key\n";
  }
  return "";
}

std::string range_cmd(const std::string& axis, Range r) {
  auto end = [](double v) { return std::isnan(v) ? std::string("*") : num(v); };
  return "set " + axis + "range [" + end(r.lo) + ":" + end(r.hi) + "]\n";
}

// Extent of finite (and, on a log axis, positive) values.
struct Extent {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v, bool log) {
    if (!std::isfinite(v) || (log && v <= 0)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// Resolved range for a log axis: the user's ends where given, else data extent
// padded by a few percent (in log space).
Range log_range(Range user, Extent e) {
  Range r = user;
  if (!e.empty()) {
    double lo = e.lo, hi = e.hi;
    if (hi <= lo) lo /= 2, hi *= 2;
    double pad = std::pow(hi / lo, 0.03);
    if (std::isnan(r.lo)) r.lo = lo / pad;
    if (std::isnan(r.hi)) r.hi = hi * pad;
  }
  if (std::isnan(r.lo) || std::isnan(r.hi) || !(r.lo > 0) || !(r.hi > r.lo)) return Range{};
  return r;
}

// ============================================================ running gnuplot
struct TempDir {
  std::string path;
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string base = (t && *t) ? t : "/tmp";
    std::string tmpl = base + "/sinklab-plot-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      tmpl = "/tmp/sinklab-plot-XXXXXX";
      buf.assign(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (!::mkdtemp(buf.data()))
        throw PlotError(std::string("cannot create a temporary directory for gnuplot: ") + std::strerror(errno));
    }
    path = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// One line: the informative end of gnuplot's stderr.
std::string summarize_stderr(const std::string& err) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  std::string l;
  while (std::getline(in, l)) {
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    std::size_t b = l.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    l = l.substr(b);
    if (l.find_first_not_of("^ ") == std::string::npos) continue;  // caret marker line
    lines.push_back(l);
  }
  // Prefer lines that carry "line N:" (gnuplot's error location + message).
  std::string out;
  for (const auto& x : lines)
    if (x.find(" line ") != std::string::npos && x.find(':') != std::string::npos &&
        x.find("warning") == std::string::npos)
      out += (out.empty() ? "" : " | ") + x;
  if (out.empty())
    for (std::size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i)
      out += (out.empty() ? "" : " | ") + lines[i];
  if (out.size() > 600) out = out.substr(0, 600) + "...";
  return clean_text(out, false);
}

std::string missing_gnuplot_hint(const std::string& prog, int err) {
  return "cannot run gnuplot ('" + prog + "'): " + std::strerror(err) +
         "; install gnuplot (Debian: apt-get install gnuplot-nox) or set SINKLAB_GNUPLOT to its path";
}

std::string temp_sibling(const std::string& target, const std::string& ext) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return target + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 100000000) + ext;
}

bool starts_with_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char b[8] = {};
  in.read(b, 8);
  return in.gcount() == 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
}

// A figure ready to draw: its datablocks, its drawing commands (terminal-
// independent), its canvas and its name for messages. Built without touching the
// file system, so the script can be inspected (gnuplot_script) or fuzzed.
struct Plan {
  Script sc;
  std::string body;
  Canvas cv;
  std::string what;
};

// The whole gnuplot script for `plan`, drawing into out_png (and out_svg if not empty).
std::string script_text(const Plan& plan, const std::string& out_png, const std::string& out_svg) {
  const Canvas& cv = plan.cv;
  std::string font = fmt::format("{},{}", cv.font, cv.font_size);
  // The name goes into a comment: a comment ending in a backslash would swallow
  // the next line (the first datablock header), so no backslash reaches it.
  std::string name = clean_text(plan.what, false);
  std::replace(name.begin(), name.end(), '\\', '/');
  std::string script = "# sinklab figure: " + name + "\n";
  script += plan.sc.data;
  script += fmt::format("set terminal pngcairo size {},{} noenhanced font {} linewidth 1.2 {} background rgb 'white'\n",
                        cv.width, cv.height, q(font), cv.butt ? "butt" : "rounded");
  script += "set output " + q_path(out_png) + "\n" + plan.body + "unset output\n";
  if (!out_svg.empty()) {
    script += fmt::format("set terminal svg size {},{} noenhanced font {} linewidth 1.2 {} background rgb 'white'\n",
                          cv.width, cv.height, q(font), cv.butt ? "butt" : "rounded");
    script += "set output " + q_path(out_svg) + "\n" + plan.body + "unset output\n";
  }
  return script;
}

std::string preview_script(const Plan& plan, const RenderOptions& opts) {
  return script_text(plan, "figure.png", opts.svg ? "figure.svg" : "");
}

// Runs the plan's script, writing png_path (and the .svg sibling if asked).
Rendered run_plan(const Plan& plan, const std::string& png_path, const RenderOptions& opts) {
  const std::string& what = plan.what;
  require(!png_path.empty(), what + ": empty output path");
  fs::path target(png_path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw PlotError("cannot create directory '" + target.parent_path().string() + "': " + ec.message());
  }
  Rendered out;
  out.png = png_path;
  if (opts.svg) out.svg = fs::path(png_path).replace_extension(".svg").string();
  std::string tmp_png = temp_sibling(png_path, ".png");
  std::string tmp_svg = opts.svg ? temp_sibling(out.svg, ".svg") : "";
  std::string script = script_text(plan, tmp_png, tmp_svg);

  auto cleanup = [&] {
    std::error_code e2;
    fs::remove(tmp_png, e2);
    if (!tmp_svg.empty()) fs::remove(tmp_svg, e2);
  };

  TempDir dir;
  std::string script_path = dir.path + "/figure.gp";
  {
    std::ofstream f(script_path, std::ios::binary);
    f << script;
    if (!f) throw PlotError("cannot write the gnuplot script to '" + script_path + "'");
  }
  if (opts.keep_script) write_file_atomic(png_path + ".gp", script);

  std::string prog = gnuplot_program();
  // -d: ignore the user's and the system's init files, so figures look the same everywhere.
  ProcessResult r = run_program(prog, {"-d", script_path}, dir.path + "/gnuplot.log", 300.0);
  if (!r.started) {
    cleanup();
    throw PlotError(missing_gnuplot_hint(prog, r.spawn_errno));
  }
  if (r.timed_out) {
    cleanup();
    throw PlotError(what + ": gnuplot ('" + prog + "') did not finish within 300 s");
  }
  if (r.exit_code == 127 && r.err.empty()) {
    cleanup();
    throw PlotError(missing_gnuplot_hint(prog, ENOENT));
  }
  if (r.exit_code != 0) {
    cleanup();
    std::string why = r.signal ? "killed by signal " + std::to_string(r.signal)
                               : "exit status " + std::to_string(r.exit_code);
    std::string msg = summarize_stderr(r.err);
    throw PlotError(what + ": gnuplot ('" + prog + "') failed (" + why + ")" + (msg.empty() ? "" : ": " + msg));
  }
  if (!starts_with_png(tmp_png)) {
    cleanup();
    std::string msg = summarize_stderr(r.err);
    throw PlotError(what + ": gnuplot ('" + prog + "') wrote no PNG" + (msg.empty() ? "" : ": " + msg));
  }
  if (opts.svg && (!fs::exists(tmp_svg, ec) || fs::file_size(tmp_svg, ec) == 0)) {
    cleanup();
    throw PlotError(what + ": gnuplot ('" + prog + "') wrote no SVG");
  }
  fs::rename(tmp_png, png_path, ec);
  if (ec) {
    cleanup();
    throw PlotError("cannot write '" + png_path + "': rename failed: " + ec.message());
  }
  if (opts.svg) {
    fs::rename(tmp_svg, out.svg, ec);
    if (ec) {
      cleanup();
      throw PlotError("cannot write '" + out.svg + "': rename failed: " + ec.message());
    }
  }
  return out;
}

// ============================================================ line plots
// Emits the commands (and datablocks) for one line-plot panel.
struct PanelOptions {
  bool legend = true, xlabel = true, ylabel = true;
  Range y_override;
};

// A legend entry (no data) drawn like the series.
std::string key_clause(const Series& se, int color) {
  std::string t = "title " + q(se.name, false);
  switch (se.style) {
    case SeriesStyle::Points: return fmt::format("keyentry with points pt 7 ps 0.9 lc {} {}", rgb(color), t);
    case SeriesStyle::LinePoints:
      return fmt::format("keyentry with linespoints lw {} pt 7 ps 0.7 lc {} {}", se.width, rgb(color), t);
    case SeriesStyle::Fitted: return fmt::format("keyentry with lines lw {} dt (9,6) lc {} {}", se.width, rgb(color), t);
    case SeriesStyle::Line: break;
  }
  return fmt::format("keyentry with lines lw {} lc {} {}", se.width, rgb(color), t);
}

std::string line_panel(const LinePlot& p, Script& sc, const PanelOptions& po, const std::string& what) {
  bool show_legend = po.legend;
  Range y_override = po.y_override;
  std::string s;
  // Validate and measure.
  Extent ex, ey, ey2;
  bool has_y2 = false;
  for (const auto& se : p.series) {
    has_y2 |= se.y2;
    bool lg = se.y2 ? p.log_y2 : p.log_y;
    Extent& ey_ = se.y2 ? ey2 : ey;
    std::string sn = what + ": series '" + shown(se.name) + "'";
    require(se.x.size() == se.y.size(), fmt::format("{}: x has {} values, y has {}", sn, se.x.size(), se.y.size()));
    require(se.y_lo.size() == se.y_hi.size() && (se.y_lo.empty() || se.y_lo.size() == se.y.size()),
            fmt::format("{}: error band needs y_lo and y_hi of {} values each (got {} and {})", sn, se.y.size(),
                        se.y_lo.size(), se.y_hi.size()));
    require(std::isfinite(se.width) && se.width > 0 && se.width < 50, sn + ": line width must be in (0, 50)");
    for (std::size_t i = 0; i < se.x.size(); ++i) {
      if (!std::isfinite(se.x[i]) || (p.log_x && se.x[i] <= 0)) continue;
      if (std::isfinite(se.y[i]) && !(lg && se.y[i] <= 0)) {
        ex.add(se.x[i], p.log_x);
        ey_.add(se.y[i], lg);
      }
      if (!se.y_lo.empty()) {
        ey_.add(se.y_lo[i], lg);
        ey_.add(se.y_hi[i], lg);
      }
    }
  }
  for (const auto& v : p.vlines) require(std::isfinite(v.at), what + ": vertical line at a non-finite x");
  for (const auto& h : p.hlines) require(std::isfinite(h.at), what + ": horizontal line at a non-finite y");

  s += "unset logscale\nunset arrow\nunset label\nunset object\nset autoscale\n";
  // Autoscaled linear axes hug the data with a small margin (instead of jumping
  // to the next tic), so a curve at the edge of the range stays off the border.
  s += "set autoscale xfix\nset autoscale yfix\nset autoscale y2fix\n"
       "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n";
  s += "set xtics autofreq\nset ytics autofreq\nset format x '% h'\nset format y '% h'\n";
  s += "set mxtics default\nset mytics default\n";
  s += p.title.empty() ? "unset title\n" : "set title " + q(p.title) + "\n";
  s += "set xlabel " + q(po.xlabel ? p.xlabel : "") + "\nset ylabel " + q(po.ylabel ? p.ylabel : "") + "\n";
  s += show_legend ? legend_cmd(p.legend) : "unset key\n";

  Range xr = p.x_range, yr = y_override.is_auto() ? p.y_range : y_override;
  if (ex.empty()) {
    // Nothing to draw: an empty frame that says so.
    s += "set xrange [0:1]\nset yrange [0:1]\nset xtics format ''\nset ytics format ''\n";
    s += "set label 1 'no data' at graph 0.5, graph 0.5 center textcolor rgb '#7F7F7F'\n";
    s += "plot NaN notitle\n";
    return s;
  }
  if (p.log_x) {
    s += "set logscale x 10\n";
    xr = log_range(xr, ex);
    s += log_tics("x", xr.lo, xr.hi);
  }
  if (p.log_y) {
    s += "set logscale y 10\n";
    yr = log_range(yr, ey);
    s += log_tics("y", yr.lo, yr.hi);
  }
  s += range_cmd("x", xr) + range_cmd("y", yr);
  if (has_y2) {
    Range y2r = p.y2_range;
    s += fmt::format("set border 11 lw 1.0 lc rgb '#4D4D4D'\nset ytics nomirror\n"
                     "set y2tics autofreq nomirror out scale 0.6 textcolor rgb '{}'\nset my2tics default\n"
                     "set format y2 '% h'\nset y2label {} textcolor rgb '{}'\n",
                     kTextColor, q(po.ylabel ? p.y2label : ""), kTextColor);
    if (p.log_y2) {
      s += "set logscale y2 10\n";
      y2r = log_range(y2r, ey2);
      s += log_tics("y2", y2r.lo, y2r.hi);
    }
    if (ey2.empty() && y2r.is_auto()) y2r = Range{0, 1};
    s += range_cmd("y2", y2r);
  } else {
    s += "set border 3 lw 1.0 lc rgb '#4D4D4D'\nunset y2tics\nunset my2tics\nunset y2label\n";
  }

  // Reference lines.
  int ln = 1;
  for (const auto& v : p.vlines) {
    if (p.log_x && v.at <= 0) continue;
    s += fmt::format("set arrow from first {}, graph 0 to first {}, graph 1 nohead dt (4,4) lw 1.2 lc rgb '{}' back\n",
                     num(v.at), num(v.at), kRefColor);
    if (!v.label.empty())
      // Written along the line, downwards from the top: a narrow footprint that
      // rarely meets the legend.
      s += fmt::format("set label {} {} at first {}, graph 0.98 right rotate by 90 offset character 1.1, 0 "
                       "font ',9' textcolor rgb '{}' front\n",
                       ln++, q(v.label, false), num(v.at), kRefColor);
  }
  for (const auto& h : p.hlines) {
    if (p.log_y && h.at <= 0) continue;
    s += fmt::format("set arrow from graph 0, first {} to graph 1, first {} nohead dt (4,4) lw 1.2 lc rgb '{}' back\n",
                     num(h.at), num(h.at), kRefColor);
    if (!h.label.empty())
      s += fmt::format("set label {} {} at graph 0.01, first {} left offset 0, character 0.6 font ',9' "
                       "textcolor rgb '{}' front\n",
                       ln++, q(h.label, false), num(h.at), kRefColor);
  }

  // Data and plot clauses: bands first (behind), then lines.
  std::vector<std::string> bands, lines;
  int auto_color = 0;
  for (const auto& se : p.series) {
    int color = se.color >= 0 ? se.color : auto_color++;
    bool lg = se.y2 ? p.log_y2 : p.log_y;
    std::string d;
    bool any = false;
    bool gap = false;
    for (std::size_t i = 0; i < se.x.size(); ++i) {
      bool ok = std::isfinite(se.x[i]) && std::isfinite(se.y[i]) && !(p.log_x && se.x[i] <= 0) &&
                !(lg && se.y[i] <= 0);
      if (!ok) {
        if (any && !gap) d += "\n";
        gap = true;
        continue;
      }
      gap = false;
      any = true;
      d += num(se.x[i]) + " " + num(se.y[i]);
      if (!se.y_lo.empty()) {
        double lo = se.y_lo[i], hi = se.y_hi[i];
        if (lg) {
          if (!(lo > 0)) lo = se.y[i];
          if (!(hi > 0)) hi = se.y[i];
        }
        d += " " + num(lo) + " " + num(hi);
      }
      d += "\n";
    }
    std::string title = se.name.empty() ? "notitle" : "title " + q(se.name, false);
    if (!any) {
      // Keep the legend entry so the panel still names the series.
      if (!se.name.empty()) lines.push_back(key_clause(se, color));
      continue;
    }
    std::string b = sc.block(d);
    const char* axes = se.y2 ? " axes x1y2" : "";
    if (!se.y_lo.empty())
      bands.push_back(fmt::format("{} using 1:3:4{} with filledcurves fs transparent solid 0.18 noborder lc {} notitle",
                                  b, axes, rgb(color)));
    b += " using 1:2" + std::string(axes);
    switch (se.style) {
      case SeriesStyle::Line:
        lines.push_back(fmt::format("{} with lines lw {} lc {} {}", b, se.width, rgb(color), title));
        break;
      case SeriesStyle::LinePoints:
        lines.push_back(fmt::format("{} with linespoints lw {} pt 7 ps 0.6 lc {} {}", b, se.width,
                                    rgb(color), title));
        break;
      case SeriesStyle::Points:
        lines.push_back(fmt::format("{} with points pt 7 ps 0.7 lc {} {}", b, rgb(color), title));
        break;
      case SeriesStyle::Fitted:
        lines.push_back(fmt::format("{} with lines lw {} dt (9,6) lc {} {}", b, se.width, rgb(color),
                                    title));
        break;
    }
  }
  s += "plot ";
  bool first = true;
  for (auto* v : {&bands, &lines})
    for (const auto& c : *v) {
      s += (first ? "" : ", \\\n     ") + c;
      first = false;
    }
  s += "\n";
  return s;
}

}  // namespace

// ============================================================ public helpers
std::string palette_color(int i) {
  if (i < 0) i = 0;
  return kPalette[i % kPaletteSize];
}

std::string one_line_error(const std::string& message) {
  std::string t = clean_text(message, false);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t.empty() ? std::string("unknown error") : t;
}

std::string gnuplot_program() {
  const char* e = std::getenv("SINKLAB_GNUPLOT");
  return (e && *e) ? std::string(e) : std::string("gnuplot");
}

bool gnuplot_available() {
  static std::mutex m;
  static std::map<std::string, bool> cache;
  std::string prog = gnuplot_program();
  std::lock_guard<std::mutex> lock(m);
  auto it = cache.find(prog);
  if (it != cache.end()) return it->second;
  bool ok = false;
  try {
    TempDir dir;
    ProcessResult r = run_program(prog, {"--version"}, dir.path + "/version.log", 30.0);
    ok = r.started && r.exit_code == 0 && r.err.find("gnuplot") != std::string::npos;
  } catch (...) {
    ok = false;
  }
  cache[prog] = ok;
  return ok;
}

std::pair<int, int> png_size(const std::string& b) {
  if (b.size() < 24 || std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) != 0 || b.compare(12, 4, "IHDR") != 0)
    return {0, 0};
  auto be32 = [&](std::size_t o) {
    return (int)(((unsigned)(unsigned char)b[o] << 24) | ((unsigned)(unsigned char)b[o + 1] << 16) |
                 ((unsigned)(unsigned char)b[o + 2] << 8) | (unsigned)(unsigned char)b[o + 3]);
  };
  return {be32(16), be32(20)};
}

std::string display_token(const std::string& token, int max_chars) {
  std::string out;
  int count = 0;
  bool truncated = false;
  for (std::size_t i = 0; i < token.size();) {
    if (max_chars > 0 && count >= max_chars) {
      truncated = true;
      break;
    }
    unsigned char c = (unsigned char)token[i];
    if (c == ' ') out += "␣", ++i;
    else if (c == '\n') out += "↵", ++i;
    else if (c == '\t') out += "⇥", ++i;
    else if (c == '\r') out += "␍", ++i;
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c), ++i;
    else {
      int n = utf8_len(token, i);
      if (n == 0) {
        out += fmt::format("\\x{:02X}", c);
        ++i;
      } else {
        out.append(token, i, n);
        i += n;
      }
    }
    ++count;
  }
  if (truncated) out += "…";
  if (token.empty()) out = "∅";
  return out;
}

// ============================================================ render: LinePlot
static Plan plan_of(const LinePlot& fig, const RenderOptions& opts) {
  std::string what = fig_name("line plot", fig.title);
  Canvas cv = canvas(opts, 800, 520);
  Script sc;
  std::string body = common_style(cv) + line_panel(fig, sc, PanelOptions{}, what);
  return Plan{std::move(sc), std::move(body), cv, what};
}

// ============================================================ render: SmallMultiples
static Plan plan_of(const SmallMultiples& fig, const RenderOptions& opts) {
  std::string what = fig_name("small multiples", fig.title);
  int n = (int)fig.panels.size();
  require(n > 0, what + ": no panels");
  require(n <= 64, what + ": too many panels (" + std::to_string(n) + ", at most 64)");
  require(fig.columns >= 0, what + ": negative column count");
  int cols = fig.columns > 0 ? std::min(fig.columns, n) : std::min(3, n);
  int rows = (n + cols - 1) / cols;

  // Which labels to draw: shared ones only on the outer panels.
  bool same_x = true, same_y = true;
  for (const auto& p : fig.panels) {
    same_x &= p.xlabel == fig.panels[0].xlabel;
    same_y &= p.ylabel == fig.panels[0].ylabel;
  }
  bool named = false;
  for (const auto& se : fig.panels[0].series) named |= !se.name.empty();
  bool legend_row = fig.shared_legend && named;
  // Pixel layout: a title band, rows of panels, a legend band.
  const double top_band = fig.title.empty() ? 8 : 44, legend_band = legend_row ? 40 : 0;
  const double pad_l = 66, pad_r = 26, pad_t = 30, pad_b = 50;
  Canvas cv = canvas(opts, 16 + 400 * cols, (int)(top_band + legend_band + 300 * rows));
  double W = cv.width, H = cv.height;
  double cell_w = (W - 8) / cols, cell_h = (H - top_band - legend_band) / rows;
  require(cell_w > pad_l + pad_r + 20 && cell_h > pad_t + pad_b + 20,
          fmt::format("{}: {}x{} pixels are too small for {} x {} panels", what, cv.width, cv.height, rows, cols));

  Range shared;
  if (fig.same_y_range) {
    Extent e;
    bool log = fig.panels[0].log_y;
    for (const auto& p : fig.panels) {
      require(p.log_y == log, what + ": same_y_range needs all panels on the same y scale (log or linear)");
      for (const auto& se : p.series) {
        for (double v : se.y) e.add(v, log);
        for (double v : se.y_lo) e.add(v, log);
        for (double v : se.y_hi) e.add(v, log);
      }
    }
    if (!e.empty()) {
      if (log) {
        shared = log_range(Range{}, e);
      } else {
        double pad = 0.04 * (e.hi - e.lo);
        if (pad == 0) pad = std::max(1e-12, std::abs(e.hi) * 0.1);
        shared = Range{e.lo - pad, e.hi + pad};
      }
    }
  }

  Script sc;
  std::string body = common_style(cv);
  body += "set multiplot";
  if (!fig.title.empty())
    body += " title " + q(fig.title) + " font " + q(fmt::format("{} Bold,{}", cv.font, cv.font_size + 3));
  body += "\n";
  body += "set title font " + q(fmt::format("{},{}", cv.font, cv.font_size + 1)) + "\n";
  for (int i = 0; i < n; ++i) {
    const auto& p = fig.panels[i];
    int r = i / cols, c = i % cols;
    double x0 = 4 + c * cell_w + pad_l, x1 = 4 + (c + 1) * cell_w - pad_r;
    double yt = H - top_band - r * cell_h - pad_t, yb = H - top_band - (r + 1) * cell_h + pad_b;
    body += fmt::format("set lmargin at screen {}\nset rmargin at screen {}\nset tmargin at screen {}\nset bmargin at screen {}\n",
                        num(x0 / W), num(x1 / W), num(yt / H), num(yb / H));
    PanelOptions po;
    po.legend = !fig.shared_legend;
    // Bottom-most panel of its column shows the shared x label; first column the y label.
    po.xlabel = !same_x || i + cols >= n;
    po.ylabel = !same_y || c == 0;
    po.y_override = shared;
    body += line_panel(p, sc, po, what + ": panel " + std::to_string(i + 1));
  }
  if (legend_row) {
    std::vector<std::string> entries;
    int auto_color = 0;
    for (const auto& se : fig.panels[0].series) {
      int color = se.color >= 0 ? se.color : auto_color++;
      if (!se.name.empty()) entries.push_back(key_clause(se, color));
    }
    if (!entries.empty()) {
      body += "unset title\nunset xlabel\nunset ylabel\nunset border\nunset tics\nunset grid\nunset arrow\nunset label\n"
              "unset logscale\nset xrange [0:1]\nset yrange [0:1]\n";
      body += fmt::format("set lmargin at screen 0.02\nset rmargin at screen 0.98\nset tmargin at screen {}\n"
                          "set bmargin at screen 0.0\n",
                          num(legend_band / H));
      body += fmt::format("set key at screen 0.5, screen {} center center horizontal Left reverse samplen 2.5 "
                          "width 2 maxrows 1\n",
                          num(legend_band / 2 / H));
      body += "plot NaN notitle";
      for (const auto& e : entries) body += ", \\\n     " + e;
      body += "\n";
    }
  }
  body += "unset multiplot\n";
  return Plan{std::move(sc), std::move(body), cv, what};
}

// ============================================================ render: Heatmap
namespace {

// Validates a printf format with exactly one floating conversion.
void check_value_format(const std::string& f, const std::string& what) {
  // The formatted values go into a datablock as "text" columns: a quote or a
  // control character (a newline could end the datablock early with "EOD" and
  // run the rest as commands) must not reach it.
  require(f.find('"') == std::string::npos && clean_text(f, false) == f,
          what + ": value_format '" + shown(f) + "' must be printable text without '\"'");
  int conv = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 < f.size() && f[i + 1] == '%') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < f.size() && std::strchr("-+ #0", f[j])) ++j;
    while (j < f.size() && std::isdigit((unsigned char)f[j])) ++j;
    if (j < f.size() && f[j] == '.') {
      ++j;
      while (j < f.size() && std::isdigit((unsigned char)f[j])) ++j;
    }
    require(j < f.size() && std::strchr("fFeEgG", f[j]),
            what + ": value_format '" + shown(f) + "' must hold one %f, %e or %g conversion");
    ++conv;
    i = j;
  }
  require(conv == 1, what + ": value_format '" + shown(f) + "' must hold exactly one %f, %e or %g conversion");
  require(f.size() < 40, what + ": value_format too long");
}

std::string tic_list(const std::string& axis, const std::vector<std::string>& labels, int font_size,
                     const std::string& extra = "") {
  std::string s = "set " + axis + "tics " + extra + " (";
  for (std::size_t i = 0; i < labels.size(); ++i) s += (i ? ", " : "") + q_tic(labels[i]) + " " + std::to_string(i);
  s += ")";
  if (font_size > 0) s += fmt::format(" font ',{}'", font_size);
  return s + "\n";
}

}  // namespace

static Plan plan_of(const Heatmap& fig, const RenderOptions& opts) {
  std::string what = fig_name("heatmap", fig.title);
  int rows = (int)fig.values.size();
  require(rows > 0, what + ": no rows");
  int cols = (int)fig.values[0].size();
  require(cols > 0, what + ": row 0 is empty");
  for (int r = 0; r < rows; ++r)
    require((int)fig.values[r].size() == cols,
            fmt::format("{}: row {} has {} values, row 0 has {}", what, r, fig.values[r].size(), cols));
  require(fig.row_labels.empty() || (int)fig.row_labels.size() == rows,
          fmt::format("{}: {} row labels for {} rows", what, fig.row_labels.size(), rows));
  require(fig.col_labels.empty() || (int)fig.col_labels.size() == cols,
          fmt::format("{}: {} column labels for {} columns", what, fig.col_labels.size(), cols));
  require(rows <= 4096 && cols <= 4096, what + ": matrix larger than 4096 x 4096");
  check_value_format(fig.value_format, what);

  Extent ez;
  for (const auto& r : fig.values)
    for (double v : r) ez.add(v, false);
  double lo = fig.z_range.lo, hi = fig.z_range.hi;
  if (fig.diverging) {
    double m = 0;
    if (!ez.empty()) m = std::max(std::abs(ez.lo), std::abs(ez.hi));
    if (!std::isnan(lo)) m = std::max(m, std::abs(lo));
    if (!std::isnan(hi)) m = std::max(m, std::abs(hi));
    if (!(m > 0)) m = 1;
    if (std::isnan(lo) && std::isnan(hi)) lo = -m, hi = m;
    else if (std::isnan(lo)) lo = -std::abs(hi);
    else if (std::isnan(hi)) hi = std::abs(lo);
  } else {
    if (std::isnan(lo)) lo = ez.empty() ? 0 : ez.lo;
    if (std::isnan(hi)) hi = ez.empty() ? 1 : ez.hi;
  }
  require(std::isfinite(lo) && std::isfinite(hi), what + ": non-finite colour range");
  if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);

  // Default size: square-ish cells, room for labels and the colour bar.
  int cell = std::clamp(std::min(640 / cols, 560 / rows), 10, 56);
  int def_w = std::max(480, 230 + cols * cell), def_h = std::max(340, 150 + rows * cell);
  Canvas cv = canvas(opts, def_w, def_h);
  cv.butt = true;

  const auto& stops = fig.diverging ? kRdBu : kViridis;
  bool annotate = fig.annotate == 1 || (fig.annotate < 0 && rows * cols <= 200);

  Script sc;
  std::string img, dark_labels, light_labels;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      double v = fig.values[r][c];
      img += fmt::format("{} {} {}\n", c, r, std::isfinite(v) ? num(v) : "NaN");
      if (annotate && std::isfinite(v)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, fig.value_format.c_str(), v);
        std::string text = clean_text(buf, false);  // a wide field may cut a UTF-8 sequence
        if (text == "-0.00" || text == "-0.0" || text == "-0") text = text.substr(1);
        RGB bg = palette_at(stops, (v - lo) / (hi - lo));
        (is_dark(bg) ? light_labels : dark_labels) += fmt::format("{} {} \"{}\"\n", c, r, text);
      }
    }
    img += "\n";
  }
  std::string b_img = sc.block(img);
  std::string b_dark = dark_labels.empty() ? "" : sc.block(dark_labels);
  std::string b_light = light_labels.empty() ? "" : sc.block(light_labels);

  std::string s = common_style(cv);
  s += "unset grid\nset border 0\nset tics scale 0\n";
  s += palette_cmd(stops);
  s += fmt::format("set cbrange [{}:{}]\n", num(lo), num(hi));
  s += "set cbtics out nomirror scale 0.5\nset colorbox vertical\n";
  s += fig.cbar_label.empty() ? "" : "set cblabel " + q(fig.cbar_label) + " offset 0.5, 0\n";
  s += fig.title.empty() ? "" : "set title " + q(fig.title) + "\n";
  s += "set xlabel " + q(fig.xlabel) + "\nset ylabel " + q(fig.ylabel) + "\n";
  s += "unset key\n";
  s += fmt::format("set xrange [-0.5:{}]\n", num(cols - 0.5));
  s += fig.row0_at_top ? fmt::format("set yrange [{}:-0.5]\n", num(rows - 0.5))
                       : fmt::format("set yrange [-0.5:{}]\n", num(rows - 0.5));
  int tfont = std::max(7, cv.font_size - (std::max(rows, cols) > 40 ? 3 : (std::max(rows, cols) > 16 ? 2 : 1)));
  auto labels_for = [&](const std::vector<std::string>& given, int n) {
    std::vector<std::string> l;
    for (int i = 0; i < n; ++i) l.push_back(given.empty() ? std::to_string(i) : given[i]);
    return l;
  };
  // Column tics: all labels when there are few, else every k-th index.
  if (cols <= 64) {
    bool rotate = false;
    for (const auto& l : fig.col_labels) rotate |= clean_text(l, false).size() > 3 && cols > 6;
    s += tic_list("x", labels_for(fig.col_labels, cols), tfont, rotate ? "rotate by 45 right" : "");
  } else {
    s += "set xtics autofreq\n";
  }
  if (rows <= 64) s += tic_list("y", labels_for(fig.row_labels, rows), tfont);
  else s += "set ytics autofreq\n";
  // NaN cells show the light background.
  s += "set object 1 rect from graph 0, graph 0 to graph 1, graph 1 behind fc rgb '#EEEEEE' fs solid 1.0 noborder\n";
  // White separators between cells when cells are large enough to see them.
  if (cell >= 14 && rows <= 64 && cols <= 64) {
    for (int c = 1; c < cols; ++c)
      s += fmt::format("set arrow from {}, graph 0 to {}, graph 1 nohead lc rgb 'white' lw 1.5 front\n", num(c - 0.5),
                       num(c - 0.5));
    for (int r = 1; r < rows; ++r)
      s += fmt::format("set arrow from graph 0, first {} to graph 1, first {} nohead lc rgb 'white' lw 1.5 front\n",
                       num(r - 0.5), num(r - 0.5));
  }
  int afont = std::clamp(cell / 3, 7, cv.font_size);
  s += "plot " + b_img + " using 1:2:3 with image pixels notitle";
  if (!b_dark.empty())
    s += fmt::format(", \\\n     {} using 1:2:3 with labels font ',{}' textcolor rgb '#1A1A1A' notitle", b_dark, afont);
  if (!b_light.empty())
    s += fmt::format(", \\\n     {} using 1:2:3 with labels font ',{}' textcolor rgb '#FFFFFF' notitle", b_light, afont);
  s += "\n";
  return Plan{std::move(sc), std::move(s), cv, what};
}

// ============================================================ render: AttentionPattern
static Plan plan_of(const AttentionPattern& fig, const RenderOptions& opts) {
  std::string what = fig_name("attention pattern", fig.title);
  int T = (int)fig.weights.size();
  require(T > 0, what + ": no query rows");
  require(T <= 2048, what + ": more than 2048 positions (" + std::to_string(T) + ")");
  for (int i = 0; i < T; ++i)
    require((int)fig.weights[i].size() >= i + 1 && (int)fig.weights[i].size() <= T,
            fmt::format("{}: query row {} has {} weights, expected between {} and {}", what, i, fig.weights[i].size(),
                        i + 1, T));
  require(fig.tokens.empty() || (int)fig.tokens.size() == T,
          fmt::format("{}: {} tokens for {} positions", what, fig.tokens.size(), T));
  for (int m : fig.marked_queries)
    require(m >= 0 && m < T, fmt::format("{}: marked query {} outside 0..{}", what, m, T - 1));
  require(std::isfinite(fig.vmax) && fig.vmax > 0, what + ": vmax must be positive");

  bool labelled = !fig.tokens.empty() && T <= fig.label_limit;
  // The plot box is square: ~14 px per position when labelled (so tokens are legible).
  int box = labelled ? std::clamp(T * 14, 380, 820) : 520;
  Canvas cv = canvas(opts, box + 240, box + (labelled ? 190 : 150));
  cv.butt = true;

  Script sc;
  std::string d;
  d.reserve((std::size_t)T * T * 12);
  for (int qi = 0; qi < T; ++qi) {
    for (int k = 0; k < T; ++k) {
      double w = k <= qi && k < (int)fig.weights[qi].size() ? fig.weights[qi][k] : NAN;
      d += std::to_string(k) + " " + std::to_string(qi) + " " + (std::isfinite(w) ? num(w) : "NaN") + "\n";
    }
    d += "\n";
  }
  std::string b = sc.block(d);
  std::string b_marks;
  // The marks live in a gutter left of key 0, ~2% of the width (at least a cell).
  double gutter = std::max(1.1, T * 0.025);
  if (!fig.marked_queries.empty()) {
    std::string m;
    for (int qi : fig.marked_queries) m += fmt::format("{} {}\n", num(-0.5 - gutter / 2), qi);
    b_marks = sc.block(m);
  }

  std::string s = common_style(cv);
  s += "unset grid\nset border 0\nset tics scale 0\nset size square\n";
  s += palette_cmd(kBlues);
  s += fmt::format("set cbrange [0:{}]\nset cbtics out nomirror scale 0.5\n", num(fig.vmax));
  s += "set colorbox vertical\nset cblabel 'attention weight' offset 0.5, 0\n";
  s += fig.title.empty() ? "" : "set title " + q(fig.title) + "\n";
  double x0 = b_marks.empty() ? -0.5 : -0.5 - gutter;
  s += fmt::format("set xrange [{}:{}]\nset yrange [{}:-0.5]\n", num(x0), num(T - 0.5), num(T - 0.5));
  // Masked (future) keys: light grey; the gutter for the marks: white.
  s += fmt::format("set object 1 rect from first -0.5, graph 0 to graph 1, graph 1 behind fc rgb '#F0F0F0' fs solid 1.0 noborder\n");
  if (labelled) {
    double cell_px = std::min(cv.width - 240.0, cv.height - 190.0) / T;
    int tf = std::clamp((int)std::lround(cell_px * 0.62), 6, cv.font_size);
    std::vector<std::string> labels;
    std::size_t longest = 0;
    for (const auto& t : fig.tokens) {
      labels.push_back(display_token(t, 10));
      std::size_t cps = 0;
      for (unsigned char ch : labels.back()) cps += (ch & 0xC0) != 0x80;
      longest = std::max(longest, cps);
    }
    // Rotate key labels when the longest would overrun its column.
    bool rotate = longest * 0.62 * tf * 1.33 > cell_px * 0.95;
    s += tic_list("x", labels, tf, rotate ? "rotate by 90 right" : "");
    s += tic_list("y", labels, tf);
    s += "set xlabel 'key'\nset ylabel 'query'\n";
  } else {
    s += "set xtics autofreq\nset ytics autofreq\nset xlabel 'key position'\nset ylabel 'query position'\n";
  }
  if (!b_marks.empty()) s += "set key inside top right samplen 1\n";
  else s += "unset key\n";
  double ps = std::clamp(40.0 / T, 0.4, 1.2);
  s += "plot " + b + " using 1:2:3 with image pixels notitle";
  if (!b_marks.empty())
    s += fmt::format(", \\\n     {} using 1:2 with points pt 7 ps {} lc {} title {}", b_marks, num(ps), rgb(1),
                     q(fig.mark_label, false));
  s += "\n";
  return Plan{std::move(sc), std::move(s), cv, what};
}

// ============================================================ render: AttentionGrid
static Plan plan_of(const AttentionGrid& fig, const RenderOptions& opts) {
  std::string what = fig_name("attention grid", fig.title);
  const int n = (int)fig.panels.size();
  require(n > 0, what + ": no panels");
  require(n <= 128, what + ": too many panels (" + std::to_string(n) + ", at most 128)");
  const int T = (int)fig.panels[0].size();
  require(T > 0 && T <= 512, fmt::format("{}: {} positions (1..512)", what, T));
  for (int i = 0; i < n; ++i) {
    require((int)fig.panels[i].size() == T, fmt::format("{}: panel {} has {} rows, panel 1 has {}", what, i + 1,
                                                        fig.panels[i].size(), T));
    for (int r = 0; r < T; ++r)
      require((int)fig.panels[i][r].size() == T,
              fmt::format("{}: panel {} row {} has {} weights, expected {}", what, i + 1, r, fig.panels[i][r].size(), T));
  }
  require(fig.panel_titles.empty() || (int)fig.panel_titles.size() == n,
          fmt::format("{}: {} panel titles for {} panels", what, fig.panel_titles.size(), n));
  require(fig.tokens.empty() || (int)fig.tokens.size() == T,
          fmt::format("{}: {} tokens for {} positions", what, fig.tokens.size(), T));
  require(fig.columns >= 0, what + ": negative column count");
  require(std::isfinite(fig.vmax) && fig.vmax > 0, what + ": vmax must be positive");
  const int cols = fig.columns > 0 ? std::min(fig.columns, n) : std::min(5, n);
  const int rows = (n + cols - 1) / cols;
  const bool labelled = !fig.tokens.empty() && T <= fig.label_limit;
  // Square panels; room for token labels on the left column and the bottom row.
  const double box = labelled ? std::clamp(T * 11.0, 170.0, 300.0) : 190.0;
  const double pad_l = labelled ? 78 : 40, pad_b = labelled ? 74 : 34, pad_t = 26, pad_r = 10;
  const double top_band = fig.title.empty() ? 10 : 44, bar_band = 70;
  Canvas cv = canvas(opts, (int)(cols * (box + pad_r) + pad_l + bar_band + 10),
                     (int)(top_band + rows * (box + pad_t) + pad_b + 10));
  cv.butt = true;
  const double W = cv.width, H = cv.height;
  const double cell_w = (W - pad_l - bar_band - 10) / cols, cell_h = (H - top_band - pad_b - 10) / rows;
  require(cell_w > 40 && cell_h > 40, fmt::format("{}: {}x{} pixels are too small for {} x {} panels", what,
                                                  cv.width, cv.height, rows, cols));
  Script sc;
  std::vector<std::string> blocks;
  for (const auto& p : fig.panels) {
    std::string d;
    d.reserve((std::size_t)T * T * 10);
    for (int qi = 0; qi < T; ++qi) {
      for (int k = 0; k < T; ++k) {
        double w = k <= qi ? p[qi][k] : NAN;
        d += std::to_string(k) + " " + std::to_string(qi) + " " + (std::isfinite(w) ? num(w) : "NaN") + "\n";
      }
      d += "\n";
    }
    blocks.push_back(sc.block(d));
  }
  std::vector<std::string> labels;
  for (const auto& t : fig.tokens) labels.push_back(display_token(t, 8));
  const int tf = std::clamp((int)std::lround(cell_h / std::max(T, 1) * 0.7), 5, cv.font_size - 2);

  std::string s = common_style(cv);
  s += "unset grid\nset border 0\nset tics scale 0\n";
  s += palette_cmd(kBlues);
  s += fmt::format("set cbrange [0:{}]\n", num(fig.vmax));
  s += "set multiplot";
  if (!fig.title.empty())
    s += " title " + q(fig.title) + " font " + q(fmt::format("{} Bold,{}", cv.font, cv.font_size + 3));
  s += "\n";
  s += "set title font " + q(fmt::format("{},{}", cv.font, cv.font_size)) + "\n";
  s += fmt::format("set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n", num(T - 0.5), num(T - 0.5));
  for (int i = 0; i < n; ++i) {
    const int r = i / cols, c = i % cols;
    const double x0 = pad_l + c * cell_w, x1 = x0 + cell_w - pad_r;
    const double yt = H - top_band - r * cell_h - pad_t, yb = yt - (cell_h - pad_t);
    s += fmt::format("set lmargin at screen {}\nset rmargin at screen {}\nset tmargin at screen {}\nset bmargin at screen {}\n",
                     num(x0 / W), num(x1 / W), num(yt / H), num(yb / H));
    s += "set object 1 rect from graph 0, graph 0 to graph 1, graph 1 behind fc rgb '#F0F0F0' fs solid 1.0 noborder\n";
    s += "set title " + q(fig.panel_titles.empty() ? std::to_string(i) : fig.panel_titles[i]) + "\n";
    const bool left = c == 0, bottom = i + cols >= n;
    if (labelled && bottom) s += tic_list("x", labels, tf, "nomirror rotate by 90 right");
    else s += "unset xtics\n";
    if (labelled && left) s += tic_list("y", labels, tf, "nomirror");
    else s += "unset ytics\n";
    // One colour bar, right of the last panel of the first row.
    if (i == std::min(cols, n) - 1)
      s += fmt::format("set colorbox user origin screen {}, screen {} size screen {}, screen {}\nset cbtics out "
                       "nomirror scale 0.5 font ',{}'\n",
                       num((x1 + 14) / W), num(yb / H), num(12 / W), num((yt - yb) / H), cv.font_size - 2);
    else
      s += "unset colorbox\n";
    s += "plot " + blocks[i] + " using 1:2:3 with image pixels notitle\n";
  }
  s += "unset multiplot\n";
  return Plan{std::move(sc), std::move(s), cv, what};
}

// ============================================================ render: BarPlot
static Plan plan_of(const BarPlot& fig, const RenderOptions& opts) {
  std::string what = fig_name("bar plot", fig.title);
  int ns = (int)fig.series.size();
  require(ns > 0, what + ": no series");
  int n = fig.categories.empty() ? (int)fig.series[0].values.size() : (int)fig.categories.size();
  require(n > 0, what + ": no categories");
  require(n <= 100000, what + ": too many categories");
  for (const auto& se : fig.series) {
    require((int)se.values.size() == n,
            fmt::format("{}: series '{}' has {} values for {} categories", what, shown(se.name), se.values.size(), n));
    require(se.errors.empty() || (int)se.errors.size() == n,
            fmt::format("{}: series '{}' has {} error bars for {} categories", what, shown(se.name), se.errors.size(), n));
  }
  for (int h : fig.highlight)
    require(h >= 0 && h < n, fmt::format("{}: highlighted category {} outside 0..{}", what, h, n - 1));
  require(fig.highlight.empty() || ns == 1, what + ": highlight needs exactly one series");

  bool many = n > 40;
  Canvas cv = canvas(opts, std::clamp(200 + n * ns * (many ? 4 : 26), 640, 1100), 480);
  Extent ey;
  for (const auto& se : fig.series)
    for (int i = 0; i < n; ++i) {
      ey.add(se.values[i], fig.log_y);
      if (!se.errors.empty() && std::isfinite(se.errors[i])) {
        ey.add(se.values[i] + std::abs(se.errors[i]), fig.log_y);
        ey.add(se.values[i] - std::abs(se.errors[i]), fig.log_y);
      }
    }

  Script sc;
  std::string s = common_style(cv);
  s += "set grid noxtics ytics\nset mxtics 1\n";
  s += fig.title.empty() ? "" : "set title " + q(fig.title) + "\n";
  s += "set xlabel " + q(fig.xlabel) + "\nset ylabel " + q(fig.ylabel) + "\n";
  s += legend_cmd(fig.legend);
  s += fmt::format("set xrange [-0.6:{}]\n", num(n - 0.4));
  Range yr = fig.y_range;
  // Headroom above the tallest bar for a legend inside the top of the plot.
  bool key_on_top = fig.legend == Legend::TopRight || fig.legend == Legend::TopLeft;
  bool headroom = key_on_top && std::isnan(fig.y_range.hi) && !ey.empty();
  if (fig.log_y) {
    s += "set logscale y 10\n";
    if (std::isnan(yr.lo) && !ey.empty()) yr.lo = std::pow(10.0, int_pow10_floor(ey.lo));  // bars need a base
    if (headroom && yr.lo > 0 && ey.hi > yr.lo) yr.hi = ey.hi * std::pow(ey.hi / yr.lo, 0.22);
    yr = log_range(yr, ey);
    s += log_tics("y", yr.lo, yr.hi);
  } else {
    if (std::isnan(yr.lo) && (ey.empty() || ey.lo >= 0)) yr.lo = 0;
    if (headroom && ey.hi > 0) yr.hi = ey.hi * 1.2;
  }
  s += range_cmd("y", yr);
  // Category tics.
  if (n <= fig.label_limit) {
    std::vector<std::string> labels;
    std::size_t longest = 0;
    for (int i = 0; i < n; ++i) {
      labels.push_back(fig.categories.empty() ? std::to_string(i) : display_token(fig.categories[i], 16));
      longest = std::max(longest, labels.back().size());
    }
    bool rotate = longest > 4 && n > 6;
    s += tic_list("x", labels, n > 24 ? cv.font_size - 2 : 0, rotate ? "rotate by 45 right" : "");
  } else {
    s += "set xtics autofreq\n";
  }
  for (const auto& h : fig.hlines) {
    require(std::isfinite(h.at), what + ": horizontal line at a non-finite y");
    s += fmt::format("set arrow from graph 0, first {} to graph 1, first {} nohead dt (4,4) lw 1.2 lc rgb '{}' front\n",
                     num(h.at), num(h.at), kRefColor);
    if (!h.label.empty())
      s += fmt::format("set label {} at graph 0.01, first {} left offset 0, character 0.6 font ',9' "
                       "textcolor rgb '{}' front\n",
                       q(h.label, false), num(h.at), kRefColor);
  }

  double group = ns == 1 ? 0.8 : 0.82;
  double bw = group / ns;
  std::vector<std::string> clauses, errs;
  int auto_color = 0;
  for (int si = 0; si < ns; ++si) {
    const auto& se = fig.series[si];
    int color = se.color >= 0 ? se.color : auto_color++;
    std::string d, e;
    for (int i = 0; i < n; ++i) {
      double v = se.values[i];
      if (!std::isfinite(v) || (fig.log_y && v <= 0)) continue;
      double x = i - group / 2 + bw * (si + 0.5);
      bool hl = std::find(fig.highlight.begin(), fig.highlight.end(), i) != fig.highlight.end();
      RGB c = parse_hex(palette_color(hl ? fig.highlight_color : color));
      long packed = (long)std::lround(c.r * 255) * 65536 + (long)std::lround(c.g * 255) * 256 + std::lround(c.b * 255);
      d += fmt::format("{} {} {} {}\n", num(x), num(v), num(bw * (many ? 1.0 : 0.92)), packed);
      if (!se.errors.empty() && std::isfinite(se.errors[i]) && se.errors[i] != 0) {
        double err = std::abs(se.errors[i]);
        double lo = v - err, hi = v + err;
        if (fig.log_y && lo <= 0) lo = v * 1e-3;  // a bar reaching zero on a log axis: draw to the bottom
        e += fmt::format("{} {} {} {}\n", num(x), num(lo), num(hi), num(std::min(0.12, bw * 0.22)));
      }
    }
    std::string title = se.name.empty() ? "notitle" : "title " + q(se.name, false);
    if (d.empty()) {
      clauses.push_back(fmt::format("keyentry with boxes fc {} {}", rgb(color), title));
      continue;
    }
    std::string b = sc.block(d);
    clauses.push_back(fmt::format("{} using 1:2:3:4 with boxes fs solid 0.9 noborder lc rgb variable {}", b, title));
    if (!e.empty()) {
      // Error bars as a stem and two caps (gnuplot's errorbars punch a hole for a point).
      std::string eb = sc.block(e);
      const char* style = "with vectors nohead lw 1 lc rgb '#333333' notitle";
      errs.push_back(fmt::format("{} using 1:2:(0):($3-$2) {}", eb, style));
      errs.push_back(fmt::format("{} using ($1-$4):2:(2*$4):(0) {}", eb, style));
      errs.push_back(fmt::format("{} using ($1-$4):3:(2*$4):(0) {}", eb, style));
    }
  }
  // boxes with `lc rgb variable` show the first bar's colour in the legend; give
  // the legend explicit entries instead.
  std::string s_plot = "plot ";
  bool first = true;
  auto add = [&](const std::string& c) {
    s_plot += (first ? "" : ", \\\n     ") + c;
    first = false;
  };
  for (auto& c : clauses) {
    auto pos = c.find(" title ");
    if (c.rfind("keyentry", 0) == 0 || pos == std::string::npos) add(c);
    else add(c.substr(0, pos) + " notitle");
  }
  auto_color = 0;
  for (int si = 0; si < ns; ++si) {
    const auto& se = fig.series[si];
    int color = se.color >= 0 ? se.color : auto_color++;
    if (!se.name.empty()) add(fmt::format("keyentry with boxes fs solid 0.9 noborder fc {} title {}", rgb(color), q(se.name, false)));
  }
  if (!fig.highlight.empty() && !fig.highlight_label.empty())
    add(fmt::format("keyentry with boxes fs solid 0.9 noborder fc {} title {}", rgb(fig.highlight_color),
                    q(fig.highlight_label, false)));
  for (auto& c : errs) add(c);
  s += s_plot + "\n";
  return Plan{std::move(sc), std::move(s), cv, what};
}

// ============================================================ render: VectorField
static Plan plan_of(const VectorField& fig, const RenderOptions& opts) {
  std::string what = fig_name("vector field", fig.title);
  std::size_t n = fig.x.size();
  require(fig.y.size() == n && fig.dx.size() == n && fig.dy.size() == n,
          fmt::format("{}: x, y, dx, dy have {}, {}, {}, {} values (must be equal)", what, fig.x.size(), fig.y.size(),
                      fig.dx.size(), fig.dy.size()));
  for (const auto& t : fig.trajectories)
    require(t.x.size() == t.y.size(),
            fmt::format("{}: trajectory '{}': x has {} values, y has {}", what, shown(t.name), t.x.size(), t.y.size()));
  Canvas cv = canvas(opts, 780, 600);

  Extent ex, ey;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(fig.x[i]) && std::isfinite(fig.y[i])) ex.add(fig.x[i], false), ey.add(fig.y[i], false);
  for (const auto& t : fig.trajectories)
    for (std::size_t i = 0; i < t.x.size(); ++i)
      if (std::isfinite(t.x[i]) && std::isfinite(t.y[i])) ex.add(t.x[i], false), ey.add(t.y[i], false);
  require(!ex.empty(), what + ": nothing to plot (no finite points)");
  auto resolve = [](Range r, Extent e) {
    double span = e.hi - e.lo;
    if (!(span > 0)) span = std::max(1.0, std::abs(e.hi));
    if (std::isnan(r.lo)) r.lo = e.lo - 0.04 * span;
    if (std::isnan(r.hi)) r.hi = e.hi + 0.04 * span;
    if (!(r.hi > r.lo)) r.hi = r.lo + 1;
    return r;
  };
  Range xr = resolve(fig.x_range, ex), yr = resolve(fig.y_range, ey);
  double sx = xr.hi - xr.lo, sy = yr.hi - yr.lo;

  // Grid spacing from the number of distinct arrow positions on each axis.
  auto distinct = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return std::max<std::size_t>(1, v.size());
  };
  std::size_t nx = distinct(fig.x), ny = distinct(fig.y);
  // Work in approximate plot-box pixels so that equal lengths look equal.
  double bw = cv.width - 200.0, bh = cv.height - 130.0;
  double cell_px = std::min(bw / (double)nx, bh / (double)ny);
  double len_px = 0.8 * cell_px;
  double max_speed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double sp = std::hypot(fig.dx[i] / sx * bw, fig.dy[i] / sy * bh);
    if (std::isfinite(sp)) max_speed = std::max(max_speed, sp);
  }
  Script sc;
  std::string arrows;
  Extent espeed;
  for (std::size_t i = 0; i < n; ++i) {
    double X = fig.x[i], Y = fig.y[i], DX = fig.dx[i], DY = fig.dy[i];
    if (!std::isfinite(X) || !std::isfinite(Y) || !std::isfinite(DX) || !std::isfinite(DY)) continue;
    double px = DX / sx * bw, py = DY / sy * bh;
    double sp_px = std::hypot(px, py);
    double speed = std::hypot(DX, DY);
    if (!(sp_px > 0)) continue;
    double scale = fig.normalize ? len_px / sp_px : (max_speed > 0 ? len_px / max_speed : 0);
    double ax = px * scale / bw * sx, ay = py * scale / bh * sy;
    double c = std::log10(speed);
    espeed.add(c, false);
    // Centre the arrow on its grid point.
    arrows += fmt::format("{} {} {} {} {}\n", num(X - ax / 2), num(Y - ay / 2), num(ax), num(ay), num(c));
  }

  std::string s = common_style(cv);
  s += "set grid front\nset grid noxtics noytics\n";
  s += fig.title.empty() ? "" : "set title " + q(fig.title) + "\n";
  s += "set xlabel " + q(fig.xlabel) + "\nset ylabel " + q(fig.ylabel) + "\n";
  s += legend_cmd(fig.legend);
  s += range_cmd("x", xr) + range_cmd("y", yr);
  std::vector<std::string> clauses;
  if (!arrows.empty()) {
    std::string b = sc.block(arrows);
    s += palette_cmd(kSpeed);
    double lo = espeed.lo, hi = espeed.hi;
    if (!(hi > lo)) lo -= 0.5, hi += 0.5;
    s += fmt::format("set cbrange [{}:{}]\nset cbtics out nomirror scale 0.5\n", num(lo), num(hi));
    s += "set colorbox vertical\nset cblabel " + q(fig.speed_label) + " offset 0.5, 0\n";
    double head = std::clamp(len_px * 0.32, 2.5, 10.0);
    clauses.push_back(fmt::format("{} using 1:2:3:4:5 with vectors head size screen {},25 filled lw {} lc palette notitle",
                                  b, num(head / cv.width), len_px < 14 ? "0.8" : "1.1"));
  } else {
    s += "unset colorbox\n";
  }
  int auto_color = 1;  // trajectories start at vermillion: they stand out from the blue arrows
  for (const auto& t : fig.trajectories) {
    int color = t.color >= 0 ? t.color : auto_color++;
    std::string d, start;
    bool gap = false, any = false;
    for (std::size_t i = 0; i < t.x.size(); ++i) {
      if (!std::isfinite(t.x[i]) || !std::isfinite(t.y[i])) {
        if (any && !gap) d += "\n";
        gap = true;
        continue;
      }
      if (!any) start = num(t.x[i]) + " " + num(t.y[i]) + "\n";
      any = true;
      gap = false;
      d += num(t.x[i]) + " " + num(t.y[i]) + "\n";
    }
    std::string title = t.name.empty() ? "notitle" : "title " + q(t.name, false);
    if (!any) continue;
    std::string dt = t.style == SeriesStyle::Fitted ? " dt (9,6)" : "";
    clauses.push_back(fmt::format("{} using 1:2 with lines lw {}{} lc {} {}", sc.block(d), t.width, dt, rgb(color), title));
    clauses.push_back(fmt::format("{} using 1:2 with points pt 7 ps 1.0 lc {} notitle", sc.block(start), rgb(color)));
  }
  if (clauses.empty()) clauses.push_back("NaN notitle");
  s += "plot ";
  for (std::size_t i = 0; i < clauses.size(); ++i) s += (i ? ", \\\n     " : "") + clauses[i];
  s += "\n";
  return Plan{std::move(sc), std::move(s), cv, what};
}

// ============================================================ public entry points
Rendered render(const LinePlot& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const LinePlot& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const SmallMultiples& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const SmallMultiples& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const Heatmap& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const Heatmap& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const AttentionPattern& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const AttentionPattern& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const AttentionGrid& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const AttentionGrid& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const BarPlot& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const BarPlot& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }
Rendered render(const VectorField& fig, const std::string& png_path, const RenderOptions& opts) {
  return run_plan(plan_of(fig, opts), png_path, opts);
}
std::string gnuplot_script(const VectorField& fig, const RenderOptions& opts) { return preview_script(plan_of(fig, opts), opts); }

}  // namespace sinklab::report
