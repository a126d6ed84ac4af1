// The HumanEval greedy workload, s0's side: the 84 problems of the evaluation split (task ids
// 80-163, eval/dataset.h), each prompt rendered and generated exactly as `s0 eval --model` does
// (the paper's user message through the model's chat template, thinking disabled, greedy, up to
// 512 new tokens, the model folder's EOS ids), all submitted at once so that continuous batching
// runs them (--batch defaults to the number of prompts). Times the generation alone, from the
// first prompt submitted to the last completion done (the model is loaded before; the reference
// script bench/reference/hf_generate_bench.py times its generate() calls the same way).
//
// Prints the prompts' token ids digest (FNV-1a over each prompt's ids in decimal, comma-separated,
// one line per prompt: the reference script prints the same, so identical digests mean both sides
// generate from identical ids) and a last line "RESULT {json}" for bench/humaneval_workload.sh.
//
//   build/bench/humaneval_bench --model DIR [--data humaneval.jsonl] [--device cpu|cuda[:N]]
//                               [--max-new-tokens 512] [--batch N] [--problems N]
//                               [--write-prompts FILE.jsonl]
// DIR: a checkpoint folder with the tokenizer and chat template beside the weights. --data defaults
// to $S0_SHARED_DIR/datasets/humaneval.jsonl. --problems N takes the first N problems of the split
// (quick runs). --write-prompts writes the user messages, {"task_id", "prompt"} per line, for the
// reference script.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "eval/dataset.h"
#include "generate/model_session.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "ops/device_runtime.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Flags {
  std::string model, data, device = "cpu", write_prompts;
  int64_t max_new_tokens = 512, batch = 0, problems = 0;  // 0: all of the split
};

// The digest both sides print: each prompt's ids in decimal joined by ",", a newline after each.
std::string ids_digest(const std::vector<std::vector<int64_t>>& prompts) {
  std::string text;
  for (const std::vector<int64_t>& ids : prompts) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) text += ',';
      text += std::to_string(ids[i]);
    }
    text += "\n";
  }
  return s0::content_digest(text);
}

int64_t positive(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < 1) s0::fail(flag, " must be a positive integer, got \"", value, "\"");
  return v;
}

Flags parse(int argc, char** argv) {
  Flags fl;
  if (const char* shared = std::getenv("S0_SHARED_DIR")) fl.data = (fs::path(shared) / "datasets" / "humaneval.jsonl").string();
  if (argc % 2 == 0) s0::fail("flags come in pairs: --flag value");
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") fl.model = v;
    else if (k == "--data") fl.data = v;
    else if (k == "--device") fl.device = v;
    else if (k == "--write-prompts") fl.write_prompts = v;
    else if (k == "--max-new-tokens") fl.max_new_tokens = positive(k, v);
    else if (k == "--batch") fl.batch = positive(k, v);
    else if (k == "--problems") fl.problems = positive(k, v);
    else s0::fail("unknown flag ", k);
  }
  if (fl.model.empty()) s0::fail("give --model DIR (a checkpoint folder with its tokenizer and chat template)");
  if (fl.data.empty()) s0::fail("give --data humaneval.jsonl (or set S0_SHARED_DIR)");
  return fl;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Flags fl = parse(argc, argv);
    std::vector<s0::Problem> problems = s0::select_split(
        s0::Benchmark::humaneval, s0::load_benchmark(s0::Benchmark::humaneval, fl.data), s0::Split::eval);
    if (fl.problems > 0 && static_cast<size_t>(fl.problems) < problems.size())
      problems.resize(static_cast<size_t>(fl.problems));
    if (!fl.write_prompts.empty()) {
      std::string lines;
      for (const s0::Problem& p : problems) lines += s0::Json{{"task_id", p.id}, {"prompt", p.prompt}}.dump() + "\n";
      s0::write_file_atomic(fl.write_prompts, lines);
    }

    const s0::Device device = s0::parse_device(fl.device, "--device");
    s0::ops::activate_device(device);
    const auto load_start = Clock::now();
    s0::ModelSession session(fl.model, device, std::nullopt);  // matrices as stored: bf16
    const double load_s = seconds_since(load_start);
    const s0::TextGenerator gen = session.text_generator(true);

    // As `s0 eval --model` generates (cli/harness_generation.cpp): chat, thinking off, greedy.
    s0::TextOptions to;
    to.chat = true;
    to.enable_thinking = false;
    to.generation.max_new_tokens = fl.max_new_tokens;
    to.generation.eos_ids = session.eos_ids();
    to.generation.batch = fl.batch > 0 ? fl.batch : static_cast<int64_t>(problems.size());
    std::vector<s0::TextRequest> requests;
    std::vector<std::vector<int64_t>> prompt_ids;
    int64_t prompt_tokens = 0;
    for (const s0::Problem& p : problems) {
      requests.push_back({p.prompt, nullptr});
      prompt_ids.push_back(gen.encode_prompt(p.prompt, to));
      prompt_tokens += static_cast<int64_t>(prompt_ids.back().size());
    }
    const std::string digest = ids_digest(prompt_ids);
    std::printf("s0: %zu prompts (%s to %s), %lld prompt tokens, ids digest %s\n", problems.size(),
                problems.front().id.c_str(), problems.back().id.c_str(), static_cast<long long>(prompt_tokens),
                digest.c_str());
    std::printf("s0: %s loaded on %s in %.1f s; greedy, up to %lld new tokens, batch %lld, EOS ids %s\n",
                fl.model.c_str(), s0::device_name(device).c_str(), load_s,
                static_cast<long long>(fl.max_new_tokens), static_cast<long long>(to.generation.batch),
                s0::Json(to.generation.eos_ids).dump().c_str());
    std::fflush(stdout);

    const auto start = Clock::now();
    const std::vector<s0::TextResult> results = gen.run(requests, to);
    s0::ops::synchronize(device);
    const double wall_s = seconds_since(start);

    int64_t tokens = 0, ended_by_eos = 0;
    for (const s0::TextResult& r : results) {
      tokens += static_cast<int64_t>(r.tokens.size());
      ended_by_eos += r.finish == s0::FinishReason::eos;
    }
    std::printf("s0: generated %lld tokens in %.2f s, %.1f tokens/s (%lld sequences ended at EOS)\n",
                static_cast<long long>(tokens), wall_s, tokens / wall_s, static_cast<long long>(ended_by_eos));
    const s0::Json result = {{"side", "s0"},
                             {"device", s0::device_name(device)},
                             {"prompts", problems.size()},
                             {"prompt_tokens", prompt_tokens},
                             {"digest", digest},
                             {"eos_ids", to.generation.eos_ids},
                             {"batch", to.generation.batch},
                             {"max_new_tokens", fl.max_new_tokens},
                             {"seconds", wall_s},
                             {"tokens", tokens},
                             {"ended_by_eos", ended_by_eos}};
    std::printf("RESULT %s\n", result.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "humaneval_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
