// `s0 generate` and `s0 demo` as a user runs them, on a small random Qwen3.5 model with the byte
// tokenizer: streaming, JSON lines with per-prompt adapters, stop strings, and bad input (one
// line on stderr, non-zero exit).
#include <gtest/gtest.h>

#include "generate/eos.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/random_qwen35.h"
#include "model/arch/registry.h"
#include "support/byte_model_folder.h"
#include "support/test_support.h"
#include "tokenizer/byte_tokenizer.h"

using namespace s0;

namespace {

namespace fs = std::filesystem;

using test::small_dims;
using test::write_adapter_for;
using test::write_model;
using test::write_plain_chat_template;

struct CliModel : ::testing::Test {
  test::TempDir tmp;
  Qwen35Dims dims = small_dims(16);
  std::string model = write_model(tmp / "model", dims);
  std::string adapter = write_adapter_for(tmp / "adapter", dims, 0.5f);
  std::string path(const std::string& name) const { return (tmp / name).string(); }
};

std::vector<Json> json_lines(const std::string& out) {
  std::vector<Json> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) lines.push_back(parse_json(l, "stdout"));
  return lines;
}

void expect_one_line_error(const test::CliResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(CliModel, StreamedPromptEqualsItsJsonLine) {
  const auto streamed = test::run_s0({"generate", "--model", model, "--prompt", "hello", "--max-new-tokens", "8"});
  ASSERT_EQ(streamed.status, 0) << streamed.err;
  test::write_text(tmp / "p.jsonl", R"({"prompt": "hello"})" "\n" R"({"prompt": "hello", "adapter": ")" +
                                        adapter + "\"}\n");
  const auto batch = test::run_s0({"generate", "--model", model, "--prompts", path("p.jsonl"), "--max-new-tokens", "8"});
  ASSERT_EQ(batch.status, 0) << batch.err;
  const auto lines = json_lines(batch.out);  // progress stays out of stdout's JSON lines
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(batch.err.find("generate: 2/2 completions done in "), std::string::npos) << batch.err;
  EXPECT_EQ(streamed.err.find("generate: "), std::string::npos) << "one streamed prompt needs no progress";
  EXPECT_EQ(streamed.out, lines[0]["completion"].get<std::string>() + "\n");
  EXPECT_TRUE(lines[0]["adapter"].is_null());
  EXPECT_EQ(lines[1]["adapter"], adapter);
  EXPECT_NE(lines[0]["completion"], lines[1]["completion"]) << "the adapter changes the output";
  // The per-line adapter equals the same adapter given for the whole run.
  const auto with = test::run_s0(
      {"generate", "--model", model, "--adapter", adapter, "--prompt", "hello", "--max-new-tokens", "8"});
  EXPECT_EQ(with.out, lines[1]["completion"].get<std::string>() + "\n");
}

// A state-offset adapter (the same tensors, read out at every token instead of starting the
// state) loads in `s0 generate`, changes the output, and gives the same text in a batch mixing it
// with an S0 adapter and none as alone.
TEST_F(CliModel, StateOffsetAdapterGeneratesTheSameMixedOrAlone) {
  AdapterFile a = read_adapter(adapter);
  a.config.variant = AdapterVariant::state_offset;
  a.config.alpha = 1.0;
  write_adapter(tmp / "offset", a, false);
  const std::string offset = path("offset");
  test::write_text(tmp / "mixed.jsonl", R"({"prompt": "hello"})" "\n" R"({"prompt": "hello", "adapter": ")" + adapter +
                                            "\"}\n" R"({"prompt": "hello", "adapter": ")" + offset + "\"}\n");
  const auto mixed =
      test::run_s0({"generate", "--model", model, "--prompts", path("mixed.jsonl"), "--max-new-tokens", "8"});
  ASSERT_EQ(mixed.status, 0) << mixed.err;
  const auto lines = json_lines(mixed.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[2]["completion"], lines[0]["completion"]) << "the offset changes the output";
  EXPECT_NE(lines[2]["completion"], lines[1]["completion"]) << "an offset is not an initial state";
  const auto alone = test::run_s0(
      {"generate", "--model", model, "--adapter", offset, "--prompt", "hello", "--max-new-tokens", "8"});
  ASSERT_EQ(alone.status, 0) << alone.err;
  EXPECT_EQ(alone.out, lines[2]["completion"].get<std::string>() + "\n");
}

