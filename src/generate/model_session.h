#pragma once
// A model folder opened for generation: the weights (on the CPU or a GPU), the tokenizer, the chat
// template (read when first needed), the EOS ids and the adapters loaded so far. Commands that
// generate (`s0 generate`, `s0 collect`, `s0 eval`, `s0 demo`, `s0 serve`) open one and ask it for
// text.
#include <filesystem>
#include <optional>

#include "generate/adapter_set.h"
#include "generate/text_generation.h"

namespace s0 {

class ModelSession {
 public:
  // The model on `device` (already activated, ops/device_runtime.h) with its matrices in
  // `matrices` there (model/model_on_device.h; unset: as the checkpoint stores them).
  explicit ModelSession(const std::filesystem::path& dir, Device device = Device::cpu(),
                        std::optional<DType> matrices = std::nullopt);
  ModelSession(const ModelSession&) = delete;
  ModelSession& operator=(const ModelSession&) = delete;

  const HybridModel& model() const { return model_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<int64_t>& eos_ids() const { return eos_ids_; }
  AdapterSet& adapters() { return adapters_; }
  // A generator over this session; with `chat` the folder's chat template is read (an error names
  // what is missing).
  TextGenerator text_generator(bool chat);

 private:
  std::filesystem::path dir_;
  HybridModel model_;
  Tokenizer tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::vector<int64_t> eos_ids_;
  AdapterSet adapters_;
};

}  // namespace s0
