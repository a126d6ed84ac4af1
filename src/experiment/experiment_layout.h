#pragma once
// What `s0 experiment` trains (a variant on a layer subset) and where each stage's output lies in
// the out folder (docs/experiment.md shows the layout).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "core/adapter_variant.h"

namespace s0 {

// One trained configuration: the adapters' variant and their layer subset (as `--layers` spells it).
struct TrainedConfig {
  AdapterVariant variant = AdapterVariant::s0;
  std::string layers;

  bool is_s0() const { return variant == AdapterVariant::s0; }
  // A name of this configuration's (a row, a stage): as it is for S0, the paper's method, so that
  // an experiment made before variants existed keeps its names; followed by the variant otherwise.
  std::string named(const std::string& name) const { return is_s0() ? name : name + ", " + variant_name(variant); }
  bool operator==(const TrainedConfig&) const = default;
};

struct ExperimentLayout {
  std::filesystem::path out;

  // An evaluation's report: greedy ("eval"), or sampled for pass@k ("eval-sampled").
  static std::string report_name(std::optional<double> alpha, bool sampled) {
    return std::string(sampled ? "eval-sampled" : "eval") + (alpha ? "-alpha-" + alpha_name(*alpha) : "") + ".json";
  }
  static std::string alpha_name(double alpha) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", alpha);
    return buf;
  }

  std::filesystem::path base_report(bool sampled = false) const {
    return out / "base" / report_name(std::nullopt, sampled);
  }
  std::filesystem::path seed_dir(int seed) const { return out / ("seed-" + std::to_string(seed)); }
  std::filesystem::path training_data(int seed) const { return seed_dir(seed) / "train.jsonl"; }
  // A configuration as a folder name: S0 on "0-3,5" -> "layers-0-3+5"; the state-offset variant on
  // "all" -> "state-offset-layers-all".
  std::filesystem::path config_dir(int seed, const TrainedConfig& c) const {
    std::string name = "layers-" + c.layers;
    for (char& ch : name)
      if (ch == ',') ch = '+';
    return seed_dir(seed) / (c.is_s0() ? name : std::string(variant_name(c.variant)) + "-" + name);
  }
  std::filesystem::path adapter(int seed, const TrainedConfig& c) const { return config_dir(seed, c) / "adapter"; }
  std::filesystem::path train_log(int seed, const TrainedConfig& c) const {
    return config_dir(seed, c) / "train-log.jsonl";
  }
  std::filesystem::path tuned_report(int seed, const TrainedConfig& c, std::optional<double> alpha,
                                     bool sampled = false) const {
    return config_dir(seed, c) / report_name(alpha, sampled);
  }
};

}  // namespace s0
