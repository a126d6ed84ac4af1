#include "generate/model_session.h"

#include "generate/eos.h"
#include "model/model_on_device.h"

namespace s0 {

ModelSession::ModelSession(const std::filesystem::path& dir, Device device, std::optional<DType> matrices)
    : dir_(dir),
      model_(load_model_on(dir, device, matrices)),
      tokenizer_(Tokenizer::load(dir)),
      eos_ids_(model_eos_ids(model_, dir)),
      adapters_(model_) {}

TextGenerator ModelSession::text_generator(bool chat) {
  if (chat && !chat_template_) chat_template_ = ChatTemplate::load(dir_);
  return TextGenerator(model_, tokenizer_, chat_template_ ? &*chat_template_ : nullptr);
}

}  // namespace s0