// --eager (every kernel of a decode step queued by the host) changes nothing but the time: on a GPU
// (the default device where one is present) the same completions as the steps replaying CUDA graphs,
// for a batch mixing no adapter, S0 and a state offset, sampled; on the CPU, which has no graphs, it
// is accepted and the same.
TEST_F(CliModel, EagerGeneratesTheSameCompletions) {
  AdapterFile a = read_adapter(adapter);
  a.config.variant = AdapterVariant::state_offset;
  a.config.alpha = 1.0;
  write_adapter(tmp / "offset", a, false);
  test::write_text(tmp / "mixed.jsonl", R"({"prompt": "hello"})" "\n" R"({"prompt": "hello", "adapter": ")" + adapter +
                                            "\"}\n" R"({"prompt": "world", "adapter": ")" + path("offset") + "\"}\n");
  const std::vector<std::string> args{"generate",      "--model", model, "--prompts",      path("mixed.jsonl"),
                                      "--temperature", "0.8",     "--seed", "3", "--max-new-tokens", "24"};
  const auto replayed = test::run_s0(args);
  ASSERT_EQ(replayed.status, 0) << replayed.err;
  std::vector<std::string> eager_args = args;
  eager_args.push_back("--eager");
  const auto eager = test::run_s0(eager_args);
  ASSERT_EQ(eager.status, 0) << eager.err;
  EXPECT_EQ(json_lines(eager.out).size(), 3u);
  EXPECT_EQ(eager.out, replayed.out);
}

TEST_F(CliModel, StopStringEndsTheTextBeforeIt) {
  // A seed whose sample runs long enough to hold a stop string in its middle.
  std::string seed, text;
  for (int s = 0; s < 20 && text.size() < 6; ++s) {
    seed = std::to_string(s);
    const auto free_run = test::run_s0({"generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "16",
                                        "--temperature", "0.8", "--seed", seed});
    ASSERT_EQ(free_run.status, 0) << free_run.err;
    text = free_run.out.substr(0, free_run.out.size() - 1);
  }
  ASSERT_GE(text.size(), 6u);
  const std::string stop = text.substr(3, 2);
  const auto stopped = test::run_s0({"generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "16",
                                     "--temperature", "0.8", "--seed", seed, "--stop", stop});
  EXPECT_EQ(stopped.out, text.substr(0, text.find(stop)) + "\n");
}

TEST_F(CliModel, BadInput) {
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompt", ""}), "empty");
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompt", std::string(300, 'x')}),
                        "position limit");
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "0"}),
                        "max_new_tokens");
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "-3"}),
                        "max_new_tokens");
  const std::string other = write_adapter_for(tmp / "other", small_dims(32), 0.5f);
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--adapter", other, "--prompt", "hi"}),
                        "state shape");
  Qwen35Dims narrow = dims;
  narrow.vocab = 100;  // the byte tokenizer can produce ids up to 256
  const std::string small_vocab = write_model(tmp / "narrow", narrow);
  expect_one_line_error(test::run_s0({"generate", "--model", small_vocab, "--prompt", "hi~"}),
                        "outside the vocabulary");
  test::write_text(tmp / "bad.jsonl", "{\"text\": \"hi\"}\n");
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompts", path("bad.jsonl")}), "line 1");
  // A GPU this machine lacks (or a build without CUDA), and a dtype that is neither bf16 nor f32.
  expect_one_line_error(test::run_s0({"generate", "--model", model, "--prompt", "hi", "--device", "cuda:7"}),
                        "cuda:7: ");
  expect_one_line_error(
      test::run_s0({"generate", "--model", model, "--prompt", "hi", "--device", "cpu", "--dtype", "f16"}),
      "--dtype: f16 not in");
}

