// Outputs checked against inputs: the same path however it is spelled (trailing slash, "..", a
// symbolic or hard link), an output inside an input, an output containing an input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/output_path.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

std::string overlap_error(const fs::path& out, const std::vector<NamedPath>& inputs) {
  try {
    refuse_overlap({"--out", out}, inputs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(OutputPath, TrailingSeparatorsAndDotsAreDropped) {
  EXPECT_EQ(normalize_output_path("ads/"), fs::path("ads"));
  EXPECT_EQ(normalize_output_path("ads//"), fs::path("ads"));
  EXPECT_EQ(normalize_output_path("./ads/."), fs::path("./ads"));
  EXPECT_EQ(normalize_output_path("/tmp/x/ads/./"), fs::path("/tmp/x/ads"));
  EXPECT_EQ(normalize_output_path("ads"), fs::path("ads"));
  EXPECT_EQ(normalize_output_path("."), fs::path("."));
  EXPECT_EQ(normalize_output_path("/"), fs::path("/"));
}

TEST(OutputPath, AnOutputThatIsContainsOrLiesInsideAnInputIsRefused) {
  test::TempDir dir;
  const fs::path m = dir / "m";
  fs::create_directories(m / "sub");
  test::write_text(m / "model.safetensors", "w");
  test::write_text(dir / "data.jsonl", "{}\n");
  fs::create_symlink(m, dir / "link");
  fs::create_hard_link(dir / "data.jsonl", dir / "hard.jsonl");
  const std::vector<NamedPath> inputs = {{"--model", m}, {"--data", dir / "data.jsonl"}, {"--completions", ""}};
  const std::string ms = m.string();
  for (const fs::path& same : {m, fs::path(ms + "/"), fs::path(ms + "/../m"), m / "sub" / "..", dir / "link",
                               fs::path((dir / "link").string() + "/.")})
    EXPECT_EQ(overlap_error(same, inputs), "--out " + same.string() + " is the same path as --model " + ms +
                                               "; refusing to overwrite it");
  EXPECT_EQ(overlap_error(dir / "hard.jsonl", inputs), "--out " + (dir / "hard.jsonl").string() +
                                                           " is the same path as --data " + (dir / "data.jsonl").string() +
                                                           "; refusing to overwrite it");
  EXPECT_EQ(overlap_error(dir / "link" / "ads", inputs),
            "--out " + (dir / "link" / "ads").string() + " lies inside --model " + ms + "; refusing to write into it");
  EXPECT_EQ(overlap_error(dir.path(), inputs), "--out " + dir.path().string() + " contains --model " + ms + "; refusing to replace it");
  EXPECT_EQ(overlap_error(dir / "ads", inputs), "");
  EXPECT_EQ(overlap_error(dir / "mm", inputs), "") << "a common prefix of names is not containment";
}

TEST(OutputPath, AFileOutputIsReplacedOnlyWithForceAndOnlyIfItIsAFile) {
  test::TempDir dir;
  auto error_of = [](const fs::path& p, bool force) {
    try {
      check_file_output({"--report", p}, force);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of(dir / "r.json", false), "");
  test::write_text(dir / "r.json", "{}");
  EXPECT_EQ(error_of(dir / "r.json", false), (dir / "r.json").string() + ": already exists (pass --force to overwrite)");
  EXPECT_EQ(error_of(dir / "r.json", true), "");
  EXPECT_EQ(error_of(dir.path(), true),
            dir.path().string() + ": exists and is not a regular file (given to --report); refusing to replace it");
}
