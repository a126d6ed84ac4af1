#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace s0 {
namespace {

constexpr double kWidth = 640, kHeight = 400;
constexpr double kLeft = 70, kRight = 170, kTop = 40, kBottom = 60;  // margins; the legend sits on the right
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char* color(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A tick label: as few digits as show the tick's value.
std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

// Maps data coordinates to pixels inside the plot area.
struct Frame {
  double x0, x1, y0, y1;
  double px(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kWidth - kLeft - kRight); }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

// A data range widened to its ticks, never empty (a flat series still gets an axis).
std::pair<double, double> padded(double lo, double hi) {
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const std::vector<double> t = nice_ticks(lo, hi);
  return {std::min(lo, t.front()), std::max(hi, t.back())};
}

std::string text_at(double x, double y, const std::string& s, const char* anchor, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
         escape_xml(s) + "</text>\n";
}

std::string open_svg(const ChartText& t) {
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
                  num(kHeight) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += text_at(kWidth / 2, 22, t.title, "middle", " font-size=\"15\"");
  s += text_at(kLeft + (kWidth - kLeft - kRight) / 2, kHeight - 15, t.x_label, "middle");
  s += "<text transform=\"translate(18 " + num(kTop + (kHeight - kTop - kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape_xml(t.y_label) + "</text>\n";
  return s;
}

// The y axis with its ticks and grid lines, and the x axis line at the bottom.
std::string y_axis(const Frame& f) {
  std::string s = "<g class=\"axes\" stroke=\"#333\">\n";
  for (double v : nice_ticks(f.y0, f.y1)) {
    if (v < f.y0 - 1e-9 || v > f.y1 + 1e-9) continue;
    s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" + num(f.py(v)) + "\" y2=\"" +
         num(f.py(v)) + "\" stroke=\"#ddd\"/>\n";
    s += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(f.py(v) + 4) + "\" text-anchor=\"end\" stroke=\"none\">" +
         tick_label(v) + "</text>\n";
  }
  s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
       num(kHeight - kBottom) + "\"/>\n";
  s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kWidth - kRight) + "\" y1=\"" + num(kHeight - kBottom) +
       "\" y2=\"" + num(kHeight - kBottom) + "\"/>\n";
  return s + "</g>\n";
}

std::string x_tick(double px, const std::string& label) {
  const double y = kHeight - kBottom;
  return "<line x1=\"" + num(px) + "\" x2=\"" + num(px) + "\" y1=\"" + num(y) + "\" y2=\"" + num(y + 5) +
         "\" stroke=\"#333\"/>\n" + text_at(px, y + 18, label, "middle");
}

std::string legend(const std::vector<std::string>& names) {
  std::string s = "<g class=\"legend\">\n";
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = kTop + 10 + 18 * static_cast<double>(i);
    s += "<rect x=\"" + num(kWidth - kRight + 15) + "\" y=\"" + num(y - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
         color(i) + "\"/>\n";
    s += text_at(kWidth - kRight + 32, y + 2, names[i], "start");
  }
  return s + "</g>\n";
}

void require_finite_values(const std::vector<double>& v, const std::string& what) {
  for (double x : v)
    if (!std::isfinite(x)) fail("chart: ", what, " holds a non-finite value");
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += "\xEF\xBF\xBD";
        else out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) fail("chart: bad axis range [", lo, ", ", hi, "]");
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // Multiples of the step (not a running sum, which drifts): from the one at or below lo to the one
  // at or above hi.
  const double first = std::floor(lo / step), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) ticks.push_back(k * step);
  return ticks;
}

std::string line_chart(const ChartText& text, const std::vector<LineSeries>& series) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const LineSeries& s : series) {
    if (s.x.size() != s.y.size()) fail("chart: series \"", s.name, "\" has ", s.x.size(), " x and ", s.y.size(), " y");
    require_finite_values(s.x, "series \"" + s.name + "\"");
    require_finite_values(s.y, "series \"" + s.name + "\"");
    for (size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  if (x0 > x1) x0 = x1 = y0 = y1 = 0;  // nothing to draw: still an empty, labelled chart
  const auto [fx0, fx1] = padded(x0, x1);
  const auto [fy0, fy1] = padded(y0, y1);
  const Frame f{fx0, fx1, fy0, fy1};
  std::string s = open_svg(text) + y_axis(f);
  for (double v : nice_ticks(f.x0, f.x1))
    if (v >= f.x0 - 1e-9 && v <= f.x1 + 1e-9) s += x_tick(f.px(v), tick_label(v));
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const LineSeries& ls = series[k];
    names.push_back(ls.name);
    std::string points;
    for (size_t i = 0; i < ls.x.size(); ++i) {
      if (i) points += ' ';
      points += num(f.px(ls.x[i])) + "," + num(f.py(ls.y[i]));
    }
    s += "<g class=\"series\" data-name=\"" + escape_xml(ls.name) + "\">\n";
    s += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(color(k)) + "\" points=\"" + points +
         "\"/>\n</g>\n";
  }
  return s + legend(names) + "</svg>\n";
}

std::string bar_chart(const ChartText& text, const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series) {
  double y0 = 0, y1 = 0;  // bars grow from zero, which is always on the axis
  for (const BarSeries& b : series) {
    if (b.values.size() != categories.size() || (!b.errors.empty() && b.errors.size() != categories.size()))
      fail("chart: series \"", b.name, "\" needs one value (and error) per category, ", categories.size());
    require_finite_values(b.values, "series \"" + b.name + "\"");
    require_finite_values(b.errors, "series \"" + b.name + "\"");
    for (size_t i = 0; i < b.values.size(); ++i) {
      const double e = b.errors.empty() ? 0 : std::fabs(b.errors[i]);
      y0 = std::min(y0, b.values[i] - e);
      y1 = std::max(y1, b.values[i] + e);
    }
  }
  const auto [fy0, fy1] = padded(y0, y1);
  const double n = static_cast<double>(std::max<size_t>(1, categories.size()));
  const Frame f{0, n, fy0, fy1};
  std::string s = open_svg(text) + y_axis(f);
  for (size_t c = 0; c < categories.size(); ++c) s += x_tick(f.px(static_cast<double>(c) + 0.5), categories[c]);
  const double slot = (f.px(1) - f.px(0)) * 0.8 / static_cast<double>(std::max<size_t>(1, series.size()));
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const BarSeries& b = series[k];
    names.push_back(b.name);
    s += "<g class=\"series\" data-name=\"" + escape_xml(b.name) + "\" fill=\"" + color(k) + "\">\n";
    for (size_t c = 0; c < categories.size(); ++c) {
      const double left = f.px(static_cast<double>(c)) + (f.px(1) - f.px(0)) * 0.1 + slot * static_cast<double>(k);
      const double top = f.py(std::max(0.0, b.values[c])), bottom = f.py(std::min(0.0, b.values[c]));
      s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(slot * 0.9) + "\" height=\"" +
           num(bottom - top) + "\"/>\n";
      if (b.errors.empty() || b.errors[c] == 0) continue;
      const double mid = left + slot * 0.45;
      s += "<line class=\"error\" x1=\"" + num(mid) + "\" x2=\"" + num(mid) + "\" y1=\"" +
           num(f.py(b.values[c] - b.errors[c])) + "\" y2=\"" + num(f.py(b.values[c] + b.errors[c])) +
           "\" stroke=\"black\"/>\n";
    }
    s += "</g>\n";
  }
  return s + legend(names) + "</svg>\n";
}

}  // namespace s0
