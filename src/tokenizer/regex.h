#pragma once
// A PCRE2 pattern compiled in UTF + UCP mode (so \p{L}, \s, \w and case folding are Unicode-aware,
// as in the Rust regex crate tokenizers uses) and JIT-compiled for speed.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s0 {

class Regex {
 public:
  // Throws s0::Error naming `origin`, the pattern and PCRE2's message when it does not compile.
  Regex(const std::string& pattern, const std::string& origin, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every non-empty, non-overlapping match in `text` (valid UTF-8), left to right, as
  // (begin, end) byte offsets.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s0
