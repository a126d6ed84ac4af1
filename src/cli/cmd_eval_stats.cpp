// `s0 eval-stats`: the paper's summary over seeds. Each report is one seed's run; a group's metric
// is given as mean +/- sample std, and two groups are compared with a two-sided Welch t-test.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "core/error.h"
#include "eval/metrics.h"
#include "eval/report.h"

namespace s0::cli {
namespace {

struct Group {
  std::vector<double> values;
  std::string benchmark, split;
};

Group read_group(const std::vector<std::string>& paths, const std::string& metric) {
  Group g;
  for (const std::string& path : paths) {
    Json report = load_json_file(path);
    std::string benchmark = json_string(report, "benchmark", path);
    std::string split = json_string(report, "split", path);
    if (g.values.empty()) {
      g.benchmark = benchmark;
      g.split = split;
    } else if (benchmark != g.benchmark || split != g.split) {
      fail(path, ": a ", benchmark, "/", split, " report among ", g.benchmark, "/", g.split, " reports");
    }
    g.values.push_back(report_metric(report, metric, path));
  }
  return g;
}

std::string row(const char* name, const MeanStd& m) {
  char buf[128];
  if (m.n < 2)  // one run has no spread to report
    std::snprintf(buf, sizeof buf, "  %-8s %5zu  %.4f (one run: no std)\n", name, m.n, m.mean);
  else
    std::snprintf(buf, sizeof buf, "  %-8s %5zu  %.4f +/- %.4f\n", name, m.n, m.mean, m.std);
  return buf;
}

Runner setup(CLI::App& app) {
  struct Options {
    std::vector<std::string> reports, vs;
    std::string metric = "pass@1";
  };
  auto o = std::make_shared<Options>();
  app.add_option("--reports", o->reports, "reports of one configuration, one per seed")->required();
  app.add_option("--vs", o->vs, "reports of the configuration to compare with (Welch t-test)");
  app.add_option("--metric", o->metric, "pass@1, pass@5, pass@10 or greedy")->capture_default_str();
  return [o] {
    Group a = read_group(o->reports, o->metric);
    std::cout << "s0 eval-stats: " << a.benchmark << ", split " << a.split << ", " << o->metric << "\n"
              << "  group     runs  mean +/- std\n"
              << row("reports", mean_std(a.values));
    if (o->vs.empty()) return 0;
    Group b = read_group(o->vs, o->metric);
    if (b.benchmark != a.benchmark || b.split != a.split)
      fail("--vs reports are ", b.benchmark, "/", b.split, ", --reports are ", a.benchmark, "/", a.split);
    std::cout << row("vs", mean_std(b.values));
    WelchResult w = welch_t_test(a.values, b.values);
    char buf[160];
    std::snprintf(buf, sizeof buf, "  difference %+.4f; Welch t = %.3f, df = %.2f, two-sided p = %.4g\n",
                  mean_std(a.values).mean - mean_std(b.values).mean, w.t, w.df, w.p);
    std::cout << buf;
    return 0;
  };
}

S0_COMMAND("eval-stats", "mean +/- std over seeds of eval reports, and a Welch t-test between two groups", setup);

}  // namespace
}  // namespace s0::cli
