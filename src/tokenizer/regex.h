#pragma once
// A PCRE2 pattern compiled in UTF + UCP mode (so \p{L}, \s, \w and case folding are Unicode-aware,
// as in the Rust regex crate tokenizers uses) and JIT-compiled for speed.
#include <memory>
#include <string>
#include <string_view>

namespace s0 {

class Regex {
 public:
  // Throws s0::Error naming `origin`, the pattern and PCRE2's message when it does not compile.
  Regex(const std::string& pattern, const std::string& origin, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The first non-empty match in `text` (valid UTF-8) starting at or after byte `from`, as
  // [begin, end) byte offsets; false when there is none. Calling again from `end` walks every
  // non-overlapping match left to right.
  bool find(std::string_view text, size_t from, size_t& begin, size_t& end) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s0
