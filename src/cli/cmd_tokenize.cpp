// `s0 tokenize`: text to ids (and back with --decode) with a model folder's tokenizer, one JSON
// object per line on stdin and stdout, so it composes with other tools.
#include <iostream>
#include <string>

#include "cli/command.h"
#include "cli/model_folder.h"
#include "core/error.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace s0::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  bool decode = false;
  bool add_special = false;
  bool skip_special = false;
};

int run_tokenize(const TokenizeOptions& opt) {
  Tokenizer tok = Tokenizer::load(opt.model);
  std::string line;
  for (size_t number = 1; std::getline(std::cin, line); ++number) {
    if (line.empty() || line == "\r") continue;
    std::string origin = "stdin line " + std::to_string(number);
    // Ill-formed UTF-8 inside the line is repaired the same way encode() repairs text, so the
    // JSON parser sees valid UTF-8 (U+FFFD per maximal ill-formed subsequence).
    Json in = parse_json(utf8::sanitize(line), origin);
    Json out = Json::object();
    if (opt.decode) {
      if (!in.is_object() || !in.contains("ids") || !in["ids"].is_array()) fail(origin, ": expected {\"ids\": [...]}");
      std::vector<int32_t> ids;
      for (const Json& id : in["ids"]) {
        if (!id.is_number_integer()) fail(origin, ": ids must be integers");
        int64_t v = id.get<int64_t>();
        if (v < 0 || static_cast<size_t>(v) >= tok.vocab_size()) fail(origin, ": id ", v, " is outside the vocabulary");
        ids.push_back(static_cast<int32_t>(v));
      }
      out["text"] = tok.decode(ids, opt.skip_special);
    } else {
      if (!in.is_object() || !in.contains("text") || !in["text"].is_string()) fail(origin, ": expected {\"text\": \"...\"}");
      out["ids"] = tok.encode(in["text"].get<std::string>(), opt.add_special);
    }
    std::cout << out.dump() << '\n' << std::flush;
  }
  return 0;
}

Runner setup(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  add_model_option(app, opt->model, "model folder holding tokenizer.json (and tokenizer_config.json)")->required();
  app.add_flag("--decode", opt->decode, "read {\"ids\": [...]} lines and write {\"text\": ...} instead");
  app.add_flag("--add-special-tokens", opt->add_special, "apply the tokenizer's post-processor (e.g. a BOS id)");
  app.add_flag("--skip-special-tokens", opt->skip_special, "with --decode: leave special tokens out of the text");
  app.footer(
      "Reads JSON lines {\"text\": \"...\"} on stdin and writes {\"ids\": [...]} per line (ids as Hugging Face "
      "tokenizers produce them, without special tokens unless --add-special-tokens). Ill-formed UTF-8 becomes U+FFFD.");
  return [opt] { return run_tokenize(*opt); };
}

S0_COMMAND("tokenize", "text to token ids (or back, with --decode) using a model's tokenizer.json", setup);

}  // namespace
}  // namespace s0::cli
