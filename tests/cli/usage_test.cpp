// The command line itself: usage errors are one line `s0: error: ...` with exit status 1 (as the
// README promises), --help and --version exit 0, every command takes --threads, and values that
// make no sense (non-finite, out of range, an option that applies to nothing) are refused.
#include <gtest/gtest.h>

#include "support/test_support.h"

using namespace s0;

namespace {

// Exactly one line on stderr, starting "s0: error: " and holding `fragment`; exit status 1.
void expect_usage_error(const std::vector<std::string>& args, const std::string& fragment) {
  const test::CliResult r = test::run_s0(args);
  std::string shown;
  for (const std::string& a : args) shown += a + " ";
  EXPECT_EQ(r.status, 1) << shown << r.err;
  const size_t at = r.err.find("s0: error: ");
  ASSERT_NE(at, std::string::npos) << shown << r.err;
  const std::string line = r.err.substr(at);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << shown << r.err;  // one line, the last
  EXPECT_NE(line.find(fragment), std::string::npos) << shown << r.err;
  EXPECT_LT(line.size(), 240u) << shown << r.err;  // no 300-digit bounds
}

const std::string model() { return test::fixture_model("falcon-h1-plain").string(); }

}  // namespace

TEST(Usage, ParseErrorsAreOneLineWithStatusOne) {
  expect_usage_error({"train", "--model", model(), "--data", "d", "--out", "o", "--bogus"}, "--bogus");
  expect_usage_error({"train", "--data", "d", "--out", "o"}, "--model is required");
  expect_usage_error({"info", model(), "extra"}, "extra");
  expect_usage_error({"train", "--model", model(), "--data", "d", "--out", "o", "--steps", "abc"}, "--steps");
  expect_usage_error({"train", "--model", model(), "--data", "d", "--out", "o", "--lr", "-1"},
                     "--lr: must be greater than 0, got -1");
  expect_usage_error({"frobnicate"}, "frobnicate");
  // No command: the usage, then the error line.
  const test::CliResult bare = test::run_s0({});
  EXPECT_EQ(bare.status, 1);
  EXPECT_NE(bare.err.find("train"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("s0: error: "), std::string::npos) << bare.err;
}

TEST(Usage, HelpAndVersionExitZero) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"--version"}, {"train", "--help"}, {"generate", "--help"}, {"eval", "--help"}}) {
    const test::CliResult r = test::run_s0(args);
    EXPECT_EQ(r.status, 0) << args[0] << r.err;
    EXPECT_FALSE(r.out.empty()) << args[0];
  }
  EXPECT_NE(test::run_s0({"train", "--help"}).out.find("--threads"), std::string::npos);
}

TEST(Usage, EveryCommandTakesThreadsWithinRange) {
  for (const std::string cmd : {"info", "train", "generate", "eval", "collect", "tokenize", "demo",
                                "check-reference", "chat-template", "eval-stats"}) {
    expect_usage_error({cmd, "--threads", "0"}, "--threads: must be between 1 and ");
    expect_usage_error({cmd, "--threads", "nan"}, "--threads: must be a finite number");
  }
}

TEST(Usage, NonFiniteAndUnboundedValuesAreRefused) {
  const std::vector<std::string> gen = {"generate", "--model", model(), "--prompt", "ab"};
  auto with = [&](std::vector<std::string> base, std::vector<std::string> extra) {
    base.insert(base.end(), extra.begin(), extra.end());
    return base;
  };
  expect_usage_error(with(gen, {"--temperature", "nan"}), "--temperature: must be a finite number");
  expect_usage_error(with(gen, {"--top-p", "inf"}), "--top-p: must be a finite number");
  expect_usage_error(with(gen, {"--alpha", "nan"}), "--alpha: must be a finite number");
  expect_usage_error(with(gen, {"--seed", "-1"}), "--seed: must be a whole number");
  expect_usage_error(with(gen, {"--seed", "99999999999999999999999"}), "--seed: must be at most");
  expect_usage_error(with(gen, {"--alpha", "0.5"}), "--alpha scales an adapter's states: add --adapter DIR");
  const std::vector<std::string> ev = {"eval", "--benchmark", "gsm8k", "--data", "d", "--completions", "c",
                                       "--report", "r"};
  expect_usage_error(with(ev, {"--timeout", "inf"}), "--timeout: must be a finite number");
  expect_usage_error(with(ev, {"--timeout", "1e12"}), "--timeout: must be between 0.01 and 3600, got 1e12");
  expect_usage_error(with(ev, {"--alpha", "0.5"}), "--alpha scales an adapter's states: add --adapter DIR");
  const std::vector<std::string> co = {"collect", "--benchmark", "gsm8k", "--data", "d", "--completions", "c",
                                       "--out", "o"};
  expect_usage_error(with(co, {"--timeout", "-1"}), "--timeout: must be between 0.01 and 3600");
  expect_usage_error(with(co, {"--alpha", "0.5"}), "--alpha scales an adapter's states");
  expect_usage_error({"demo", "--lr", "nan"}, "--lr: must be a finite number");
}

// --state-dtype and --kv-dtype: f32 or bf16, nothing else, for every command that generates.
TEST(Usage, CacheDtypesAreF32OrBf16) {
  const std::string m = model();
  const std::vector<std::vector<std::string>> commands = {
      {"generate", "--model", m, "--prompt", "x"},
      {"eval", "--model", m, "--benchmark", "gsm8k", "--data", "d", "--report", "r"},
      {"collect", "--model", m, "--benchmark", "gsm8k", "--data", "d", "--out", "o"},
      {"serve", "--model", m},
      {"experiment", "--model", m, "--benchmark", "gsm8k", "--data", "d", "--out", "o"}};
  for (const std::vector<std::string>& command : commands)
    for (const std::string flag : {"--state-dtype", "--kv-dtype"}) {
      std::vector<std::string> args = command;
      args.insert(args.end(), {flag, "f16"});
      expect_usage_error(args, flag + ": f16 not in {f32,bf16}");
    }
}

// --dtype names the weight matrices' dtype: bf16 or f32, nothing else. `s0 info` shows what each
// choice takes in memory.
TEST(Usage, DtypeIsBf16OrF32) {
  expect_usage_error({"info", "--dtype", "fp8", model()}, "--dtype: fp8 not in {bf16,f32}");
  // The fixtures' tolerances hold for float32 weights: check-reference offers f32 alone.
  expect_usage_error({"check-reference", "--dtype", "bf16", model()}, "--dtype: bf16 not in {f32}");
  EXPECT_EQ(test::run_s0({"check-reference", "--device", "cpu", "--dtype", "f32", model()}).status, 0);
  const test::CliResult f32 = test::run_s0({"info", model()});
  ASSERT_EQ(f32.status, 0) << f32.err;
  EXPECT_NE(f32.out.find("GPU weights take:  "), std::string::npos) << f32.out;
  EXPECT_NE(f32.out.find("(matrices as stored)"), std::string::npos) << f32.out;
  const test::CliResult bf16 = test::run_s0({"info", "--dtype", "bf16", model()});
  ASSERT_EQ(bf16.status, 0) << bf16.err;
  EXPECT_NE(bf16.out.find("(matrices BF16)"), std::string::npos) << bf16.out;
}
