#pragma once
// The Qwen3 tokenizer fixture, loaded once per test process (tokenizer.json is 11 MB).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/json.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace s0::test {

inline std::filesystem::path qwen3_dir() { return shared_dir() / "fixtures" / "tokenizer" / "qwen3"; }

inline const Tokenizer& qwen3() {
  static const Tokenizer tok = Tokenizer::load(qwen3_dir());
  return tok;
}

inline std::vector<Json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(parse_json(line, path.string()));
  }
  return rows;
}

}  // namespace s0::test
