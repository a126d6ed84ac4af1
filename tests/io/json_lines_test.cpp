// The JSON-lines reader: lines across read-chunk boundaries, blank lines, a last line without a
// newline, and the cap on one line's length, reached without reading the rest of the line.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "io/json_lines.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> origins_of(const fs::path& p) {
  std::vector<std::string> out;
  for_each_json_line(p, [&](const Json& j, const std::string& origin) {
    out.push_back(origin + " " + std::to_string(j.at("s").get<std::string>().size()));
  });
  return out;
}

// A file of one line {"s": "yyy..."} exactly `bytes` long (without its newline).
void write_line_of(const fs::path& p, size_t bytes) {
  const std::string head = "{\"s\": \"", tail = "\"}";
  test::write_text(p, head + std::string(bytes - head.size() - tail.size(), 'y') + tail + "\n");
}

}  // namespace

TEST(JsonLines, LinesAcrossChunksBlankLinesAndNoFinalNewline) {
  test::TempDir dir;
  const std::string big(700'000, 'x');  // two of these straddle the reader's 1 MiB chunks
  test::write_text(dir / "d.jsonl", "{\"s\": \"" + big + "\"}\n\n  \r\n{\"s\": \"" + big + "\"}\r\n{\"s\": \"ab\"}");
  const std::string f = (dir / "d.jsonl").string();
  EXPECT_EQ(origins_of(dir / "d.jsonl"),
            (std::vector<std::string>{f + " line 1 700000", f + " line 4 700000", f + " line 5 2"}));
}

TEST(JsonLines, ALineLongerThanTheCapIsAnErrorNamingFileLineAndLimit) {
  test::TempDir dir;
  const fs::path p = dir / "huge.jsonl";
  {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fputs("{\"s\": \"ok\"}\n{\"s\": \"", f);
    const std::string block(1 << 20, 'y');
    for (int i = 0; i < 50; ++i) std::fwrite(block.data(), 1, block.size(), f);  // a 50 MiB line
    std::fputs("\"}\n", f);
    std::fclose(f);
  }
  const auto start = std::chrono::steady_clock::now();
  std::string err;
  try {
    origins_of(p);
  } catch (const Error& e) {
    err = e.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ timing ] rejecting a 50 MiB JSON line took %.3f s\n", seconds);
  RecordProperty("reject_50MiB_line_seconds", std::to_string(seconds));
  EXPECT_EQ(err, p.string() + " line 2: longer than 16 MiB, the limit for one JSON line");
}

TEST(JsonLines, TheCapIsExact) {
  test::TempDir dir;
  write_line_of(dir / "at.jsonl", kMaxJsonLineBytes);
  EXPECT_EQ(origins_of(dir / "at.jsonl").size(), 1u);
  write_line_of(dir / "over.jsonl", kMaxJsonLineBytes + 1);
  try {
    origins_of(dir / "over.jsonl");
    ADD_FAILURE() << "no error for a line one byte over the limit";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "over.jsonl").string() + " line 1: longer than 16 MiB, the limit for one JSON line");
  }
}
