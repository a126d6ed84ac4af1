#include "eval/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/error.h"
#include "eval/metrics.h"

namespace s0 {

namespace {

std::string fixed(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// At most `max` ids on a line, then how many more: the summary must stay on one screen.
std::string id_list(const Json& ids, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < max; ++i) out.append(" ").append(ids[i].get<std::string>());
  if (ids.size() > max) out += cat(" ... and ", ids.size() - max, " more");
  return out;
}

}  // namespace

Json make_report(const ReportInfo& info, const std::vector<ProblemRecord>& records) {
  if (records.empty()) fail("eval report: no problems");
  size_t min_n = records.front().n, passed = 0;
  Json rows = Json::array();
  for (const ProblemRecord& r : records) {
    min_n = std::min(min_n, r.n);
    passed += r.passed;
    Json row = {{"id", r.id}, {"passed", r.passed}, {"n", r.n}, {"c", r.c}};
    if (info.benchmark != Benchmark::humaneval) {
      row["prediction"] = r.prediction;
      row["gold"] = r.gold;
    } else if (!r.failure.empty()) {
      row["failure"] = r.failure;
    }
    rows.push_back(std::move(row));
  }
  Json pass_at = Json::object();
  for (size_t k : {1, 5, 10}) {
    if (k > min_n) continue;
    double sum = 0;
    for (const ProblemRecord& r : records) sum += pass_at_k(r.n, r.c, k);
    pass_at[std::to_string(k)] = sum / static_cast<double>(records.size());
  }
  return Json{{"benchmark", benchmark_name(info.benchmark)},
              {"split", split_name(info.split)},
              {"data", info.data},
              {"completions", info.completions},
              {"label", info.label},
              {"problems", records.size()},
              {"min_samples", min_n},
              {"passed", passed},
              {"greedy_pass_at_1", static_cast<double>(passed) / static_cast<double>(records.size())},
              {"pass_at_k", pass_at},
              {"records", rows}};
}

void compare_with_baseline(Json& report, const Json& baseline, const std::string& baseline_path) {
  std::string bench = json_string(baseline, "benchmark", baseline_path);
  if (bench != report["benchmark"].get<std::string>())
    fail(baseline_path, ": baseline is a ", bench, " report, this run is ", report["benchmark"].get<std::string>());
  const Json& base_rows = json_field(baseline, "records", baseline_path);
  if (!base_rows.is_array()) fail(baseline_path, ": field \"records\" must be an array");
  std::map<std::string, bool> base_passed;
  for (const Json& row : base_rows) {
    std::string origin = baseline_path + ": records";
    base_passed[json_string(row, "id", origin)] = json_bool(row, "passed", origin);
  }
  Json improved = Json::array(), degraded = Json::array();
  size_t both_passed = 0, both_failed = 0, compared = 0;
  for (const Json& row : report["records"]) {
    auto it = base_passed.find(row["id"].get<std::string>());
    if (it == base_passed.end()) continue;
    ++compared;
    bool now = row["passed"].get<bool>();
    if (now && !it->second) improved.push_back(row["id"]);
    if (!now && it->second) degraded.push_back(row["id"]);
    both_passed += now && it->second;
    both_failed += !now && !it->second;
  }
  if (compared == 0) fail(baseline_path, ": baseline shares no problem with this run");
  report["baseline"] = {{"path", baseline_path},       {"compared", compared},       {"improved", improved.size()},
                        {"degraded", degraded.size()}, {"both_passed", both_passed}, {"both_failed", both_failed},
                        {"improved_ids", improved},    {"degraded_ids", degraded}};
}

std::string summary_table(const Json& report) {
  size_t problems = report["problems"].get<size_t>();
  std::string out =
      cat("s0 eval: ", report["benchmark"].get<std::string>(), ", split ", report["split"].get<std::string>(), ", ",
          problems, " problems, ", report["min_samples"].get<size_t>(), "+ samples each");
  std::string label = report["label"].get<std::string>();
  out += label.empty() ? "\n" : cat(" [", label, "]\n");
  out += "  metric           value\n";
  out += cat("  greedy pass@1    ", fixed(report["greedy_pass_at_1"].get<double>()), "  (",
             report["passed"].get<size_t>(), "/", problems, ")\n");
  for (auto& [k, v] : report["pass_at_k"].items()) {
    std::string name = "pass@" + k;
    out += cat("  ", name, std::string(17 - name.size(), ' '), fixed(v.get<double>()), "\n");
  }
  if (report.contains("baseline")) {
    const Json& b = report["baseline"];
    out += cat("  vs ", b["path"].get<std::string>(), " (", b["compared"].get<size_t>(), " problems): improved ",
               b["improved"].get<size_t>(), ", degraded ", b["degraded"].get<size_t>(), ", both passed ",
               b["both_passed"].get<size_t>(), ", both failed ", b["both_failed"].get<size_t>(), "\n");
    if (!b["improved_ids"].empty()) out += "    improved:" + id_list(b["improved_ids"]) + "\n";
    if (!b["degraded_ids"].empty()) out += "    degraded:" + id_list(b["degraded_ids"]) + "\n";
  }
  return out;
}

double report_metric(const Json& report, const std::string& metric, const std::string& origin) {
  if (metric == "greedy") return json_number(report, "greedy_pass_at_1", origin);
  if (metric.rfind("pass@", 0) != 0)
    fail("unknown metric \"", metric, "\" (expected pass@1, pass@5, pass@10 or greedy)");
  const Json& pass_at = json_field(report, "pass_at_k", origin);
  std::string k = metric.substr(5);
  if (!pass_at.is_object() || !pass_at.contains(k))
    fail(origin, ": report has no ", metric, " (too few samples per problem)");
  return json_number(pass_at, k, origin);
}

}  // namespace s0
