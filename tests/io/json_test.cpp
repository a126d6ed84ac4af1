#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "io/json.h"

using namespace s0;

TEST(Json, AcceptsPythonNonFiniteTokens) {
  Json j = parse_json(R"({"a": [0.0, Infinity], "b": -Infinity, "c": NaN, "s": "Infinity NaN"})", "t");
  EXPECT_TRUE(std::isinf(j["a"][1].get<double>()));
  EXPECT_GT(j["a"][1].get<double>(), 0);
  EXPECT_LT(j["b"].get<double>(), 0);
  EXPECT_TRUE(std::isnan(j["c"].get<double>()));
  EXPECT_EQ(j["s"].get<std::string>(), "Infinity NaN");
}

TEST(Json, MalformedNamesOrigin) {
  try {
    parse_json("{\"a\": [1, 2", "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.json: malformed JSON"), std::string::npos);
  }
}

TEST(Json, FieldErrorsNameTheField) {
  Json j = parse_json(R"({"n": "x", "f": 1.5})", "c.json");
  EXPECT_THROW(json_int(j, "n", "c.json"), Error);
  EXPECT_THROW(json_int(j, "f", "c.json"), Error);
  try {
    json_int(j, "missing", "c.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "c.json: missing field \"missing\"");
  }
  EXPECT_EQ(json_int_or(j, "missing", 7, "c.json"), 7);
}

TEST(Json, DumpWritesPythonNonFiniteTokens) {
  Json j = parse_json(R"({"limit": [0.0, Infinity], "x": -Infinity, "n": NaN, "s": "ok"})", "t");
  std::string text = dump_json(j, -1);
  EXPECT_EQ(text, R"({"limit":[0.0,Infinity],"n":NaN,"s":"ok","x":-Infinity})");
  EXPECT_TRUE(std::isinf(parse_json(text, "t")["limit"][1].get<double>()));
}
