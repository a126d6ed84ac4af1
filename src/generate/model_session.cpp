#include "generate/model_session.h"

#include <future>

#include "generate/eos.h"
#include "model/model_on_device.h"

namespace s0 {

namespace {

// The tokenizer, read on a thread of its own while the weights load: parsing Qwen's tokenizer.json
// takes about half a second of one core, which used to come after the weights.
std::future<Tokenizer> tokenizer_loading(const std::filesystem::path& dir) {
  return std::async(std::launch::async, [dir] { return Tokenizer::load(dir); });
}

}  // namespace

ModelSession::ModelSession(const std::filesystem::path& dir, Device device, std::optional<DType> matrices)
    : ModelSession(dir, device, matrices, tokenizer_loading(dir)) {}

ModelSession::ModelSession(const std::filesystem::path& dir, Device device, std::optional<DType> matrices,
                           std::future<Tokenizer> tokenizer)
    : dir_(dir),
      model_(load_model_on(dir, device, matrices)),
      tokenizer_(tokenizer.get()),
      eos_ids_(model_eos_ids(model_, dir)),
      adapters_(model_) {}

TextGenerator ModelSession::text_generator(bool chat) {
  if (chat && !chat_template_) chat_template_ = ChatTemplate::load(dir_);
  return TextGenerator(model_, tokenizer_, chat_template_ ? &*chat_template_ : nullptr);
}

}  // namespace s0
