// `s0 train` end to end on a fixture model, and its bad input: each a one-line error (or a
// warning for skipped examples) and the right exit status.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "check/reference_fixture.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/registry.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

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

test::CliResult train(const test::TempDir& dir, const std::string& data, std::vector<std::string> extra = {},
                      const std::string& out = "") {
  test::write_text(dir / "data.jsonl", data);
  std::vector<std::string> args = {"train", "--model", test::fixture_model("falcon-h1-plain").string(), "--data",
                                   (dir / "data.jsonl").string(), "--out", out.empty() ? (dir / "adapter").string() : out};
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

// --out may not be an input however it is spelled, and --force replaces only an adapter folder.
TEST(TrainCli, OutputNeverOverwritesAnInputOrAForeignFolder) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  // A copy of the model, so that a failure of this test cannot damage the shared fixture.
  fs::copy(test::fixture_model("falcon-h1-plain"), dir / "m");
  const std::string m = (dir / "m").string();
  fs::create_symlink(dir / "m", dir / "link");
  test::write_text(dir / "data.jsonl", data);
  auto run = [&](const std::string& out) {
    return test::run_s0({"train", "--model", m, "--data", (dir / "data.jsonl").string(), "--out", out, "--steps", "1",
                         "--force"});
  };
  for (const std::string& out : {m, m + "/", m + "/../m", (dir / "link").string() + "/"})
    expect_one_line_error(run(out), "is the same path as --model " + m);
  expect_one_line_error(run((dir / "m" / "ads").string()), "lies inside --model " + m);
  expect_one_line_error(run((dir / "data.jsonl").string()), "is the same path as --data");
  expect_one_line_error(run(dir.path().string()), "contains --model");
  EXPECT_EQ(test::read_text(dir / "data.jsonl"), data);
  EXPECT_EQ(std::set<std::string>({"config.json", "model.safetensors", "reference.json", "reference.safetensors"}),
            [&] {
              std::set<std::string> names;
              for (const auto& e : fs::directory_iterator(dir / "m")) names.insert(e.path().filename().string());
              return names;
            }());
  // A folder holding anything but an adapter, or a file, is never replaced.
  fs::create_directories(dir / "notes");
  test::write_text(dir / "notes" / "todo.txt", "keep me");
  expect_one_line_error(run((dir / "notes").string()), "is not an adapter folder (it holds \"todo.txt\"); refusing to replace it");
  EXPECT_EQ(test::read_text(dir / "notes" / "todo.txt"), "keep me");
  test::write_text(dir / "file", "keep me");
  expect_one_line_error(run((dir / "file").string()), "is not an adapter folder; refusing to replace it");
  EXPECT_EQ(test::read_text(dir / "file"), "keep me");
}

// `--out ads/`, `ads//` and `ads/.` are the folder ads; a failed run leaves no folder behind.
TEST(TrainCli, TrailingSlashOnOut) {
  test::TempDir dir;
  const std::string ads = (dir / "adapter").string();
  for (const std::string& out : {ads + "/", ads + "//", ads + "/."}) {
    auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "2", "--force"}, out);
    ASSERT_EQ(r.status, 0) << out << ": " << r.err;
    EXPECT_EQ(read_adapter(ads).config.n_steps, 2);
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path())) names.insert(e.path().filename().string());
    EXPECT_EQ(names, (std::set<std::string>{"adapter", "data.jsonl"})) << out;
  }
  auto bad = train(dir, "", {}, (dir / "fresh").string() + "/");
  EXPECT_EQ(bad.status, 1);
  EXPECT_FALSE(fs::exists(dir / "fresh")) << "a run that wrote nothing leaves no folder";
}

// Two trainings on one folder: the second fails at once, naming the folder and the other process;
// killing the first releases the folder.
TEST(TrainCli, SecondTrainingOnTheSameOutFailsAtOnce) {
  test::TempDir dir;
  test::write_text(dir / "data.jsonl", fixture_data("falcon-h1-plain"));
  const std::vector<std::string> args = {"train", "--model", test::fixture_model("falcon-h1-plain").string(), "--data",
                                         (dir / "data.jsonl").string(), "--out", (dir / "adapter").string(),
                                         "--steps", "100000", "--force"};
  const pid_t first = ::fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> argv;
    std::string bin = S0_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    _exit(127);
  }
  // Wait until the first run has written its first step (it holds the lock from its start).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / "adapter" / "states.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(dir / "adapter" / "states.safetensors"));
  const auto start = std::chrono::steady_clock::now();
  auto second = test::run_s0(args);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::kill(first, SIGKILL);
  int status = 0;
  ::waitpid(first, &status, 0);
  expect_one_line_error(second, (dir / "adapter").string() + ": another s0 process (pid " + std::to_string(first) +
                                    ") is writing this folder");
  EXPECT_LT(seconds, 10.0) << "the second run must fail at once, not after training";
  EXPECT_EQ(second.out, "");
  // The kernel released the killed run's lock: the folder can be written again, and reads whole.
  auto third = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "1", "--force"});
  EXPECT_EQ(third.status, 0) << third.err;
  EXPECT_EQ(read_adapter(dir / "adapter").config.n_steps, 1);
}

// A FIFO or a device as --data is one line of error, never a hang.
TEST(TrainCli, NonRegularDataFile) {
  test::TempDir dir;
  test::UnwrittenFifo fifo(dir / "fifo.jsonl");
  const std::string model = test::fixture_model("falcon-h1-plain").string();
  auto r = test::run_s0({"train", "--model", model, "--data", fifo.path().string(), "--out", (dir / "a").string()});
  expect_one_line_error(r, "fifo.jsonl: is a FIFO (named pipe), expected a regular file");
  EXPECT_FALSE(fifo.rescued());
  r = test::run_s0({"train", "--model", model, "--data", "/dev/null", "--out", (dir / "a").string()});
  expect_one_line_error(r, "/dev/null: is a character device, expected a regular file");
}
