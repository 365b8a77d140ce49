#include "io/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

#include <fmt/format.h>

#include "io/error.h"
#include "io/files.h"

namespace sinklab {

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

CsvCell::CsvCell(double v) : text(csv_number(v)) {}
CsvCell::CsvCell(int v) : text(std::to_string(v)) {}
CsvCell::CsvCell(long v) : text(std::to_string(v)) {}
CsvCell::CsvCell(long long v) : text(std::to_string(v)) {}
CsvCell::CsvCell(unsigned v) : text(std::to_string(v)) {}
CsvCell::CsvCell(unsigned long v) : text(std::to_string(v)) {}
CsvCell::CsvCell(unsigned long long v) : text(std::to_string(v)) {}

std::string csv_quote(const std::string& field) {
  bool need = field.find_first_of(",\"\r\n") != std::string::npos ||
              (!field.empty() && (field.front() == ' ' || field.back() == ' ' ||
                                  field.front() == '\t' || field.back() == '\t')) ||
              field.compare(0, 3, "\xEF\xBB\xBF") == 0;  // would be taken for a byte-order mark
  if (!need) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

CsvWriter::CsvWriter(std::vector<std::string> header) : header_(std::move(header)) {
  require(!header_.empty(), "CSV writer: empty header");
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < header_.size(); ++i) {
    require(!header_[i].empty(), "CSV writer: empty column name at position " + std::to_string(i));
    require(seen.insert(header_[i]).second, "CSV writer: duplicate column '" + header_[i] + "'");
    if (i) text_ += ',';
    text_ += csv_quote(header_[i]);
  }
  text_ += '\n';
}

CsvWriter& CsvWriter::add_row(const std::vector<CsvCell>& cells) {
  require(cells.size() == header_.size(),
          "CSV writer: row " + std::to_string(rows_ + 1) + " has " + std::to_string(cells.size()) +
              " cells, header has " + std::to_string(header_.size()));
  // A lone empty field is quoted: a blank line would read back as no row at all.
  if (cells.size() == 1 && cells[0].text.empty()) {
    text_ += "\"\"\n";
    ++rows_;
    return *this;
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) text_ += ',';
    text_ += csv_quote(cells[i].text);
  }
  text_ += '\n';
  ++rows_;
  return *this;
}

CsvWriter& CsvWriter::add_numbers(const std::vector<double>& values) {
  std::vector<CsvCell> cells(values.begin(), values.end());
  return add_row(cells);
}

void CsvWriter::write(const std::string& path) const { write_file_atomic(path, text_); }

void write_csv_columns(const std::string& path, const std::vector<std::string>& header,
                       const std::vector<std::vector<double>>& columns) {
  require(header.size() == columns.size(), "CSV '" + path + "': " + std::to_string(header.size()) +
                                               " column names for " + std::to_string(columns.size()) +
                                               " columns");
  CsvWriter w(header);
  std::size_t n = columns.empty() ? 0 : columns[0].size();
  for (std::size_t c = 0; c < columns.size(); ++c)
    require(columns[c].size() == n, "CSV '" + path + "': column '" + header[c] + "' has " +
                                        std::to_string(columns[c].size()) + " values, expected " +
                                        std::to_string(n));
  std::vector<double> row(columns.size());
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) row[c] = columns[c][r];
    w.add_numbers(row);
  }
  w.write(path);
}

// ---------------------------------------------------------------- reading

bool CsvData::has(const std::string& column) const {
  for (const auto& h : header)
    if (h == column) return true;
  return false;
}

std::size_t CsvData::index(const std::string& column) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == column) return i;
  std::string cols;
  for (std::size_t i = 0; i < header.size(); ++i) cols += (i ? ", " : "") + header[i];
  fail(source + ": no column '" + column + "' (columns: " + cols + ")");
}

std::vector<std::string> CsvData::strings(const std::string& column) const {
  std::size_t c = index(column);
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r[c]);
  return out;
}

namespace {

bool parse_double(const std::string& s, double& out) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  if (b == e) {
    out = std::nan("");
    return true;
  }
  std::string t = s.substr(b, e - b);
  // Hex floats and the like are not numbers a CSV writer produces.
  if (t.find_first_of("xXpP") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return false;
  // Overflow to inf is allowed only if the text says inf.
  if (errno == ERANGE && std::isinf(v)) return false;
  out = v;
  return true;
}

}  // namespace

double CsvData::number(std::size_t row, const std::string& column) const {
  std::size_t c = index(column);
  require(row < rows.size(), source + ": row " + std::to_string(row) + " out of range (" +
                                 std::to_string(rows.size()) + " rows)");
  double v;
  if (!parse_double(rows[row][c], v)) {
    std::string cell = rows[row][c].size() > 40 ? rows[row][c].substr(0, 40) + "..." : rows[row][c];
    fail(source + ":" + std::to_string(row < row_lines.size() ? row_lines[row] : row + 2) +
         ": column '" + column + "': not a number: '" + cell + "'");
  }
  return v;
}

std::vector<double> CsvData::numbers(const std::string& column) const {
  index(column);  // fail early with the column list
  std::vector<double> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) out[r] = number(r, column);
  return out;
}

CsvData parse_csv(const std::string& text, const std::string& source) {
  CsvData d;
  d.source = source;
  std::size_t i = 0, n = text.size();
  if (n >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
      (unsigned char)text[2] == 0xBF)
    i = 3;
  std::size_t line = 1;
  bool have_header = false;
  while (i < n) {
    // Skip blank lines (only outside records).
    if (text[i] == '\n') { ++line; ++i; continue; }
    if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') { ++line; i += 2; continue; }
    std::size_t start_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool done = false;
    while (!done) {
      field.clear();
      if (i < n && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') { field += '"'; i += 2; continue; }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (!closed) fail(source + ":" + std::to_string(start_line) + ": unterminated quoted field");
        if (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') &&
            !(text[i] == '\r' && i + 1 == n))
          fail(source + ":" + std::to_string(line) + ": unexpected text after a closing quote");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"')
            fail(source + ":" + std::to_string(line) + ": stray quote in an unquoted field");
          field += text[i++];
        }
        if (i < n && text[i] == '\r' && !(i + 1 < n && text[i + 1] == '\n') && i + 1 != n)
          fail(source + ":" + std::to_string(line) + ": bare carriage return");
      }
      fields.push_back(field);
      if (i < n && text[i] == ',') { ++i; continue; }
      // End of record.
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') { ++i; ++line; }
      done = true;
    }
    if (!have_header) {
      std::unordered_set<std::string> seen;
      for (std::size_t k = 0; k < fields.size(); ++k) {
        require(!fields[k].empty(), source + ":" + std::to_string(start_line) + ": empty column name in the header (column " + std::to_string(k + 1) + ")");
        require(seen.insert(fields[k]).second,
                source + ":" + std::to_string(start_line) + ": duplicate column '" + fields[k] + "' in the header");
      }
      d.header = std::move(fields);
      have_header = true;
    } else {
      if (fields.size() != d.header.size())
        fail(source + ":" + std::to_string(start_line) + ": expected " + std::to_string(d.header.size()) +
             " fields, got " + std::to_string(fields.size()));
      d.rows.push_back(std::move(fields));
      d.row_lines.push_back(start_line);
    }
  }
  require(have_header, source + ": empty CSV (no header)");
  return d;
}

CsvData read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

}  // namespace sinklab
