// The JSON reader on mutated Hugging Face configs: a valid value or an s0::Error, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "support/test_support.h"

using namespace s0;

TEST(JsonFuzz, MutatedConfigsParseOrFailCleanly) {
  const std::string good = read_file(test::fixture_model("falcon-h1") / "config.json");
  const std::string alphabet = "{}[]\":,0123456789.-eE InfinityNaNtruefalsenull\\u\x01\xff";
  std::mt19937_64 rng(99);
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string m = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 5); ++k) {
      size_t p = rng() % m.size();
      switch (rng() % 3) {
        case 0: m[p] = alphabet[rng() % alphabet.size()]; break;
        case 1: m.erase(p, 1 + rng() % 8); break;
        default: m.insert(p, 1, alphabet[rng() % alphabet.size()]); break;
      }
      if (m.empty()) m.push_back('{');  // not m = "{": g++ 12 warns on that falsely (-Wrestrict)
    }
    try {
      Json j = parse_json(m, "config.json");
      (void)j.dump();
      ++ok;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
      ++bad;
    }
  }
  EXPECT_GT(bad, 1000);
  EXPECT_EQ(ok + bad, 3000);
}
