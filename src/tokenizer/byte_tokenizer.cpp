#include "tokenizer/byte_tokenizer.h"

#include "io/file.h"
#include "io/json.h"
#include "tokenizer/byte_level.h"

namespace s0 {

void write_byte_tokenizer(const std::filesystem::path& dir) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level::byte_to_unicode()[static_cast<size_t>(b)]] = b;
  const Json tokenizer = {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", kByteTokenizerEos},
         {"content", kByteTokenizerEosText},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array()}}}};
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "tokenizer.json", dump_json(tokenizer) + "\n");
  write_file_atomic(dir / "tokenizer_config.json", dump_json(Json{{"eos_token", kByteTokenizerEosText}}) + "\n");
}

}  // namespace s0
