// Checks on the gnuplot text sinklab generates, shared by the unit tests
// (test_figure_safety.cpp) and the fuzzer (fuzz/fuzz_gnuplot_text.cpp).
//
// They encode why a string is safe in gnuplot: user text only ever sits inside
// single-quoted pieces (no escapes, no @ macros, no `command` substitution), the
// only double-quoted strings are the constants "'" and "\n", tic labels (printf
// formats to gnuplot) hold '%' only doubled, and no line ends in a backslash
// except a plot clause continuation. Each returns "" when fine, else what is wrong.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sinklab::gnuplot_lint {

inline bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

// True if s is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
inline bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = (unsigned char)s[i];
    int n;
    unsigned cp;
    if (c < 0x80) n = 1, cp = c;
    else if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
    else return false;
    if (i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      unsigned char d = (unsigned char)s[i + k];
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

// Decodes a string expression made by gnuplot_text()/gnuplot_tic_label():
// 'piece' ( . ( 'piece' | "'" | "\n" ) )*. Sets *err when it is not of that form.
inline std::string decode_string_expr(const std::string& e, std::string* err) {
  std::string out;
  std::size_t i = 0;
  bool first = true;
  while (i < e.size()) {
    if (!first) {
      if (e[i] != '.') return *err = "pieces not joined by '.' at byte " + std::to_string(i), out;
      ++i;
    }
    first = false;
    if (i < e.size() && e[i] == '\'') {
      std::size_t j = e.find('\'', i + 1);
      if (j == std::string::npos) return *err = "unterminated single-quoted piece", out;
      out += e.substr(i + 1, j - i - 1);
      i = j + 1;
    } else if (e.compare(i, 3, "\"'\"") == 0) {
      out += '\'';
      i += 3;
    } else if (e.compare(i, 4, "\"\\n\"") == 0) {
      out += '\n';
      i += 4;
    } else {
      return *err = "unexpected byte at " + std::to_string(i) + " (only 'pieces', \"'\" and \"\\n\")", out;
    }
  }
  if (first) *err = "empty expression";
  return out;
}

// '%' appears only as "%%" runs (what gprintf prints as a literal '%').
inline bool percent_doubled(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 1 >= s.size() || s[i + 1] != '%') return false;
    ++i;
  }
  return true;
}

// One command line, outside datablocks.
inline std::string check_command_line(const std::string& line) {
  for (unsigned char c : line)
    if (is_control(c)) return "control byte in a command line";
  if (!line.empty() && line[0] == '#') {
    // A comment ending in a backslash continues onto (and swallows) the next line.
    if (line.back() == '\\') return "comment ends in a backslash";
    return "";
  }
  std::size_t n = line.size();
  bool tic_list = (line.rfind("set ", 0) == 0 && line.find("tics") != std::string::npos &&
                   line.find('(') != std::string::npos);
  for (std::size_t i = 0; i < n; ++i) {
    char c = line[i];
    if (c == '\'') {
      std::size_t j = line.find('\'', i + 1);
      if (j == std::string::npos) return "unbalanced single quote";
      if (tic_list && !percent_doubled(line.substr(i + 1, j - i - 1)))
        return "single '%' in a tic label (gnuplot reads it as a format)";
      i = j;
    } else if (c == '"') {
      // Only the splice constants "'" and "\n".
      if (line.compare(i, 3, "\"'\"") == 0) i += 2;
      else if (line.compare(i, 4, "\"\\n\"") == 0) i += 3;
      else return "double-quoted string other than \"'\" or \"\\n\"";
    } else if (c == '`') {
      return "backquote outside single quotes";
    } else if (c == '@') {
      return "'@' (macro) outside single quotes";
    } else if (c == '#') {
      return "'#' (comment) outside single quotes";
    } else if (c == '\\') {
      // Only a plot clause continuation: ", \" at the end of the line.
      if (i + 1 != n || i < 2 || line.compare(i - 2, 2, ", ") != 0) return "backslash outside quotes";
    }
  }
  return "";
}

// A whole script from gnuplot_script().
inline std::string check_script(const std::string& script) {
  std::vector<std::string> lines;
  std::size_t p = 0;
  while (p <= script.size()) {
    std::size_t e = script.find('\n', p);
    if (e == std::string::npos) {
      if (p < script.size()) lines.push_back(script.substr(p));
      break;
    }
    lines.push_back(script.substr(p, e - p));
    p = e + 1;
  }
  bool in_block = false;
  int blocks = 0;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const std::string& l = lines[k];
    std::string where = "line " + std::to_string(k + 1) + ": ";
    if (in_block) {
      if (l == "EOD") {
        in_block = false;
        continue;
      }
      // Data: numbers, NaN, and at most one "label" column (heatmap annotations).
      std::size_t quotes = 0;
      for (unsigned char c : l) {
        if (is_control(c)) return where + "control byte in a datablock";
        if (c == '`') return where + "backquote in a datablock";
        quotes += c == '"';
      }
      if (quotes != 0 && quotes != 2) return where + "unbalanced quotes in a datablock";
      continue;
    }
    if (l.size() > 3 && l[0] == '$' && l.find(" << EOD") != std::string::npos) {
      in_block = true;
      ++blocks;
      continue;
    }
    std::string e = check_command_line(l);
    if (!e.empty()) return where + e + ": " + l.substr(0, 200);
  }
  if (in_block) return "datablock not closed";
  return "";
}

}  // namespace sinklab::gnuplot_lint
