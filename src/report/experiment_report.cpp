#include "report/experiment_report.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "report/svg.h"

namespace s0 {
namespace {

double pass1(const Json& report) { return report_metric(report, "greedy", "report"); }

// The base value a row is compared with.
double row_base(const ExperimentSummary& s, const SweepTable& t, const ConfigRuns& row) {
  return report_metric(t.base_report.is_null() ? s.base_report : t.base_report, row.metric, "base report");
}

std::string format(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The problems a run fixed (failed in the base run, pass now) and broke, from its comparison.
std::pair<std::vector<std::string>, std::vector<std::string>> flips(const Json& report) {
  if (!report.contains("baseline")) fail("internal: a tuned report without its comparison with the base");
  const Json& b = report["baseline"];
  return {b["improved_ids"].get<std::vector<std::string>>(), b["degraded_ids"].get<std::vector<std::string>>()};
}

std::string table(const ExperimentSummary& summary, const SweepTable& t) {
  std::string s = "### " + t.title + "\n\n| " + t.column +
                  " | base | tuned (mean ± std) | delta | p (Welch) | seeds | training solutions | "
                  "fixed / broken |\n|---|---|---|---|---|---|---|---|\n";
  for (const ConfigRuns& row : t.rows) {
    const RowStats r = row_stats(row_base(summary, t, row), row);
    std::string solutions = format("%.1f (", r.mean_solutions);
    for (size_t i = 0; i < row.runs.size(); ++i)
      solutions += (i ? ", " : "") + std::to_string(row.runs[i].training_solutions);
    s += "| " + row.name + " | " + format("%.4f", r.base) + " | " + format("%.4f", r.mean) +
         (r.seeds > 1 ? format(" ± %.4f", r.std) : " (one seed)") + " | " + format("%+.4f", r.delta) + " | " +
         (r.p ? format("%.4g", *r.p) : "n/a") + " | " + std::to_string(r.seeds) + " | " + solutions + ") | " +
         std::to_string(r.fixed) + " / " + std::to_string(r.broken) + " |\n";
  }
  return s + "\n";
}

std::string id_list(const std::vector<std::string>& ids) {
  if (ids.empty()) return "none";
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + ids[i];
  return s;
}

// The main configurations: the first table's rows that come with their training.
std::vector<const ConfigRuns*> main_configs(const ExperimentSummary& s) {
  std::vector<const ConfigRuns*> mains;
  if (!s.tables.empty())
    for (const ConfigRuns& row : s.tables.front().rows)
      if (!row.training.empty()) mains.push_back(&row);
  if (mains.empty()) fail("internal: an experiment summary without a main configuration");
  return mains;
}

}  // namespace

RowStats row_stats(double base, const ConfigRuns& config) {
  RowStats r;
  r.base = base;
  r.seeds = config.runs.size();
  std::vector<double> tuned;
  for (const SeedRun& run : config.runs) {
    tuned.push_back(report_metric(run.report, config.metric, "report"));
    r.mean_solutions += static_cast<double>(run.training_solutions) / static_cast<double>(r.seeds);
    const auto [fixed, broken] = flips(run.report);
    r.fixed += fixed.size();
    r.broken += broken.size();
  }
  const MeanStd m = mean_std(tuned);
  r.mean = m.mean;
  r.std = m.std;
  r.delta = m.mean - base;
  if (tuned.size() >= 2) r.p = welch_t_test(tuned, std::vector<double>(tuned.size(), base)).p;
  return r;
}

std::string report_markdown(const ExperimentSummary& s) {
  const double base = pass1(s.base_report);
  std::string md = "# S0 experiment: " + s.benchmark + "\n\nModel: `" + s.model + "`. Base model: greedy pass@1 " +
                   format("%.4f", base) + " (" + std::to_string(s.base_report["passed"].get<size_t>()) + " of " +
                   std::to_string(s.base_report["problems"].get<size_t>()) +
                   " evaluation problems), evaluated once.\n\n"
                   "Each tuned row: one adapter per seed (its own sampled training data and example order), "
                   "evaluated greedily; mean ± sample std over seeds; delta against the base; two-sided Welch "
                   "t-test against the base (greedy, so the same for every seed); fixed / broken: problems the "
                   "adapters made pass / fail, summed over seeds.\n\n";
  for (const SweepTable& t : s.tables) md += table(s, t);
  for (const ConfigRuns* main : main_configs(s)) {
    md += "## Problems fixed and broken (" + main->name + ")\n\n";
    for (const SeedRun& run : main->runs) {
      const auto [fixed, broken] = flips(run.report);
      md += "- seed " + std::to_string(run.seed) + ": fixed " + id_list(fixed) + "; broken " + id_list(broken) + "\n";
    }
    md += "\n";
  }
  md += "## Charts\n\n![training loss per step](loss.svg)\n![state norm per layer](state_norm.svg)\n"
        "![pass@1, base and tuned](pass1.svg)\n![problems fixed and broken per seed](flips.svg)\n";
  return md;
}

std::map<std::string, std::string> report_charts(const ExperimentSummary& s) {
  std::map<std::string, std::string> charts;
  // The main configurations' charts: one series (or bar group) per seed and main configuration,
  // named by the configuration too when there are several (one per variant).
  const std::vector<const ConfigRuns*> mains = main_configs(s);
  std::string mains_name;
  for (const ConfigRuns* main : mains) mains_name += (mains_name.empty() ? "" : "; ") + main->name;
  auto seed_name = [&](const ConfigRuns& main, int seed) {
    return "seed " + std::to_string(seed) + (mains.size() > 1 ? " (" + main.name + ")" : "");
  };

  std::vector<LineSeries> losses;
  std::vector<int64_t> layers;  // every layer some seed trained, ascending
  for (const ConfigRuns* main : mains)
    for (const SeedTraining& t : main->training) {
      losses.push_back({seed_name(*main, t.seed), t.steps, t.losses});
      for (const auto& [layer, norm] : t.state_norms)
        if (std::find(layers.begin(), layers.end(), layer) == layers.end()) layers.push_back(layer);
    }
  std::sort(layers.begin(), layers.end());
  charts["loss.svg"] = line_chart({"Training loss (" + mains_name + ")", "step", "mean token loss"}, losses);

  std::vector<std::string> layer_names;
  for (int64_t l : layers) layer_names.push_back(std::to_string(l));
  std::vector<BarSeries> norms;
  for (const ConfigRuns* main : mains)
    for (const SeedTraining& t : main->training) {
      BarSeries b{seed_name(*main, t.seed), {}, {}};
      for (int64_t l : layers) b.values.push_back(t.state_norms.count(l) ? t.state_norms.at(l) : 0.0);
      norms.push_back(b);
    }
  charts["state_norm.svg"] = bar_chart(
      {"State norm per layer (" + mains_name + ")", "layer", "norm of the raw state"}, layer_names, norms);

  const double base = pass1(s.base_report);
  std::vector<std::string> configs = {"base"};
  BarSeries pass{"greedy pass@1 (mean ± std over seeds)", {base}, {0.0}};
  for (const SweepTable& t : s.tables)
    for (const ConfigRuns& row : t.rows) {
      if (row.metric != "greedy") continue;  // other metrics have other bases
      const RowStats r = row_stats(base, row);
      configs.push_back(t.column + " " + row.name);
      pass.values.push_back(r.mean);
      pass.errors.push_back(r.std);
    }
  charts["pass1.svg"] = bar_chart({"pass@1: base and tuned", "configuration", "greedy pass@1"}, configs, {pass});

  std::vector<std::string> seeds;
  BarSeries fixed{"fixed", {}, {}}, broken{"broken", {}, {}};
  for (const ConfigRuns* main : mains)
    for (const SeedRun& run : main->runs) {
      const auto [f, b] = flips(run.report);
      seeds.push_back(seed_name(*main, run.seed));
      fixed.values.push_back(static_cast<double>(f.size()));
      broken.values.push_back(-static_cast<double>(b.size()));
    }
  charts["flips.svg"] = bar_chart(
      {"Problems fixed and broken (" + mains_name + ")", "seed", "problems (broken below 0)"}, seeds, {fixed, broken});
  return charts;
}

}  // namespace s0
