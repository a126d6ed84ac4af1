// `s0 train` end to end on a fixture model, and its bad input: each a one-line error (or a
// warning for skipped examples) and the right exit status.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "check/reference_fixture.h"
#include "core/error.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"
#include "adapter/adapter.h"
#include "tune/library_load.h"
#include "tune/trainer.h"

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
  // Every recurrent layer has a state (the library refuses anything else); only layer 1 was trained.
  EXPECT_EQ(a.layers, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(a.trained_layers, std::vector<int64_t>{1});
  EXPECT_EQ(a.config.n_steps, 3);
  EXPECT_GT(std::fabs(a.states.at(1).f32()[0]), 0.0f);
  for (int64_t i = 0; i < a.states.at(0).numel(); ++i) ASSERT_EQ(a.states.at(0).f32()[i], 0.0f);
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
  // ... and says why, line by line (the first three, then a count).
  expect_one_line_error(train(dir, "{\"ids\": [1, 2, 3], \"prompt_len\": 3}\n{\"ids\": [1, 2], \"prompt_len\": 4}\n"),
                        "line 2: prompt_len 4 >= length 2, nothing to learn; skipped");
  std::string five;
  for (int i = 0; i < 5; ++i) five += "{\"ids\": [1, 2], \"prompt_len\": 2}\n";
  expect_one_line_error(train(dir, five), "line 3: prompt_len 2 >= length 2, nothing to learn; skipped; and 2 more");
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
  // A range over attention layers or past the model names them, as a single layer does.
  HybridModel qwen_vl = load_model(test::fixture_model("qwen35-vl-tied"));  // L F L L F
  test::write_text(dir / "vl.jsonl", "{\"ids\": [1, 2, 3, 4], \"prompt_len\": 2}\n");
  auto vl = [&](const std::string& layers) {
    return test::run_s0({"train", "--model", test::fixture_model("qwen35-vl-tied").string(), "--data",
                         (dir / "vl.jsonl").string(), "--out", (dir / "vl").string(), "--layers", layers});
  };
  expect_one_line_error(vl("0-3"), "layer 1 is not a recurrent layer of the model (its recurrent layers: 0,2,3)");
  expect_one_line_error(vl("0-9"), "the model has 5 layers (0-4), there is no layer 9");
  expect_one_line_error(vl("1,4"), "layers 1,4 are not recurrent layers of the model");
}

// The paper's ablation thirds: recurrent layers [n k / 3, n (k + 1) / 3) for early, middle, late;
// a third with no layer in it is refused.
TEST(TrainCli, LayerThirdsSplitTheRecurrentLayers) {
  for (const char* fixture : {"qwen35-vl-tied", "nemotron-h", "bamba"}) {
    const HybridModel model = load_model(test::fixture_model(fixture));
    std::vector<int> all;
    for (const RecurrentLayer& r : model.recurrent) all.push_back(r.layer);
    const size_t n = all.size();
    const char* names[] = {"early", "middle", "late"};
    for (size_t k = 0; k < 3; ++k) {
      const std::vector<int> want(all.begin() + static_cast<std::ptrdiff_t>(n * k / 3),
                                  all.begin() + static_cast<std::ptrdiff_t>(n * (k + 1) / 3));
      if (want.empty()) {
        EXPECT_THROW(parse_layer_selection(names[k], model), Error) << fixture << " " << names[k];
      } else {
        EXPECT_EQ(parse_layer_selection(names[k], model), want) << fixture << " " << names[k];
      }
    }
  }
}

// Every number a flag takes is finite and in range, refused with one line naming the flag.
TEST(TrainCli, NonFiniteAndOutOfRangeFlags) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  for (const std::vector<std::string>& flag :
       std::vector<std::vector<std::string>>{{"--lr", "nan"}, {"--lr", "inf"}, {"--grad-clip", "nan"},
                                             {"--l2", "inf"}, {"--l2", "NaN"}, {"--alpha", "nan"},
                                             {"--alpha", "Infinity"}, {"--lr", "1e999"}}) {
    expect_one_line_error(train(dir, data, flag), flag[0] + ": must be a finite number");
    EXPECT_FALSE(fs::exists(dir / "adapter")) << flag[0];
  }
  expect_one_line_error(train(dir, data, {"--seed", "-1"}), "--seed: must be a whole number");
  expect_one_line_error(train(dir, data, {"--seed", "18446744073709551616"}), "--seed: must be at most");
  auto r = train(dir, data, {"--lr", "-1"});
  expect_one_line_error(r, "--lr: must be greater than 0, got -1");
  EXPECT_LT(r.err.size(), 200u) << r.err;  // no 300-digit bound
}

