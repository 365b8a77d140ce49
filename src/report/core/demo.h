// `sinklab report demo`: every figure kind of the report layer drawn from synthetic
// data (src/report/core/demo.cpp), to check the layer and the gnuplot install.
#pragma once
#include <string>

namespace sinklab::report {

// Writes the figures, dynamics.csv, claims.json and demo.html under `out` (created if
// needed); with `svg`, SVG copies of the figures too. Returns the number of figures.
int write_demo(const std::string& out, bool svg);

}  // namespace sinklab::report
