#pragma once
// Training data: JSON lines, one example per line, either {"ids": [...], "prompt_len": n} or
// {"prompt": "...", "completion": "..."} (text, tokenized by the given function). Prompt tokens are
// masked from the loss.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tune/objective.h"

namespace s0 {

struct TokenizedPair {
  std::vector<int64_t> ids;
  int64_t prompt_len = 0;
};
// Turns prompt and completion text into ids (prompt tokens first).
using PairTokenizer = std::function<TokenizedPair(const std::string& prompt, const std::string& completion)>;

struct LoadedData {
  std::vector<Example> examples;
  std::vector<std::string> warnings;  // skipped or truncated examples, one line each
};

// Reads `path`; examples longer than max_length are truncated (a warning), examples with nothing
// to learn (prompt_len >= length after truncation) are skipped (a warning). Fails on an empty
// file, a malformed line, missing or unknown fields, ids outside [0, vocab), or when no example is
// left. `tokenize` may be empty when the file holds ids only.
LoadedData load_training_data(const std::filesystem::path& path, int64_t vocab, int64_t max_length,
                              const PairTokenizer& tokenize);

}  // namespace s0