// The loss actually falls over six steps: the parsed per-step losses, not only the text of the lines.
void expect_loss_falls(const test::CliResult& r) {
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<double> losses;
  const std::regex step_line(R"(step +\d+/6  loss ([0-9.]+))");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), step_line), end; it != end; ++it)
    losses.push_back(std::stod((*it)[1]));
  ASSERT_EQ(losses.size(), 6u) << r.out;
  for (double l : losses) ASSERT_TRUE(std::isfinite(l));
  EXPECT_LT(losses.back(), losses.front() - 0.01) << r.out;
}

TEST(TrainCli, LossFalls) {
  test::TempDir dir;
  expect_loss_falls(train(dir, fixture_data("falcon-h1-plain"), {"--steps", "6", "--lr", "0.05"}));
}

// The state-offset variant trains too, and its folder says what it holds; a resumed run must keep
// the variant.
TEST(TrainCli, StateOffsetVariantLowersTheLoss) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  expect_loss_falls(train(dir, data, {"--steps", "6", "--lr", "0.05", "--variant", "state-offset"}));
  const AdapterFile a = read_adapter(dir / "adapter");
  EXPECT_EQ(a.config.variant, AdapterVariant::state_offset);
  EXPECT_GT(std::fabs(a.states.at(1).f32()[0]), 0.0f);
  expect_one_line_error(train(dir, data, {"--steps", "8", "--lr", "0.05", "--resume"}, (dir / "adapter").string()),
                        "--variant is s0 but the run trained state-offset");
  expect_one_line_error(train(dir, data, {"--variant", "lora"}, (dir / "other").string()),
                        "--variant: unknown variant \"lora\" (expected s0 or state-offset)");
}

// An adapter trained on some layers loads in the s0-tuning library (its load() logic, restated),
// and s0 generate applies it: untrained layers hold zeros, which stay zero (not NaN) under
// normalize and alpha, so they start as if there were no adapter.
TEST(TrainCli, LayerSubsetAdapterLoadsInTheLibrary) {
  test::TempDir dir;
  auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "2", "--layers", "1", "--normalize"});
  ASSERT_EQ(r.status, 0) << r.err;
  const HybridModel model = load_model(test::fixture_model("falcon-h1-plain"));
  EXPECT_EQ(test::library_load_error(dir / "adapter", model), "");
  const Json meta = load_json_file(dir / "adapter" / "meta.json");
  EXPECT_EQ(meta["recurrent_layers"], Json({0, 1}));
  EXPECT_EQ(meta["trained_layers"], Json({1}));
  const StateSet active = activate_adapter(read_adapter(dir / "adapter"), model);
  for (int64_t i = 0; i < active.states[0].numel(); ++i) ASSERT_EQ(active.states[0].f32()[i], 0.0f);
  double sq = 0;
  for (int64_t i = 0; i < active.states[1].numel(); ++i) sq += double(active.states[1].f32()[i]) * active.states[1].f32()[i];
  EXPECT_NEAR(std::sqrt(sq), 0.65, 1e-5);  // normalised, then the Mamba-2 alpha
  // Generation starts from these states: the zero state of the untrained layer gives the same
  // logits, bit for bit, as starting that layer with no state at all.
  StateSet only_trained;
  only_trained.states = {Tensor(), active.states[1]};
  ReferenceFixture fx = ReferenceFixture::open(test::fixture_model("falcon-h1-plain"), model);
  auto logits = [&](const StateSet& st) {
    ForwardOptions fo;
    fo.all_logits = true;
    const ForwardOutput out = forward(model, PackedBatch::from_sequences({fx.sequences[0]}, {&st}), fo);
    return std::vector<float>(out.logits.f32(), out.logits.f32() + out.logits.numel());
  };
  EXPECT_EQ(logits(active), logits(only_trained));
}