TEST(Demo, TrainsAnAdapterThatChangesTheOutput) {
  const auto r = test::run_s0({"demo"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("step  40/40"), std::string::npos) << r.out;
  const size_t table = r.out.find("with adapter");
  ASSERT_NE(table, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("la la", table), std::string::npos) << r.out;
}

}  // namespace

namespace {

// `s0 eval` and `s0 collect` generating with --model (chat template, greedy or sampled) instead of
// reading --completions.
TEST_F(CliModel, EvalAndCollectGenerateFromTheModel) {
  write_plain_chat_template(model);
  test::write_text(path("gsm.jsonl"), R"({"question": "1 + 1?", "answer": "two #### 2"})" "\n"
                                      R"({"question": "2 + 2?", "answer": "four #### 4"})" "\n");
  const auto eval = test::run_s0({"eval", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--split", "all",
                                  "--model", model, "--adapter", adapter, "--max-new-tokens", "6", "--report",
                                  path("r.json")});
  ASSERT_EQ(eval.status, 0) << eval.err;
  const Json report = load_json_file(path("r.json"));
  EXPECT_NE(report.dump().find("with adapter"), std::string::npos);
  const auto collect = test::run_s0({"collect", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--split", "all",
                                     "--model", model, "--samples", "3", "--max-new-tokens", "6", "--out",
                                     path("train.jsonl")});
  ASSERT_EQ(collect.status, 0) << collect.err;
  EXPECT_NE(collect.out.find("of 6 samples correct"), std::string::npos) << collect.out;
  EXPECT_TRUE(fs::exists(path("train.jsonl")));
}

// What `s0 eval --model` generated is saved beside the report, and rescoring that file with
// --completions gives the same records and pass@k.
TEST_F(CliModel, EvalSavesItsCompletionsForRescoring) {
  write_plain_chat_template(model);
  test::write_text(path("gsm.jsonl"), R"({"question": "1 + 1?", "answer": "two #### 2"})" "\n"
                                      R"({"question": "2 + 2?", "answer": "four #### 4"})" "\n");
  const auto eval = test::run_s0({"eval", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--model", model,
                                  "--samples", "2", "--temperature", "1", "--max-new-tokens", "6", "--report",
                                  path("r.json")});
  ASSERT_EQ(eval.status, 0) << eval.err;
  EXPECT_NE(eval.out.find("completions: " + path("r.completions.jsonl")), std::string::npos) << eval.out;
  const std::vector<Json> saved = json_lines(test::read_text(path("r.completions.jsonl")));
  ASSERT_EQ(saved.size(), 4u);
  EXPECT_EQ(saved[0]["task_id"], "gsm8k/0");
  EXPECT_EQ(saved[3]["task_id"], "gsm8k/1");
  const auto rescore = test::run_s0({"eval", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--completions",
                                     path("r.completions.jsonl"), "--report", path("again.json")});
  ASSERT_EQ(rescore.status, 0) << rescore.err;
  const Json first = load_json_file(path("r.json")), again = load_json_file(path("again.json"));
  EXPECT_EQ(first["records"], again["records"]);
  EXPECT_EQ(first["pass_at_k"], again["pass_at_k"]);
  // The completions file is an output like the report: kept unless --force, never an input.
  const auto kept = test::run_s0({"eval", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--model", model,
                                  "--max-new-tokens", "2", "--report", path("r2.json"), "--completions-out",
                                  path("r.completions.jsonl")});
  EXPECT_EQ(kept.status, 1);
  EXPECT_NE(kept.err.find("r.completions.jsonl: already exists (pass --force to overwrite)"), std::string::npos) << kept.err;
  const auto over_data = test::run_s0({"eval", "--benchmark", "gsm8k", "--data", path("gsm.jsonl"), "--model", model,
                                       "--report", path("r3.json"), "--completions-out", path("gsm.jsonl"), "--force"});
  EXPECT_EQ(over_data.status, 1);
  EXPECT_NE(over_data.err.find("is the same path as --data"), std::string::npos) << over_data.err;
}

}  // namespace

namespace {

TEST(Eos, ConfigAndGenerationConfigIdsBothStop) {
  test::TempDir tmp;
  const Qwen35Dims d = small_dims(16);
  write_model(tmp.path(), d);
  test::write_text(tmp / "generation_config.json", R"({"eos_token_id": [256, 10]})");
  const HybridModel model = load_model(tmp.path());
  EXPECT_EQ(model_eos_ids(model, tmp.path()), (std::vector<int64_t>{256, 10}));
}

}  // namespace

namespace {

// Lays `folder` out in a hub cache as huggingface_hub does: its files as blobs, the snapshot as
// links to them, refs/main naming the snapshot.
void put_in_hub_cache(const fs::path& cache, const std::string& repo_dir_name, const fs::path& folder) {
  const fs::path repo = cache / repo_dir_name, snapshot = repo / "snapshots" / "0123abcd";
  fs::create_directories(snapshot);
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    fs::copy_file(entry.path(), repo / "blobs" / ("blob-" + name));
    fs::create_symlink(fs::path("../../blobs") / ("blob-" + name), snapshot / name);
  }
  test::write_text(repo / "refs" / "main", "0123abcd\n");
}

}  // namespace

// `--model ORG/NAME` and `--adapter ORG/NAME` (also on a prompt line) read the hub cache offline and
// give what the folders give; a repo that is not there is one line saying where s0 looked.
TEST_F(CliModel, RepoIdsResolveFromTheHubCache) {
  const fs::path cache = tmp / "hub";
  put_in_hub_cache(cache, "models--Org--tiny", model);
  put_in_hub_cache(cache, "models--Org--tiny-s0", adapter);
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  const auto by_folder =
      test::run_s0({"generate", "--model", model, "--adapter", adapter, "--prompt", "hello", "--max-new-tokens", "8"});
  const auto by_repo = test::run_s0(
      {"generate", "--model", "Org/tiny", "--adapter", "Org/tiny-s0", "--prompt", "hello", "--max-new-tokens", "8"});
  ASSERT_EQ(by_folder.status, 0) << by_folder.err;
  EXPECT_EQ(by_repo.status, 0) << by_repo.err;
  EXPECT_EQ(by_repo.out, by_folder.out);
  test::write_text(tmp / "p.jsonl", "{\"prompt\": \"hello\", \"adapter\": \"Org/tiny-s0\"}\n");
  const auto line = test::run_s0({"generate", "--model", "Org/tiny@main", "--prompts", path("p.jsonl"),
                                  "--max-new-tokens", "8"});
  ASSERT_EQ(line.status, 0) << line.err;
  EXPECT_EQ(json_lines(line.out).at(0)["completion"].get<std::string>() + "\n", by_folder.out);
  const auto info = test::run_s0({"info", "Org/tiny"});
  EXPECT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("recurrent layers"), std::string::npos);
  expect_one_line_error(test::run_s0({"info", "Org/absent"}),
                        "Org/absent is neither a folder nor in the Hugging Face cache: no " + cache.string() +
                            "/models--Org--absent");
  expect_one_line_error(test::run_s0({"generate", "--model", "Org/tiny", "--adapter", "Org/none", "--prompt", "hi"}),
                        "--adapter: Org/none is neither a folder nor in the Hugging Face cache");
  ::unsetenv("HF_HUB_CACHE");
}
