// libFuzzer target: the CSV reader (io/csv.h) on arbitrary bytes.
// Every input either parses or throws InputError; a parsed table is
// rectangular, and every column's numbers() either parses or throws InputError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "io/error.h"
#include "io/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto c = sinklab::parse_csv(text, "fuzz.csv");
    if (c.row_lines.size() != c.rows.size()) std::abort();
    for (const auto& r : c.rows)
      if (r.size() != c.header.size()) std::abort();
    for (const auto& h : c.header) {
      try {
        auto v = c.numbers(h);
        if (v.size() != c.rows.size()) std::abort();
      } catch (const sinklab::InputError&) {
      }
    }
    // Writing the table back and reading it again gives the same table.
    sinklab::CsvWriter w(c.header);
    for (const auto& r : c.rows) {
      std::vector<sinklab::CsvCell> cells(r.begin(), r.end());
      w.add_row(cells);
    }
    auto c2 = sinklab::parse_csv(w.str(), "again.csv");
    if (c2.header != c.header || c2.rows != c.rows) std::abort();
  } catch (const sinklab::InputError&) {
  }
  return 0;
}
