// Tiny CSV writer and reader (RFC 4180 quoting) for the numbers behind every
// figure: runs/<name>/analysis/*.csv, llm scan tables, theory trajectories.
//
// Numbers are written in the shortest form that round-trips exactly; non-finite
// values as "nan", "inf", "-inf". The reader accepts those, and an empty cell
// reads as NaN in numbers(). Every malformed input is an InputError that names the
// source (file path), the line and, for numbers, the column.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sinklab {

// One cell of a row: a number or a string.
struct CsvCell {
  CsvCell(double v);
  CsvCell(float v) : CsvCell(static_cast<double>(v)) {}
  CsvCell(int v);
  CsvCell(long v);
  CsvCell(long long v);
  CsvCell(unsigned v);
  CsvCell(unsigned long v);
  CsvCell(unsigned long long v);
  CsvCell(std::string s) : text(std::move(s)) {}
  CsvCell(const char* s) : text(s) {}
  std::string text;  // already formatted
};

// Formats a double the way CsvWriter does (shortest exact round-trip).
std::string csv_number(double v);
// Quotes a field if it needs it (comma, quote, CR/LF, leading/trailing space).
std::string csv_quote(const std::string& field);

class CsvWriter {
 public:
  explicit CsvWriter(std::vector<std::string> header);
  // Each row must have exactly header().size() cells (InputError otherwise).
  // add_row({step, "name", 0.5}) mixes numbers and strings.
  CsvWriter& add_row(const std::vector<CsvCell>& cells);
  // A row of numbers held in a vector.
  CsvWriter& add_numbers(const std::vector<double>& values);
  const std::vector<std::string>& header() const { return header_; }
  std::size_t num_rows() const { return rows_; }
  // The whole document ("\n" line ends, header first).
  const std::string& str() const { return text_; }
  // Written atomically (sinklab::write_file_atomic), parent dirs created.
  void write(const std::string& path) const;

 private:
  std::vector<std::string> header_;
  std::string text_;
  std::size_t rows_ = 0;
};

// Writes columns of equal length as a CSV (convenience for figure data).
void write_csv_columns(const std::string& path, const std::vector<std::string>& header,
                       const std::vector<std::vector<double>>& columns);

// A parsed CSV: header names -> columns. Rows are kept as strings; numbers() parses.
class CsvData {
 public:
  std::string source;                          // file path or name, used in errors
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() cells
  std::vector<std::size_t> row_lines;          // 1-based line where each row starts

  std::size_t num_rows() const { return rows.size(); }
  std::size_t num_cols() const { return header.size(); }
  bool has(const std::string& column) const;
  // Column index; InputError "<source>: no column 'x' (columns: a, b, c)".
  std::size_t index(const std::string& column) const;
  std::vector<std::string> strings(const std::string& column) const;
  // Parses every cell of a column as a double; InputError naming source, line and
  // column on a non-numeric cell. Empty cells read as NaN.
  std::vector<double> numbers(const std::string& column) const;
  // Parses one cell.
  double number(std::size_t row, const std::string& column) const;
};

// Parses CSV text: the first record is the header (non-empty, unique names).
// Handles quoted fields (with "" escapes and embedded newlines), CRLF, a UTF-8
// BOM, and a missing final newline. Blank lines are skipped. InputError on an
// unterminated quote, a stray quote inside an unquoted field, text after a
// closing quote, or a row whose field count differs from the header's.
CsvData parse_csv(const std::string& text, const std::string& source = "<csv>");
// read_file + parse_csv with the path as source.
CsvData read_csv(const std::string& path);

}  // namespace sinklab
