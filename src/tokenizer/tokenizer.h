#pragma once
// The public tokenizer: reads a Hugging Face model folder's tokenizer.json (and the special token
// names of tokenizer_config.json) and turns text into the ids tokenizers produces, and back.
//
//   auto tok = s0::Tokenizer::load(model_dir);
//   std::vector<int32_t> ids = tok.encode(text);
//   std::string text = tok.decode(ids, /*skip_special=*/true);
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"
#include "tokenizer/added_tokens.h"

namespace s0 {

class Bpe;
class Normalizer;
class PreTokenizer;

class Tokenizer {
 public:
  // Reads `dir`/tokenizer.json (required) and `dir`/tokenizer_config.json (optional: special
  // token names such as eos_token). Errors name the missing file or unsupported component.
  static Tokenizer load(const std::filesystem::path& dir);
  // From a parsed tokenizer.json and (possibly null) tokenizer_config.json.
  Tokenizer(const Json& tokenizer_json, const Json& config, const std::string& origin);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Any bytes are accepted: ill-formed UTF-8 is first replaced by U+FFFD (see utf8::sanitize).
  // add_special_tokens applies the post-processor (e.g. a BOS prefix); Qwen adds nothing.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Always valid UTF-8: byte sequences broken across or inside tokens become U+FFFD.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The raw bytes id stands for (an added token's content, or a vocabulary token through the
  // decoder). Empty for an unknown id.
  const std::string& token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  size_t vocab_size() const { return bytes_.size(); }  // one past the largest id

  // A special token named in tokenizer_config.json ("eos_token", "bos_token", "pad_token",
  // "unk_token"), as text and as id; nothing when absent or null.
  std::optional<std::string> special_token(const std::string& name) const;
  std::optional<int32_t> special_token_id(const std::string& name) const;
  std::optional<int32_t> eos_id() const { return special_token_id("eos_token"); }

 private:
  void encode_text(std::string_view segment, std::vector<int32_t>& ids) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Bpe> model_;
  std::vector<AddedToken> added_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // tokens with normalized == false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // tokens with normalized == true
  std::vector<int32_t> prefix_, suffix_;                   // post-processor, add_special_tokens only
  std::vector<std::string> bytes_;                         // id -> bytes
  std::vector<bool> special_;                              // id -> special added token
  Json special_names_;                                     // name -> token text
};

// Incremental decoding for generation: feed ids one at a time and get text as soon as it forms
// complete UTF-8 characters. Bytes of a character split across tokens are held back until it
// completes, so no broken sequence is ever emitted mid-stream; finish() flushes what is left
// (with U+FFFD for an unfinished character).
class DecodeStream {
 public:
  explicit DecodeStream(const Tokenizer& tokenizer, bool skip_special = true)
      : tokenizer_(tokenizer), skip_special_(skip_special) {}
  std::string step(int32_t id);
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace s0
