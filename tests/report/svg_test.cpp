// The SVG writer: charts are well-formed XML with one group per series and one mark per point,
// text is escaped, axes get round ticks, and bad series are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "report/svg.h"
#include "support/test_support.h"
#include "support/xml_check.h"

using namespace s0;

namespace {

// The numbers of every points="x,y x,y ..." attribute, one vector of (x, y) per polyline.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
  std::vector<std::vector<std::pair<double, double>>> out;
  const std::regex attr("points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator(); ++it) {
    std::vector<std::pair<double, double>> pts;
    std::stringstream ss((*it)[1].str());
    std::string pair;
    while (ss >> pair) {
      const size_t comma = pair.find(',');
      pts.push_back({std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1))});
    }
    out.push_back(pts);
  }
  return out;
}

}  // namespace

TEST(XmlCheck, FindsWhatIsNotWellFormed) {
  EXPECT_EQ(test::xml_problem("<svg a=\"1\"><g><rect/></g><text>x &amp; y &#65;</text></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg><g></g>"), "");
  EXPECT_NE(test::xml_problem("<svg>a & b</svg>"), "");
  EXPECT_NE(test::xml_problem("<svg a=1></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg a=\"<\"></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg a=\"1\" a=\"2\"></svg>"), "");
  EXPECT_NE(test::xml_problem("<svg></svg><svg></svg>"), "");
  EXPECT_NE(test::xml_problem(""), "");
}

TEST(Svg, EscapesText) {
  EXPECT_EQ(escape_xml("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  EXPECT_EQ(escape_xml(std::string("x\x01y\tz")), "x\xEF\xBF\xBDy\tz");
  EXPECT_EQ(escape_xml("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 passes through
}

TEST(Svg, NiceTicksAreRoundAndCoverTheRange) {
  const std::vector<double> t = nice_ticks(0, 1);
  ASSERT_EQ(t.size(), 6u);
  for (size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], 0.2 * static_cast<double>(i), 1e-12);
  const std::vector<double> u = nice_ticks(-3, 7);
  EXPECT_EQ(u.front(), -4);
  EXPECT_EQ(u.back(), 8);
  for (size_t i = 1; i < u.size(); ++i) EXPECT_NEAR(u[i] - u[i - 1], 2, 1e-12);
  const std::vector<double> v = nice_ticks(5.3, 5.31);
  EXPECT_LE(v.front(), 5.3);
  EXPECT_GE(v.back(), 5.31 - 1e-12);  // 5.31 as 2655 times 0.002, to the last bit
  EXPECT_LE(v.size(), 8u);
  EXPECT_NE(test::error_of([] { nice_ticks(1, 1); }).find("bad axis range"), std::string::npos);
}

TEST(Svg, LineChartHasOnePolylinePerSeriesWithEveryPoint) {
  const std::string svg = line_chart({"Loss <per> step", "step", "loss"},
                                     {{"seed 1", {1, 2, 3}, {5, 4, 3}}, {"a&b", {1, 2, 3, 4}, {6, 5, 5, 4}}});
  EXPECT_EQ(test::xml_problem(svg), "") << svg;
  EXPECT_EQ(test::occurrences(svg, "<g class=\"series\""), 2u);
  EXPECT_NE(svg.find("data-name=\"a&amp;b\""), std::string::npos);
  EXPECT_NE(svg.find("Loss &lt;per&gt; step"), std::string::npos);
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(lines[0].size(), 3u);
  ASSERT_EQ(lines[1].size(), 4u);
  // x grows to the right, a larger y is drawn higher (smaller pixel y), equal y at equal height.
  EXPECT_LT(lines[0][0].first, lines[0][1].first);
  EXPECT_GT(lines[0][1].second, lines[0][0].second);
  EXPECT_EQ(lines[1][1].second, lines[1][2].second);
  EXPECT_EQ(lines[0][0].first, lines[1][0].first);  // the same x in both series
  // Every point lies inside the 640 x 400 canvas.
  for (const auto& line : lines)
    for (const auto& [x, y] : line) {
      EXPECT_GT(x, 0);
      EXPECT_LT(x, 640);
      EXPECT_GT(y, 0);
      EXPECT_LT(y, 400);
    }
}

TEST(Svg, BarChartHasOneBarPerCategoryAndSeries) {
  const std::string svg = bar_chart({"flips", "seed", "problems"}, {"seed 1", "seed 2", "seed 3"},
                                    {{"fixed", {3, 0, 2}, {}}, {"broken", {-1, -2, 0}, {0.5, 0, 0}}});
  EXPECT_EQ(test::xml_problem(svg), "") << svg;
  EXPECT_EQ(test::occurrences(svg, "<g class=\"series\""), 2u);
  // Each series group holds three bars; one whisker (the only nonzero error).
  const size_t second = svg.find("data-name=\"broken\"");
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(test::occurrences(svg.substr(0, second), "<rect x="), 3u);
  EXPECT_EQ(test::occurrences(svg.substr(second, svg.find("</g>", second) - second), "<rect x="), 3u);
  EXPECT_EQ(test::occurrences(svg, "class=\"error\""), 1u);
  // A bar of height zero for a zero value; positive bars end where negative ones start (the zero line).
  const std::regex rect("<rect x=\"[0-9.]+\" y=\"([0-9.]+)\" width=\"[0-9.]+\" height=\"([0-9.]+)\"/>");
  std::vector<std::pair<double, double>> bars;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), rect); it != std::sregex_iterator(); ++it)
    bars.push_back({std::stod((*it)[1].str()), std::stod((*it)[2].str())});
  ASSERT_EQ(bars.size(), 6u);  // the legend swatches carry a fill after their height
  EXPECT_EQ(bars[1].second, 0);                                   // fixed, seed 2: 0
  EXPECT_NEAR(bars[0].first + bars[0].second, bars[3].first, 1e-9);  // fixed 3 ends at the top of broken -1
  EXPECT_NEAR(bars[0].second, 3 * bars[3].second, 0.02);          // heights in proportion 3 : 1
}

TEST(Svg, RefusesBadSeries) {
  EXPECT_NE(test::error_of([] { line_chart({}, {{"s", {1, 2}, {1}}}); }).find("has 2 x and 1 y"), std::string::npos);
  EXPECT_NE(test::error_of([] { line_chart({}, {{"s", {1, 2}, {1, NAN}}}); }).find("non-finite"), std::string::npos);
  EXPECT_NE(test::error_of([] { bar_chart({}, {"a", "b"}, {{"s", {1}, {}}}); }).find("one value"), std::string::npos);
  // Nothing to draw still makes a labelled, well-formed chart.
  EXPECT_EQ(test::xml_problem(line_chart({"empty", "x", "y"}, {})), "");
}
