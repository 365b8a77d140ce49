#include "report/core/html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "io/error.h"
#include "io/files.h"

namespace sinklab::report {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0, n = bytes.size();
  for (; i + 3 <= n; i += 3) {
    unsigned v = ((unsigned char)bytes[i] << 16) | ((unsigned char)bytes[i + 1] << 8) | (unsigned char)bytes[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned char)bytes[i] << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (n - i == 2) {
    unsigned v = ((unsigned char)bytes[i] << 16) | ((unsigned char)bytes[i + 1] << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string png_data_uri(const std::string& png_bytes) { return "data:image/png;base64," + base64_encode(png_bytes); }

std::string format_measured(double v) {
  if (std::isnan(v)) return "—";
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  return fmt::format("{:.4g}", v);
}

namespace {

const char* kCss = R"CSS(
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --alt:#f6f8fa;
        --pass:#1a7f37; --passbg:#dafbe1; --fail:#cf222e; --failbg:#ffebe9; --nrbg:#eaeef2; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.9em; margin: 0.2em 0 0.1em; }
.subtitle { color: var(--muted); margin: 0 0 1em; }
h2 { font-size: 1.4em; margin: 1.8em 0 0.5em; padding-bottom: 0.25em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15em; margin: 1.4em 0 0.4em; }
nav.toc { background: var(--alt); border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px; }
nav.toc ol { margin: 0.3em 0; padding-left: 1.4em; }
nav.toc a { color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: 0.8em 0 1.2em; font-size: 0.92em; width: auto; max-width: 100%; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--alt); font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.verdict { font-weight: 700; text-align: center; white-space: nowrap; }
td.verdict.pass { color: var(--pass); background: var(--passbg) !important; }
td.verdict.fail { color: var(--fail); background: var(--failbg) !important; }
td.verdict.notrun { color: var(--muted); background: var(--nrbg) !important; }
td.verdict.inconclusive { color: #9a6700; background: #fff8c5 !important; }
td.measures { white-space: normal; }
td.measures div { margin: 0 0 3px; }
td.measures .seeds { color: var(--muted); font-size: 0.9em; }
.mv.pass { color: var(--pass); } .mv.fail { color: var(--fail); } .mv.inconclusive { color: #9a6700; }
tr.fail td:first-child { box-shadow: inset 4px 0 0 var(--fail); }
.summary { font-weight: 600; }
.summary .pass { color: var(--pass); } .summary .fail { color: var(--fail); } .summary .notrun { color: var(--muted); }
.summary .inconclusive { color: #9a6700; }
figure { margin: 1em 0 1.4em; }
figure img, figure svg { max-width: 100%; height: auto; border: 1px solid #eef0f2; }
figcaption { color: var(--muted); font-size: 0.92em; margin-top: 4px; }
.figrow { display: flex; flex-wrap: wrap; gap: 12px; }
.figrow figure { flex: 1 1 300px; margin: 0.5em 0; }
pre { background: var(--alt); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
      overflow-x: auto; font: 0.88em/1.45 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.figure-note { border: 1px solid var(--fail); background: var(--failbg); color: var(--fail); border-radius: 6px;
               padding: 10px 14px; font-weight: 600; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 0.85em; margin-top: 3em; border-top: 1px solid var(--line); padding-top: 0.6em; }
)CSS";

// "pass" / "fail" / "notrun" if the cell is a verdict word, else "".
std::string verdict_class(const std::string& cell) {
  std::string u;
  for (char c : cell) {
    if (c == ' ' || c == '-') c = '_';
    u += (char)std::toupper((unsigned char)c);
  }
  if (u == "PASS") return "pass";
  if (u == "FAIL") return "fail";
  if (u == "NOT_RUN") return "notrun";
  if (u == "INCONCLUSIVE") return "inconclusive";
  return "";
}

bool looks_numeric(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string lower_ext(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  for (auto& c : e) c = (char)std::tolower((unsigned char)c);
  return e;
}

// The SVG element of an SVG file (no XML prolog or doctype), safe to inline.
std::string inline_svg(const std::string& text, const std::string& path) {
  auto p = text.find("<svg");
  require(p != std::string::npos, "'" + path + "' is not an SVG file (no <svg> element)");
  auto e = text.rfind("</svg>");
  require(e != std::string::npos && e > p, "'" + path + "' is not a complete SVG file");
  std::string svg = text.substr(p, e + 6 - p);
  require(svg.find("<script") == std::string::npos, "'" + path + "': refusing to inline an SVG with a <script>");
  return svg;
}

std::string image_html(const std::string& path, const std::string& alt, int width_percent) {
  std::string ext = lower_ext(path);
  std::string bytes = read_file(path);
  std::string style = width_percent > 0 && width_percent < 100 ? fmt::format(" style=\"width:{}%\"", width_percent) : "";
  if (ext == ".png") {
    require(bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0, "'" + path + "' is not a PNG file");
    return "<img src=\"" + png_data_uri(bytes) + "\" alt=\"" + html_escape(alt) + "\"" + style + ">";
  }
  if (ext == ".svg") {
    std::string svg = inline_svg(bytes, path);
    return style.empty() ? svg : "<div" + style + ">" + svg + "</div>";
  }
  fail("cannot embed '" + path + "' in the report: only .png and .svg figures are supported");
}

}  // namespace

HtmlReport::HtmlReport(std::string title, std::string subtitle)
    : title_(std::move(title)), subtitle_(std::move(subtitle)) {}

HtmlReport& HtmlReport::section(const std::string& heading, int level) {
  require(level == 2 || level == 3, "report section level must be 2 or 3");
  std::string id = "s" + std::to_string(++next_id_);
  if (level == 2) toc_.emplace_back(id, heading);
  body_ += fmt::format("<h{0} id=\"{1}\">{2}</h{0}>\n", level, id, html_escape(heading));
  return *this;
}

HtmlReport& HtmlReport::paragraph(const std::string& text) {
  body_ += "<p>" + html_escape(text) + "</p>\n";
  return *this;
}

HtmlReport& HtmlReport::list(const std::vector<std::string>& items) {
  body_ += "<ul>\n";
  for (const auto& i : items) body_ += "<li>" + html_escape(i) + "</li>\n";
  body_ += "</ul>\n";
  return *this;
}

HtmlReport& HtmlReport::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                              const std::string& caption) {
  std::string t = "<table>\n";
  if (!caption.empty()) t += "<caption>" + html_escape(caption) + "</caption>\n";
  if (!header.empty()) {
    t += "<thead><tr>";
    for (const auto& h : header) t += "<th>" + html_escape(h) + "</th>";
    t += "</tr></thead>\n";
  }
  t += "<tbody>\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    require(header.empty() || row.size() <= header.size(),
            fmt::format("report table '{}': row {} has {} cells, header has {}", caption, r, row.size(), header.size()));
    std::size_t ncell = header.empty() ? row.size() : header.size();
    bool failing = false;
    std::string cells;
    for (std::size_t c = 0; c < ncell; ++c) {
      std::string v = c < row.size() ? row[c] : "";
      std::string vc = verdict_class(v);
      failing |= vc == "fail";
      if (!vc.empty()) cells += "<td class=\"verdict " + vc + "\">" + html_escape(v) + "</td>";
      else if (looks_numeric(v)) cells += "<td class=\"num\">" + html_escape(v) + "</td>";
      else cells += "<td>" + html_escape(v) + "</td>";
    }
    t += std::string(failing ? "<tr class=\"fail\">" : "<tr>") + cells + "</tr>\n";
  }
  t += "</tbody>\n</table>\n";
  body_ += t;
  return *this;
}

HtmlReport& HtmlReport::claims(const std::vector<Claim>& claims) {
  ClaimSummary s = summarize(claims);
  body_ += fmt::format(
      "<p class=\"summary\">{} claims: <span class=\"pass\">{} pass</span>, <span class=\"fail\">{} fail</span>, "
      "<span class=\"inconclusive\">{} inconclusive</span>, <span class=\"notrun\">{} not run</span></p>\n",
      claims.size(), s.pass, s.fail, s.inconclusive, s.not_run);
  auto cls = [](Verdict v) -> std::string {
    return v == Verdict::PASS ? "pass" : v == Verdict::FAIL ? "fail" : v == Verdict::INCONCLUSIVE ? "inconclusive" : "notrun";
  };
  std::string t = "<table class=\"claims\">\n<thead><tr><th>id</th><th>claim</th><th>metric</th><th>measured</th>"
                  "<th>threshold</th><th>verdict</th><th>note</th></tr></thead>\n<tbody>\n";
  for (const auto& c : claims) {
    std::string vc = cls(c.verdict);
    t += "<tr class=\"" + vc + "\">";
    t += "<td>" + html_escape(c.id) + "</td>";
    t += "<td>" + html_escape(c.claim) + "</td>";
    t += "<td>" + html_escape(c.metric) + "</td>";
    if (c.measures.empty()) {
      t += "<td class=\"num\">" + html_escape(format_measured(c.measured)) + "</td>";
      t += "<td>" + html_escape(c.threshold) + "</td>";
    } else {
      // One line per measure: median [95% interval], the per-seed values, its own verdict.
      std::string cell, thr;
      for (const auto& m : c.measures) {
        std::string per;
        for (size_t i = 0; i < m.per_seed.size(); ++i)
          per += (i ? ", " : "") + (i < c.seeds.size() ? "s" + std::to_string(c.seeds[i]) + " " : "") +
                 format_measured(m.per_seed[i]);
        cell += "<div><span class=\"mv " + cls(m.verdict) + "\">" + html_escape(m.name) + ": " +
                html_escape(format_measured(m.median)) + " [" + html_escape(format_measured(m.lo)) + ", " +
                html_escape(format_measured(m.hi)) + "]</span> <span class=\"seeds\">(" + html_escape(per) +
                ")</span></div>";
        thr += "<div>" + html_escape(m.op + " " + format_measured(m.threshold)) + "</div>";
      }
      t += "<td class=\"measures\">" + cell + "</td><td>" + thr + "</td>";
    }
    t += "<td class=\"verdict " + vc + "\">" + verdict_name(c.verdict) + "</td>";
    t += "<td>" + html_escape(c.note) + "</td>";
    t += "</tr>\n";
  }
  t += "</tbody>\n</table>\n";
  if (std::any_of(claims.begin(), claims.end(), [](const Claim& c) { return !c.measures.empty(); }))
    t += "<p class=\"note\">Measured: median over seeds [95% interval: Student's t interval of the mean], then "
         "each seed's value. A measure passes when its whole interval is on the passing side of its threshold, fails "
         "when the whole interval is on the failing side, and is inconclusive otherwise; a claim passes when all its "
         "measures pass and fails when any fails.</p>\n";
  body_ += t;
  return *this;
}

HtmlReport& HtmlReport::figure(const std::string& image_path, const std::string& caption, int width_percent) {
  std::string alt = caption.empty() ? std::filesystem::path(image_path).filename().string() : caption;
  body_ += "<figure>" + image_html(image_path, alt, width_percent);
  if (!caption.empty()) body_ += "<figcaption>" + html_escape(caption) + "</figcaption>";
  body_ += "</figure>\n";
  return *this;
}

HtmlReport& HtmlReport::figure_row(const std::vector<std::string>& image_paths,
                                   const std::vector<std::string>& captions) {
  require(captions.empty() || captions.size() == image_paths.size(),
          fmt::format("report figure row: {} captions for {} figures", captions.size(), image_paths.size()));
  body_ += "<div class=\"figrow\">\n";
  for (std::size_t i = 0; i < image_paths.size(); ++i) {
    std::string cap = captions.empty() ? "" : captions[i];
    std::string alt = cap.empty() ? std::filesystem::path(image_paths[i]).filename().string() : cap;
    body_ += "<figure>" + image_html(image_paths[i], alt, 100);
    if (!cap.empty()) body_ += "<figcaption>" + html_escape(cap) + "</figcaption>";
    body_ += "</figure>\n";
  }
  body_ += "</div>\n";
  return *this;
}

std::string HtmlReport::figure_html(const FigureResult& result, const std::string& caption, int width_percent) {
  std::string cap = caption.empty() ? "" : "<figcaption>" + html_escape(caption) + "</figcaption>";
  std::string name = caption.empty() ? std::filesystem::path(result.png).filename().string() : caption;
  std::string error = result.error;
  if (result.ok()) {
    try {
      return "<figure>" + image_html(result.png, name, width_percent) + cap + "</figure>\n";
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = one_line_error(error);
  warnings_.push_back((name.empty() ? std::string("a figure") : "figure '" + one_line_error(name) + "'") +
                      " could not be drawn: " + error);
  return "<figure class=\"missing\"><div class=\"figure-note\">figure could not be drawn: " + html_escape(error) +
         "</div>" + cap + "</figure>\n";
}

HtmlReport& HtmlReport::figure(const FigureResult& result, const std::string& caption, int width_percent) {
  body_ += figure_html(result, caption, width_percent);
  return *this;
}

HtmlReport& HtmlReport::figure_row(const std::vector<FigureResult>& results, const std::vector<std::string>& captions) {
  require(captions.empty() || captions.size() == results.size(),
          fmt::format("report figure row: {} captions for {} figures", captions.size(), results.size()));
  body_ += "<div class=\"figrow\">\n";
  for (std::size_t i = 0; i < results.size(); ++i) body_ += figure_html(results[i], captions.empty() ? "" : captions[i], 100);
  body_ += "</div>\n";
  return *this;
}

HtmlReport& HtmlReport::pre(const std::string& text) {
  body_ += "<pre>" + html_escape(text) + "</pre>\n";
  return *this;
}

HtmlReport& HtmlReport::raw(const std::string& html) {
  body_ += html;
  if (!html.empty() && html.back() != '\n') body_ += '\n';
  return *this;
}

std::string HtmlReport::str() const {
  std::string d = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  d += "<title>" + html_escape(title_) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
  d += "<h1>" + html_escape(title_) + "</h1>\n";
  if (!subtitle_.empty()) d += "<p class=\"subtitle\">" + html_escape(subtitle_) + "</p>\n";
  if (toc_.size() >= 2) {
    d += "<nav class=\"toc\"><strong>Contents</strong><ol>\n";
    for (const auto& [id, h] : toc_) d += "<li><a href=\"#" + id + "\">" + html_escape(h) + "</a></li>\n";
    d += "</ol></nav>\n";
  }
  d += body_;
  d += "<footer>Generated by sinklab 0.1.0. This file is self-contained: figures are embedded.</footer>\n";
  d += "</main>\n</body>\n</html>\n";
  return d;
}

void HtmlReport::write(const std::string& path) const { write_file_atomic(path, str()); }

}  // namespace sinklab::report
