#pragma once
// A folder in the reference-fixture format (shared/fixtures/README.md): a checkpoint plus
// reference.json (metadata) and reference.safetensors (expected tensors).
#include <filesystem>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/safetensors.h"
#include "model/batch.h"
#include "model/model.h"

namespace s0 {

struct ReferenceFixture {
  std::filesystem::path dir;
  Json meta;
  SafetensorsFile tensors;
  std::vector<std::vector<int64_t>> sequences;  // ids.k
  std::vector<int64_t> prompt_lens;             // per sequence
  StateSet s0;                                  // s0.{layer}, in the model's recurrent order

  // Opens the folder and checks it against `model` (recurrent layers, state shapes, token ids).
  static ReferenceFixture open(const std::filesystem::path& dir, const HybridModel& model);
  bool has(const std::string& name) const { return tensors.has(name); }
  Tensor expected(const std::string& name) const;  // float32 copy
};

}  // namespace s0
