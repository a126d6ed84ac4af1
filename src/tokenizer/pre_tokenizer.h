#pragma once
// The "pre_tokenizer" section of tokenizer.json: splits a normalized segment into the pieces the
// model encodes one by one (and, for ByteLevel, rewrites them into the byte-level alphabet).
#include <memory>
#include <string>
#include <vector>

#include "io/json.h"

namespace s0 {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their splits, in order; empty pieces are dropped.
  virtual void apply(std::vector<std::string>& pieces) const = 0;
};

// Supported: Split (Regex or String pattern; behaviors Isolated, Removed, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space, use_regex), Digits, Sequence.
// null gives nullptr. Anything else is an error naming the type and `origin`.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& spec, const std::string& origin);

}  // namespace s0
