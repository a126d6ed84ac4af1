#include <gtest/gtest.h>

#include <utf8proc.h>

#include <cstdlib>
#include <random>

#include "core/error.h"
#include "qwen3_fixture.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

using namespace s0;
using namespace s0::test;

TEST(Tokenizer, EveryFixtureEncodeCase) {
  auto cases = read_jsonl(qwen3_dir() / "encode_cases.jsonl");
  ASSERT_EQ(cases.size(), 115u);
  for (const Json& c : cases) {
    std::string text = c["text"].get<std::string>();
    std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> ids = qwen3().encode(text);
    EXPECT_EQ(ids, expected) << "text: " << text;
    EXPECT_EQ(qwen3().decode(ids), c["decoded"].get<std::string>()) << "text: " << text;
  }
}

TEST(Tokenizer, DecodeSkipsSpecialTokensOnRequest) {
  std::vector<int32_t> ids = qwen3().encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids, (std::vector<int32_t>{151644, 872, 198, 6023, 151645}));
  EXPECT_EQ(qwen3().decode(ids, true), "user\nhi");
  EXPECT_EQ(qwen3().decode(ids, false), "<|im_start|>user\nhi<|im_end|>");
  // <think> is an added token but not special: it stays.
  EXPECT_EQ(qwen3().decode(qwen3().encode("<think>x</think>"), true), "<think>x</think>");
}

TEST(Tokenizer, SpecialTokenLookup) {
  EXPECT_EQ(qwen3().special_token("eos_token"), std::optional<std::string>("<|im_end|>"));
  EXPECT_EQ(qwen3().eos_id(), std::optional<int32_t>(151645));
  EXPECT_EQ(qwen3().special_token_id("pad_token"), std::optional<int32_t>(151643));
  EXPECT_FALSE(qwen3().special_token("bos_token").has_value());  // null in tokenizer_config.json
  EXPECT_EQ(qwen3().token_to_id("hello"), std::optional<int32_t>(14990));
  EXPECT_EQ(qwen3().id_to_token(23811), std::optional<std::string>("Ġhello"));
  EXPECT_TRUE(qwen3().is_special(151643));
  EXPECT_FALSE(qwen3().is_special(151667));  // <think>
  EXPECT_EQ(qwen3().vocab_size(), 151669u);
  // Qwen's post-processor adds nothing.
  EXPECT_EQ(qwen3().encode("hello", true), (std::vector<int32_t>{14990}));
}

// Random strings over a mix of ASCII, Latin with combining marks, CJK, Hangul jamo, emoji and
// whitespace: decoding the ids gives back exactly the NFC form of the input.
TEST(Tokenizer, RoundTripIsNfcOnRandomUnicode) {
  std::mt19937 rng(1234);
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x391, 0x3C9}, {0x400, 0x4FF},
      {0x600, 0x6FF}, {0x1100, 0x1175}, {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x4FFF},
      {0xAC00, 0xAD00}, {0x1F300, 0x1F6FF}, {0x10000, 0x1007F}};
  // utf8proc's own NFC of the whole string is the reference (the normalizer only composes the
  // stretches that need it).
  auto nfc = [](const std::string& text) {
    utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
    std::string result(reinterpret_cast<char*>(out));
    std::free(out);
    return result;
  };
  for (int trial = 0; trial < 2000; ++trial) {
    std::u32string s;
    int len = std::uniform_int_distribution<int>(0, 60)(rng);
    for (int k = 0; k < len; ++k) {
      auto [lo, hi] = ranges[std::uniform_int_distribution<size_t>(0, ranges.size() - 1)(rng)];
      s += std::uniform_int_distribution<char32_t>(lo, hi)(rng);
    }
    std::string text = utf8::from_u32(s);
    std::vector<int32_t> ids = qwen3().encode(text);
    EXPECT_EQ(qwen3().decode(ids), nfc(text)) << "trial " << trial;
  }
}

