#include "generate/model_session.h"

#include "generate/eos.h"
#include "model/arch/registry.h"

namespace s0 {

ModelSession::ModelSession(const std::filesystem::path& dir)
    : dir_(dir),
      model_(load_model(dir)),
      tokenizer_(Tokenizer::load(dir)),
      eos_ids_(model_eos_ids(model_, dir)),
      adapters_(model_) {}

TextGenerator ModelSession::text_generator(bool chat) {
  if (chat && !chat_template_) chat_template_ = ChatTemplate::load(dir_);
  return TextGenerator(model_, tokenizer_, chat_template_ ? &*chat_template_ : nullptr);
}

}  // namespace s0
