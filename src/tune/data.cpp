#include "tune/data.h"

#include <algorithm>

#include "core/error.h"
#include "io/json.h"
#include "io/json_lines.h"

namespace s0 {

LoadedData load_training_data(const std::filesystem::path& path, int64_t vocab, int64_t max_length,
                              const PairTokenizer& tokenize) {
  LoadedData out;
  const size_t rows = for_each_json_line(path, [&](const Json& j, const std::string& where) {
    const bool has_ids = j.contains("ids"), has_text = j.contains("prompt") || j.contains("completion");
    if (has_ids == has_text)
      fail(where, ": expected either \"ids\" and \"prompt_len\", or \"prompt\" and \"completion\"");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const bool known = has_ids ? (it.key() == "ids" || it.key() == "prompt_len")
                                 : (it.key() == "prompt" || it.key() == "completion");
      if (!known) fail(where, ": unknown field \"", it.key(), "\"");
    }
    Example e;
    if (has_ids) {
      const Json& ids = json_field(j, "ids", where);
      if (!ids.is_array()) fail(where, ": \"ids\" must be a list of token ids");
      for (const Json& id : ids) {
        if (!id.is_number_integer()) fail(where, ": \"ids\" holds ", id.dump(), ", not a token id");
        const int64_t v = id.get<int64_t>();
        if (v < 0 || v >= vocab) fail(where, ": token id ", v, " is outside the vocabulary [0, ", vocab, ")");
        e.ids.push_back(v);
      }
      e.prompt_len = json_int(j, "prompt_len", where);
      if (e.prompt_len < 1) fail(where, ": prompt_len must be at least 1 (the first token predicts nothing)");
    } else {
      if (!tokenize) fail(where, ": text examples need the model's tokenizer (tokenizer.json in the model folder)");
      const std::string prompt = json_string(j, "prompt", where), completion = json_string(j, "completion", where);
      TokenizedPair p = tokenize(prompt, completion);
      e.ids = std::move(p.ids);
      e.prompt_len = p.prompt_len;
      if (e.prompt_len < 1) fail(where, ": the prompt tokenizes to nothing");
    }
    const int64_t length = static_cast<int64_t>(e.ids.size());
    if (length > max_length) {
      out.warnings.push_back(where + ": " + std::to_string(length) + " tokens, truncated to max_length " +
                             std::to_string(max_length));
      e.ids.resize(static_cast<size_t>(max_length));
    }
    if (e.prompt_len >= static_cast<int64_t>(e.ids.size())) {
      out.warnings.push_back(where + ": prompt_len " + std::to_string(e.prompt_len) + " >= length " +
                             std::to_string(e.ids.size()) + ", nothing to learn; skipped");
      return;
    }
    out.examples.push_back(std::move(e));
  });
  if (rows == 0) fail(path.string(), ": no examples (the file is empty)");
  if (out.examples.empty()) {
    // The reasons, not just the verdict: the first few lines' warnings and how many more there are.
    constexpr size_t kShown = 3;
    std::string reasons;
    for (size_t i = 0; i < std::min(kShown, out.warnings.size()); ++i)
      reasons += (i ? "; " : "") + out.warnings[i];
    if (out.warnings.size() > kShown) reasons += "; and " + std::to_string(out.warnings.size() - kShown) + " more";
    fail(path.string(), ": every example was skipped, nothing to train on (", reasons, ")");
  }
  return out;
}

}  // namespace s0
