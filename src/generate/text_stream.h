#pragma once
// One sequence's text as its tokens arrive: incremental detokenisation, the stop-string search, and
// what is safe to hand out. Text that could still turn into a stop string is held back until it
// cannot; a completed stop string cuts the text before it. `s0 generate` (through TextGenerator)
// and `s0 serve` stream through this one class.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace s0 {

// Fails on an empty stop string.
void validate_stop_strings(const std::vector<std::string>& stop);

class TextStream {
 public:
  // Receives finished pieces in order; together they are the final text.
  using PieceCallback = std::function<void(const std::string& piece)>;
  TextStream(const Tokenizer& tokenizer, std::vector<std::string> stop, PieceCallback on_piece = {});
  // Appends a generated token's text; true when a stop string completed (the sequence should end).
  bool push(int64_t token);
  // Generation ended: flushes what was held back (nothing more after a stop string).
  void finish();
  const std::string& text() const { return text_; }

 private:
  bool append(const std::string& piece);  // true when a stop string completed
  void emit(size_t upto);

  DecodeStream decode_;
  std::vector<std::string> stop_;
  PieceCallback on_piece_;
  size_t hold_ = 0;  // a stop string may still be completing in the last (longest - 1) bytes
  std::string text_;
  size_t emitted_ = 0;
  bool stopped_ = false;
};

}  // namespace s0
