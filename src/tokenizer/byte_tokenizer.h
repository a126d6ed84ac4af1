#pragma once
// The smallest real tokenizer: byte-level BPE with no merges (id b = byte b) plus one special
// end-of-text token (id 256), written as a Hugging Face tokenizer.json and tokenizer_config.json.
// For models made up on the spot (the demo, tests) so that prompts can still be text.
#include <filesystem>
#include <string>

namespace s0 {

constexpr int kByteTokenizerEos = 256;
constexpr const char* kByteTokenizerEosText = "<|endoftext|>";

void write_byte_tokenizer(const std::filesystem::path& dir);

}  // namespace s0
