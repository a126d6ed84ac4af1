#include "generate/text_stream.h"

#include <algorithm>

#include "core/error.h"

namespace s0 {

void validate_stop_strings(const std::vector<std::string>& stop) {
  for (const std::string& s : stop)
    if (s.empty()) fail("a stop string must not be empty");
}

TextStream::TextStream(const Tokenizer& tokenizer, std::vector<std::string> stop, PieceCallback on_piece)
    : decode_(tokenizer), stop_(std::move(stop)), on_piece_(std::move(on_piece)) {
  validate_stop_strings(stop_);
  for (const std::string& s : stop_) hold_ = std::max(hold_, s.size() - 1);
}

void TextStream::emit(size_t upto) {
  if (upto > emitted_ && on_piece_) on_piece_(text_.substr(emitted_, upto - emitted_));
  emitted_ = std::max(emitted_, upto);
}

bool TextStream::push(int64_t token) { return append(decode_.step(static_cast<int32_t>(token))); }

bool TextStream::append(const std::string& piece) {
  const size_t from = text_.size() > hold_ ? text_.size() - hold_ : 0;
  text_ += piece;
  size_t cut = std::string::npos;
  for (const std::string& s : stop_) cut = std::min(cut, text_.find(s, from));
  if (cut != std::string::npos) {
    text_.resize(cut);
    stopped_ = true;
    emit(text_.size());
    return true;
  }
  emit(text_.size() > hold_ ? text_.size() - hold_ : 0);
  return false;
}

void TextStream::finish() {
  if (!stopped_) append(decode_.finish());
  emit(text_.size());
}

}  // namespace s0
