#pragma once
// The "normalizer" section of tokenizer.json: text rewrites applied to every segment that is not
// an added token (or to added tokens marked "normalized") before pre-tokenization.
#include <memory>
#include <string>

#include "io/json.h"

namespace s0 {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Input and output are valid UTF-8.
  virtual std::string normalize(std::string text) const = 0;
};

// Builds the normalizer described by `spec` (null gives nullptr: no normalization). Supported:
// NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace (String pattern), Sequence. Anything
// else is an error naming the type and `origin`.
std::unique_ptr<Normalizer> make_normalizer(const Json& spec, const std::string& origin);

}  // namespace s0