// The states do not depend on the thread count, bit for bit.
TEST(TrainCli, StatesIdenticalForAnyThreadCount) {
  test::TempDir one, two;
  for (const std::string fixture : {"falcon-h1", "qwen35-text"}) {
    auto run = [&](const test::TempDir& dir, const std::string& threads) {
      test::write_text(dir / "data.jsonl", fixture_data(fixture));
      return test::run_s0({"train", "--model", test::fixture_model(fixture).string(), "--data",
                           (dir / "data.jsonl").string(), "--out", (dir / fixture).string(), "--steps", "3",
                           "--lr", "0.05", "--threads", threads});
    };
    ASSERT_EQ(run(one, "1").status, 0);
    ASSERT_EQ(run(two, "2").status, 0);
    EXPECT_EQ(test::read_text(one / fixture / "states.safetensors"), test::read_text(two / fixture / "states.safetensors"))
        << fixture;
  }
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
  // File by file into a folder of our own: the fixture folder is read-only, and a copied folder would
  // keep that mode, which only root could then write into.
  fs::create_directory(dir / "m");
  for (const auto& e : fs::directory_iterator(test::fixture_model("falcon-h1-plain")))
    fs::copy_file(e.path(), dir / "m" / e.path().filename());
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
  const pid_t first = test::start_s0_silently(args);
  ASSERT_GE(first, 0);
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

// A learning rate whose first update overflows float: the states stay the last finite ones (here:
// none were saved), never inf or NaN on disk, and the config never holds a non-finite number.
TEST(TrainCli, UpdateToNonFiniteStatesIsNotSaved) {
  test::TempDir dir;
  auto r = train(dir, fixture_data("falcon-h1-plain"), {"--steps", "5", "--lr", "1e39"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.err.find("the update made the states non-finite"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "adapter" / "states.safetensors"));
}

namespace {

// The per-step losses of a run's --log-jsonl.
std::vector<double> logged_losses(const fs::path& log) {
  std::vector<double> losses;
  std::stringstream in(test::read_text(log));
  for (std::string line; std::getline(in, line);) losses.push_back(Json::parse(line)["loss"].get<double>());
  return losses;
}

}  // namespace

// `s0 train` on the GPU and on the CPU follow the same run on both families: the same loss at every
// step (relative 1e-4, the fixtures' tolerance for logits), and for S0 the same states (relative L2
// within the fixtures' training tolerance, 1e-3). The state-offset variant's states are not compared
// element by element: its offsets start at zero with many gradients near zero, where Adam's first
// steps (g / (|g| + eps), so +-lr for any |g| well above eps) turn a sign difference in the
// gradient's last bits into a full step (measured on an H200: 0.9e-3 to 2.8e-3 relative L2 after 4
// steps, with the one-step gradients within 3e-6, StateOffsetOnTheGpu); its losses are compared.
TEST(TrainCli, GpuAndCpuReachTheSameStates) {
  S0_REQUIRE_GPU();
  for (const std::string fixture : {"qwen35-text", "falcon-h1"})
    for (const std::string variant : {"s0", "state-offset"}) {
      test::TempDir dir;
      test::write_text(dir / "data.jsonl", fixture_data(fixture));
      std::map<std::string, AdapterFile> by_device;
      std::map<std::string, std::vector<double>> losses;
      for (const std::string device : {"cpu", "cuda"}) {
        const fs::path log = dir / (device + ".jsonl");
        auto r = test::run_s0({"train", "--model", test::fixture_model(fixture).string(), "--data",
                               (dir / "data.jsonl").string(), "--out", (dir / device).string(), "--steps", "4",
                               "--device", device, "--variant", variant, "--log-jsonl", log.string()});
        ASSERT_EQ(r.status, 0) << device << " " << variant << ": " << r.err;
        by_device[device] = read_adapter(dir / device);
        losses[device] = logged_losses(log);
      }
      ASSERT_EQ(losses["cpu"].size(), 4u);
      ASSERT_EQ(losses["cuda"].size(), 4u);
      for (size_t i = 0; i < 4; ++i) {
        const double rel = std::abs(losses["cuda"][i] - losses["cpu"][i]) / std::abs(losses["cpu"][i]);
        std::printf("[ measured ] %s %s step %zu: GPU vs CPU loss rel %.3g\n", fixture.c_str(), variant.c_str(), i + 1,
                    rel);
        EXPECT_LE(rel, 1e-4) << fixture << " " << variant << " step " << i + 1;
      }
      for (const auto& [layer, cpu] : by_device["cpu"].states) {
        const Tensor& gpu = by_device["cuda"].states.at(layer);
        double diff = 0, ref = 0;
        for (int64_t i = 0; i < cpu.numel(); ++i) {
          diff += std::pow(static_cast<double>(gpu.f32()[i]) - cpu.f32()[i], 2);
          ref += std::pow(static_cast<double>(cpu.f32()[i]), 2);
        }
        const double rel = std::sqrt(diff) / std::sqrt(ref);
        std::printf("[ measured ] %s %s layer %lld: GPU vs CPU states rel L2 %.3g\n", fixture.c_str(), variant.c_str(),
                    static_cast<long long>(layer), rel);
        if (variant == "s0") {
          EXPECT_LE(rel, 1e-3) << fixture << " " << variant << " layer " << layer;
        }
      }
    }
}

// A run stopped after two steps and resumed to three ends with the bits of a run that went to three
// at once; the per-step log of the two invocations reads as one run's.
TEST(TrainCli, ResumeEndsWithTheBitsOfAnUninterruptedRun) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  const std::string whole = (dir / "whole").string(), parts = (dir / "parts").string();
  const std::string log = (dir / "steps.jsonl").string();
  ASSERT_EQ(train(dir, data, {"--steps", "3"}, whole).status, 0);
  ASSERT_EQ(train(dir, data, {"--steps", "2", "--log-jsonl", log}, parts).status, 0);
  EXPECT_TRUE(fs::exists(dir / "parts" / kOptimizerFile));
  const test::CliResult resumed = train(dir, data, {"--steps", "3", "--resume", "--log-jsonl", log}, parts);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("step   3/3"), std::string::npos) << resumed.out;
  EXPECT_EQ(resumed.out.find("step   1/3"), std::string::npos) << resumed.out;  // steps 1-2 were not redone
  EXPECT_EQ(test::read_text(dir / "whole" / "states.safetensors"), test::read_text(dir / "parts" / "states.safetensors"));

  std::vector<Json> lines;
  std::stringstream in(test::read_text(dir / "steps.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["step"].get<int>(), static_cast<int>(i) + 1);
    for (const char* key : {"loss", "objective", "grad_norm", "state_norm", "seconds", "tokens_per_s"})
      EXPECT_TRUE(lines[i][key].is_number()) << key;
    // One norm per trained layer, keyed by layer; their mean is state_norm.
    const Json& norms = lines[i]["state_norms"];
    ASSERT_TRUE(norms.is_object());
    double sum = 0;
    for (const auto& [layer, norm] : norms.items()) sum += norm.get<double>();
    EXPECT_FALSE(norms.empty());
    EXPECT_NEAR(sum / static_cast<double>(norms.size()), lines[i]["state_norm"].get<double>(), 1e-12);
  }
  // The library reads the folder as before: the optimizer beside it is s0's own.
  EXPECT_EQ(read_adapter(dir / "parts").states.size(), read_adapter(dir / "whole").states.size());
}

// Progress goes to stderr (stdout keeps its step lines), one final line on a pipe; --quiet drops it.
TEST(TrainCli, ProgressOnStderrUnlessQuiet) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  const test::CliResult shown = train(dir, data, {"--steps", "2"}, (dir / "a").string());
  ASSERT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.err.find("train: 2/2 steps done in "), std::string::npos) << shown.err;
  EXPECT_EQ(shown.err.find('\r'), std::string::npos) << shown.err;
  EXPECT_EQ(shown.out.find("train: "), std::string::npos) << shown.out;
  const test::CliResult quiet = train(dir, data, {"--steps", "2", "--quiet"}, (dir / "b").string());
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("train: "), std::string::npos) << quiet.err;
}