// PCRE2's \s includes U+180E; tokenizers' (Oniguruma's White_Space) does not. Ids from
// @huggingface/tokenizers 0.2.0, which emulates Oniguruma.
TEST(Tokenizer, MongolianVowelSeparatorIsNotWhitespace) {
  EXPECT_EQ(qwen3().encode("\xE4\xB8\xAD\\\xE1\xA0\x8E'S\xE1\xA0\x8E" "1ZK\xEF\xBB\xBF"),
            (std::vector<int32_t>{15946, 59, 123970, 236, 6, 50, 123970, 236, 16, 57, 42, 3225}));
}

TEST(Tokenizer, NfcComposesBeforeEncoding) {
  // "e" + COMBINING ACUTE ACCENT encodes like the precomposed "é".
  EXPECT_EQ(qwen3().encode("caf" "e\xCC\x81"), qwen3().encode("caf\xC3\xA9"));
}

// Each maximal ill-formed subsequence becomes one U+FFFD before encoding, which is what the
// reference sees after a lossy decode (String::from_utf8_lossy, TextDecoder).
TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, repaired;
  };
  std::vector<Case> cases = {
      {"a\xFF" "b", "a" + fffd + "b"},
      {"\xC3", fffd},                                  // truncated 2-byte sequence
      {"\xE2\x82" "x", fffd + "x"},                    // truncated 3-byte sequence: one U+FFFD
      {"\xED\xA0\x80", fffd + fffd + fffd},            // encoded surrogate: three
      {"\xC0\xAF", fffd + fffd},                       // overlong
      {"\xF0\x9F\x98" "\xF0\x9F\x98\x80", fffd + "\xF0\x9F\x98\x80"},
      {"\x80\x80", fffd + fffd},                       // lone continuation bytes
  };
  for (const Case& c : cases) {
    EXPECT_EQ(utf8::sanitize(c.in), c.repaired);
    EXPECT_EQ(qwen3().encode(c.in), qwen3().encode(c.repaired));
    EXPECT_EQ(qwen3().decode(qwen3().encode(c.in)), c.repaired);
  }
}

// The single-byte tokens of `bytes`, the way a model may emit a character piece by piece.
std::vector<int32_t> byte_tokens(const std::string& bytes) {
  std::vector<int32_t> ids;
  for (unsigned char b : bytes) ids.push_back(*qwen3().token_to_id(byte_level::byte_to_unicode()[b]));
  return ids;
}

TEST(Tokenizer, DecodeOfBrokenByteSequenceIsReplaced) {
  // The first three bytes of U+1F600 are one maximal ill-formed subsequence: one U+FFFD.
  EXPECT_EQ(qwen3().decode(byte_tokens("x\xF0\x9F\x98")), "x\xEF\xBF\xBD");
}

TEST(DecodeStream, HoldsBackIncompleteCharacters) {
  std::vector<int32_t> ids = byte_tokens("a\xF0\x9F\x98\x80\xC3\xA9");
  ids.insert(ids.begin() + 1, 151645);  // <|im_end|>, special: skipped by default
  DecodeStream stream(qwen3());
  std::vector<std::string> parts;
  for (int32_t id : ids) parts.push_back(stream.step(id));
  EXPECT_EQ(parts, (std::vector<std::string>{"a", "", "", "", "", "\xF0\x9F\x98\x80", "", "\xC3\xA9"}));
  EXPECT_EQ(stream.finish(), "");

  DecodeStream keep(qwen3(), false);
  EXPECT_EQ(keep.step(151645), "<|im_end|>");
  EXPECT_EQ(keep.step(byte_tokens("\xE6")[0]), "");
  EXPECT_EQ(keep.step(byte_tokens("\x97")[0]), "");
  EXPECT_EQ(keep.step(byte_tokens("x")[0]), "\xEF\xBF\xBDx");  // the character never completed
  EXPECT_EQ(keep.step(byte_tokens("\xE6")[0]), "");
  EXPECT_EQ(keep.finish(), "\xEF\xBF\xBD");
}

TEST(DecodeStream, ConcatenationEqualsDecode) {
  std::string text = "日本語 emoji 👨‍👩‍👧 naïve <think>ok</think>";
  std::vector<int32_t> ids = qwen3().encode(text);
  DecodeStream stream(qwen3(), false);
  std::string joined;
  for (int32_t id : ids) joined += stream.step(id);
  joined += stream.finish();
  EXPECT_EQ(joined, qwen3().decode(ids));
  EXPECT_EQ(joined, text);
}
