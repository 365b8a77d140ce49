// A self-contained HTML report: one file, no external resources. Figures are
// embedded inline (PNG as base64 data URIs, SVG inline), CSS is inline.
// Every text argument is HTML-escaped unless the method says "raw".
//
//   HtmlReport r("sinklab reproduce --quick");
//   r.section("Claims").claims(claims);
//   r.section("1-layer softmax Adam").paragraph("...").figure("figures/attn.png", "Attention");
//   r.section("Patterns").figure(try_render(pattern, "figures/p.png"), "Layer 0");  // never throws
//   for (auto& w : r.warnings()) std::cerr << "sinklab: warning: " << w << "\n";
//   r.write("out/report.html");
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "report/core/claims.h"
#include "report/core/figures.h"

namespace sinklab::report {

// Escapes &, <, >, " and '.
std::string html_escape(const std::string& text);
// Standard base64 (RFC 4648, with padding).
std::string base64_encode(const std::string& bytes);
// "data:image/png;base64,..." for PNG bytes.
std::string png_data_uri(const std::string& png_bytes);

class HtmlReport {
 public:
  explicit HtmlReport(std::string title, std::string subtitle = "");

  // <h2> (level 2) or <h3> (level 3) heading; appears in the table of contents when level 2.
  HtmlReport& section(const std::string& heading, int level = 2);
  HtmlReport& paragraph(const std::string& text);
  // A bulleted list.
  HtmlReport& list(const std::vector<std::string>& items);
  // A table. Cells whose whole text is PASS / FAIL / NOT_RUN (any case, also
  // "NOT RUN") get class "verdict pass|fail|notrun" and are coloured. Rows shorter
  // than the header are padded with empty cells; longer rows are an InputError.
  HtmlReport& table(const std::vector<std::string>& header,
                    const std::vector<std::vector<std::string>>& rows,
                    const std::string& caption = "");
  // The claims table: id, claim, metric, measured, threshold, verdict (+ note),
  // preceded by a one-line summary ("5 pass, 1 fail, 1 not run"). Failing claims are
  // shown as failing (red verdict cell and row class "fail"), never hidden.
  HtmlReport& claims(const std::vector<Claim>& claims);
  // A figure from a file: .png embedded as a data URI, .svg inlined; InputError if
  // the file cannot be read or has another extension. width_percent scales it.
  HtmlReport& figure(const std::string& image_path, const std::string& caption = "",
                     int width_percent = 100);
  // A figure from try_render(). Drawn: embedded as above. Not drawn (or the file
  // cannot be embedded): a visible note box "figure could not be drawn: <message>"
  // with the caption, and a line in warnings(). Never throws: one bad label must
  // not cost a report the minutes of work before it.
  HtmlReport& figure(const FigureResult& result, const std::string& caption = "", int width_percent = 100);
  // Several figures side by side in one row (e.g. per-domain heatmaps).
  HtmlReport& figure_row(const std::vector<std::string>& image_paths,
                         const std::vector<std::string>& captions = {});
  // The same from try_render() results; failed ones are note boxes (never throws
  // for a figure; InputError only if captions and results differ in number).
  HtmlReport& figure_row(const std::vector<FigureResult>& results, const std::vector<std::string>& captions = {});
  // figure_row({"a.png", "b.png"}): without this, a braced list of string
  // literals could build either vector (via its iterator-pair constructor).
  HtmlReport& figure_row(std::initializer_list<std::string> image_paths, const std::vector<std::string>& captions = {}) {
    return figure_row(std::vector<std::string>(image_paths), captions);
  }
  // A <pre> block (escaped), e.g. a command line or a config.
  HtmlReport& pre(const std::string& text);
  // Raw HTML appended as is (caller escapes).
  HtmlReport& raw(const std::string& html);

  // One line per figure shown as a note instead of an image ("figure 'caption':
  // could not be drawn: ..."), in report order, for the command to print to stderr.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The whole document.
  std::string str() const;
  // Written atomically (sinklab::write_file_atomic).
  void write(const std::string& path) const;

 private:
  std::string title_, subtitle_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> toc_;  // anchor id, heading
  int next_id_ = 0;
  std::vector<std::string> warnings_;

  // <figure> for a result: the image, or the note (recorded in warnings_).
  std::string figure_html(const FigureResult& result, const std::string& caption, int width_percent);
};

// Formats a measured value for tables: 4 significant digits, "—" for NaN.
std::string format_measured(double v);

}  // namespace sinklab::report
