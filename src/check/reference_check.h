#pragma once
// `s0 check-reference`: recomputes every quantity of a reference-fixture folder that the engine can
// compute and compares it with the stored value under the fixture tolerances.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/device.h"

namespace s0 {

struct CheckLine {
  std::string quantity;
  double error = 0;   // the quantity's error measure (see `measure`)
  double tolerance = 0;
  std::string measure;  // e.g. "max rel err"
  bool pass = false;
};

struct ReferenceReport {
  std::vector<CheckLine> lines;
  std::vector<std::string> not_checked;  // tensors present that this build cannot compute yet
  int passed() const;
  int failed() const;
};

// `on_line` (optional) sees each line as soon as it is computed. On a GPU (`device` not the CPU,
// already activated) the forward, the gradients, the optimizer steps and greedy decoding run there.
ReferenceReport check_reference(const std::filesystem::path& dir, Device device = Device::cpu(),
                                const std::function<void(const CheckLine&)>& on_line = {});

// max |a - b| / max |b| over all elements (the fixtures' measure for logits, states, gradients).
double max_relative_error(const float* a, const float* b, int64_t n);

}  // namespace s0
