// Components of tokenizer.json checked on a tiny hand-made byte-level BPE, where every expected
// id can be worked out by hand.
#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

using namespace s0;

namespace {

// Byte-level symbols: "Ġ" is the space. Merges, by rank: a+b, ab+c, Ġ+a.
Json tiny(Json merges = Json::array({"a b", "ab c", "Ġ a"})) {
  Json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"Ġ", 3}, {"ab", 4}, {"abc", 5}, {"Ġa", 6}, {"y", 7}, {"A", 8}};
  return {
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens",
       Json::array({{{"id", 10}, {"content", "<x>"}, {"special", true}, {"lstrip", true}, {"rstrip", false}},
                    {{"id", 11}, {"content", "yy"}, {"special", false}, {"single_word", true}, {"normalized", false}},
                    {{"id", 12}, {"content", "<r>"}, {"special", true}, {"rstrip", true}}})},
  };
}

std::string error_of(const Json& tj) {
  try {
    Tokenizer(tj, Json(), "tok.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

using Ids = std::vector<int32_t>;

}  // namespace

TEST(TokenizerJson, MergesApplyLowestRankFirst) {
  Tokenizer tok(tiny(), Json(), "tiny");
  // "abc" -> a b c -> ab c -> abc; " ab": Ġ a b -> (a+b has rank 0, before Ġ+a) Ġ ab.
  EXPECT_EQ(tok.encode("abc ab"), (Ids{5, 3, 4}));
  EXPECT_EQ(tok.encode(" a"), (Ids{6}));
  EXPECT_EQ(tok.decode({5, 3, 4}), "abc ab");
}

TEST(TokenizerJson, MergesAsPairsEqualMergesAsStrings) {
  Tokenizer pairs(tiny(Json::array({Json::array({"a", "b"}), Json::array({"ab", "c"}), Json::array({"Ġ", "a"})})), Json(), "tiny");
  Tokenizer strings(tiny(), Json(), "tiny");
  for (std::string text : {"abc ab", " a abc", "cba"}) EXPECT_EQ(pairs.encode(text), strings.encode(text)) << text;
}

TEST(TokenizerJson, AddedTokenFlags) {
  Tokenizer tok(tiny(), Json(), "tiny");
  EXPECT_EQ(tok.encode("a <x>b"), (Ids{0, 10, 1}));      // lstrip swallows the space before
  EXPECT_EQ(tok.encode("<r>  a"), (Ids{12, 0}));         // rstrip swallows the spaces after
  EXPECT_EQ(tok.encode("yy a"), (Ids{11, 6}));            // single word
  EXPECT_EQ(tok.encode("ayy"), (Ids{0, 7, 7}));           // inside a word: not the added token
  EXPECT_EQ(tok.decode({0, 10, 1}, true), "ab");
  EXPECT_EQ(tok.decode({0, 10, 1}, false), "a<x>b");
}

TEST(TokenizerJson, NormalizerRunsOnTextBetweenAddedTokens) {
  Json tj = tiny();
  tj["normalizer"] = {{"type", "Sequence"}, {"normalizers", Json::array({{{"type", "NFC"}}, {{"type", "Lowercase"}}})}};
  Tokenizer tok(tj, Json(), "tiny");
  EXPECT_EQ(tok.encode("AB<x>C"), (Ids{4, 10, 2}));
}

TEST(TokenizerJson, PostProcessorTemplateAddsIdsOnRequest) {
  Json tj = tiny();
  tj["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", Json::array({{{"SpecialToken", {{"id", "<x>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
      {"special_tokens", {{"<x>", {{"id", "<x>"}, {"ids", {10}}, {"tokens", {"<x>"}}}}}}};
  Tokenizer tok(tj, Json(), "tiny");
  EXPECT_EQ(tok.encode("a", true), (Ids{10, 0}));
  EXPECT_EQ(tok.encode("a", false), (Ids{0}));
}

TEST(TokenizerJson, UnsupportedComponentsAreNamed) {
  Json a = tiny();
  a["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_EQ(error_of(a), "tok.json: unsupported normalizer type \"BertNormalizer\"");
  Json b = tiny();
  b["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", Json::array({{{"type", "Metaspace"}}})}};
  EXPECT_EQ(error_of(b), "tok.json: unsupported pre_tokenizer type \"Metaspace\"");
  Json c = tiny();
  c["model"]["type"] = "WordPiece";
  EXPECT_EQ(error_of(c), "tok.json: unsupported model type \"WordPiece\" (only BPE is supported)");
  Json d = tiny();
  d["decoder"] = {{"type", "WordPiece"}};
  EXPECT_EQ(error_of(d), "tok.json: unsupported decoder type \"WordPiece\"");
  Json e = tiny();
  e["post_processor"] = {{"type", "BertProcessing"}};
  EXPECT_EQ(error_of(e), "tok.json: unsupported post_processor type \"BertProcessing\"");
  Json f = tiny();
  f["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(f).find("tok.json Split pre_tokenizer: regex (unclosed does not compile"), std::string::npos);
  Json g = tiny();
  g["model"]["merges"] = Json::array({"a q"});
  EXPECT_EQ(error_of(g), "tok.json model: merge #0 (a q) uses a token missing from the vocabulary");
}

TEST(TokenizerJson, MissingFileIsNamed) {
  s0::test::TempDir dir;
  try {
    Tokenizer::load(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "tokenizer file " + (dir.path() / "tokenizer.json").string() + " not found");
  }
}

TEST(TokenizerJson, SplitBehaviors) {
  auto with_split = [](const char* behavior, bool invert = false) {
    Json tj = tiny();
    tj["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", Json::array({{{"type", "Split"}, {"pattern", {{"String", "b"}}}, {"behavior", behavior}, {"invert", invert}},
                                                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
    return Tokenizer(tj, Json(), "tiny");
  };
  // "abc": Isolated -> a | b | c; Removed -> a | c; MergedWithPrevious -> ab | c (ab merges);
  // MergedWithNext -> a | bc; Contiguous "abbc" -> a | bb | c.
  EXPECT_EQ(with_split("Isolated").encode("abc"), (Ids{0, 1, 2}));
  EXPECT_EQ(with_split("Removed").encode("abc"), (Ids{0, 2}));
  EXPECT_EQ(with_split("MergedWithPrevious").encode("abc"), (Ids{4, 2}));
  EXPECT_EQ(with_split("MergedWithNext").encode("abc"), (Ids{0, 1, 2}));
  EXPECT_EQ(with_split("Contiguous").encode("abbc"), (Ids{0, 1, 1, 2}));
  EXPECT_EQ(with_split("Removed", true).encode("abcb"), (Ids{1, 1}));
}
