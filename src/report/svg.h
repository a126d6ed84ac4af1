#pragma once
// Charts as standalone SVG text, for the experiment report (report.md links them). No plotting
// library in Debian fits a C++ binary, and the report needs only two kinds: lines over a numeric x
// axis (loss per step) and grouped bars over categories with optional error bars (pass@1, state
// norms, flips). Every series is one <g class="series" data-name="..."> holding its polyline or
// bars, so a reader (and the tests) can find each series and count its points.
#include <string>
#include <vector>

namespace s0 {

struct ChartText {
  std::string title, x_label, y_label;
};

struct LineSeries {
  std::string name;
  std::vector<double> x, y;  // same length; drawn in this order
};

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category; negative values go below the zero line
  std::vector<double> errors;  // empty, or one half-width per category (drawn as a whisker)
};

// Fails when a series has mismatched lengths or a non-finite value.
std::string line_chart(const ChartText& text, const std::vector<LineSeries>& series);
std::string bar_chart(const ChartText& text, const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series);

// Text as it may stand in SVG (XML) content or a double-quoted attribute: & < > " ' escaped, and
// control characters other than tab and newline (which XML forbids) replaced by U+FFFD.
std::string escape_xml(const std::string& text);

// Tick positions for [lo, hi]: about `target` round values (1, 2 or 5 times a power of ten) covering
// the range. lo < hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

}  // namespace s0