// Whatever would make the resumed run differ from the one that stopped is refused, naming it.
TEST(TrainCli, ResumeRefusesWhatWouldChangeTheRun) {
  test::TempDir dir;
  const std::string data = fixture_data("falcon-h1-plain");
  const std::string out = (dir / "run").string();
  ASSERT_EQ(train(dir, data, {"--steps", "2"}, out).status, 0);
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume", "--lr", "0.002"}, out),
                        "--resume: " + out + ": --lr is 0.002 but the run used 0.001");
  expect_one_line_error(train(dir, data, {"--steps", "2", "--resume"}, out),
                        "the run has taken 2 steps already; --steps must be more than that");
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume", "--seed", "5"}, out),
                        "the training data (or its order: --seed) differs from the run's");
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume", "--force"}, out), "pass one");
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume"}, (dir / "absent").string()),
                        "no adapter folder to resume");
  // An optimizer that belongs to other states: another run's, copied over this one's.
  ASSERT_EQ(train(dir, data, {"--steps", "1"}, (dir / "other").string()).status, 0);
  fs::copy_file(dir / "other" / kOptimizerFile, dir / "run" / kOptimizerFile, fs::copy_options::overwrite_existing);
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume"}, out),
                        "optimizer.safetensors does not belong to the states in states.safetensors");
  fs::remove(dir / "run" / kOptimizerFile);
  expect_one_line_error(train(dir, data, {"--steps", "4", "--resume"}, out), "optimizer.safetensors: not found");
}
