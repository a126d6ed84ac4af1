// `s0 train` end to end on a fixture model, and its bad input: each a one-line error (or a
// warning for skipped examples) and the right exit status.
#include <gtest/gtest.h>

#include <cmath>

#include "check/reference_fixture.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/registry.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// The fixture's sequences as training lines {"ids", "prompt_len"}.
std::string fixture_data(const std::string& fixture) {
  HybridModel m = load_model(test::fixture_model(fixture));
  ReferenceFixture fx = ReferenceFixture::open(test::fixture_model(fixture), m);
  std::string out;
  for (size_t k = 0; k < fx.sequences.size(); ++k)
    out += Json{{"ids", fx.sequences[k]}, {"prompt_len", fx.prompt_lens[k]}}.dump() + "\n";
  return out;
}

test::CliResult train(const test::TempDir& dir, const std::string& data, std::vector<std::string> extra = {}) {
  test::write_text(dir / "data.jsonl", data);
  std::vector<std::string> args = {"train", "--model", test::fixture_model("falcon-h1-plain").string(), "--data",
                                   (dir / "data.jsonl").string(), "--out", (dir / "adapter").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run_s0(args);
}

void expect_one_line_error(const test::CliResult& r, const std::string& fragment) {
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("s0: error: ", 0), r.err.find("s0: error: ")) << r.err;
}

}  // namespace

TEST(TrainCli, TrainsAndWritesAnAdapter) {
  test::TempDir dir;
  auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "3", "--layers", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("step   1/3  loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step   3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done: loss"), std::string::npos) << r.out;
  AdapterFile a = read_adapter(dir / "adapter");
  EXPECT_EQ(a.layers, std::vector<int64_t>{1});
  EXPECT_EQ(a.config.n_steps, 3);
  EXPECT_GT(std::fabs(a.states.at(1).f32()[0]), 0.0f);
  // The same output folder again is refused, then replaced with --force.
  expect_one_line_error(train(dir, fixture_data("falcon-h1-plain"), {"--steps", "1"}), "already exists");
  EXPECT_EQ(train(dir, fixture_data("falcon-h1-plain"), {"--steps", "1", "--force"}).status, 0);
}

TEST(TrainCli, BadData) {
  test::TempDir dir;
  expect_one_line_error(train(dir, ""), "no examples (the file is empty)");
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 3]}\n"), "line 1: missing field \"prompt_len\"");
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 3], \"prompt_len\": 1, \"weight\": 2}\n"),
                        "line 1: unknown field \"weight\"");
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 999], \"prompt_len\": 1}\n"), "token id 999 is outside");
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 3], \"prompt_len\": 1}\nnot json\n"), "line 2: malformed JSON");
  expect_one_line_error(train(dir, "{\"prompt\": \"a\", \"completion\": \"b\"}\n"), "need the model's tokenizer");
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 3], \"prompt_len\": 3}\n"), "every example was skipped");
  // One example with nothing to learn is skipped with a warning; the rest train.
  auto r = train(dir, "{\"ids\": [1, 2, 3], \"prompt_len\": 5}\n{\"ids\": [4, 5, 6, 7], \"prompt_len\": 2}\n",
                 {"--steps", "1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: "), std::string::npos);
  EXPECT_NE(r.err.find("line 1: prompt_len 5 >= length 3, nothing to learn; skipped"), std::string::npos) << r.err;
  // Truncation at --max-length warns.
  r = train(dir, "{\"ids\": [1, 2, 3, 4, 5, 6], \"prompt_len\": 2}\n", {"--steps", "1", "--max-length", "4", "--force"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("6 tokens, truncated to max_length 4"), std::string::npos) << r.err;
}

TEST(TrainCli, BadFlags) {
  test::TempDir dir;
  expect_one_line_error(train(dir, fixture_data("falcon-h1-plain"), {"--layers", "7"}), "layer selection \"7\"");
  auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "0"});
  EXPECT_NE(r.status, 0);
  r = train(dir, fixture_data("falcon-h1-plain"), {"--lr", "-1"});
  EXPECT_NE(r.status, 0);
}

// A learning rate so large (states near float max after one step) that the second step overflows: training stops with a clear
// message and the states of the last good step stay on disk.
TEST(TrainCli, NonFiniteLossStopsAndKeepsLastGoodStates) {
  test::TempDir dir;
  auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "5", "--lr", "3e38"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.err.find("is not finite (NaN or inf)"), std::string::npos) << r.err;
  AdapterFile a = read_adapter(dir / "adapter");
  for (const auto& [layer, t] : a.states)
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_TRUE(std::isfinite(t.f32()[i]));
}
