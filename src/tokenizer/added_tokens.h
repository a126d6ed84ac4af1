#pragma once
// Added tokens ("added_tokens" in tokenizer.json): strings that become one id wherever they
// occur, found in the text before the normalizer and pre-tokenizer run, so their characters
// never reach the BPE.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"

namespace s0 {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = false;   // matched in the normalized text rather than the raw text
  bool single_word = false;  // only matched when not inside a word
};

// A piece of input: either an added token's id, or a run of text between tokens.
struct Segment {
  std::string_view text;
  int32_t token = -1;  // >= 0: an added token
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(std::vector<const AddedToken*> tokens);
  // Splits `text` at the leftmost-longest occurrences of the tokens (tokenizers uses an
  // Aho-Corasick automaton with the same LeftmostLongest rule).
  void split(std::string_view text, std::vector<Segment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<const AddedToken*> tokens_;  // longest first
  bool first_byte_[256] = {};
};

std::vector<AddedToken> parse_added_tokens(const Json& list, const std::string& origin);

}  // namespace s0
