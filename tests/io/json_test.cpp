#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

TEST(Json, AcceptsTransformers5TaggedNonFiniteFloats) {
  Json j = parse_json(
      R"({"limit": [0.0, {"__float__": "Infinity"}], "low": {"__float__": "-Infinity"}, "n": {"__float__": "NaN"},
          "nested": {"x": [{"__float__": "Infinity"}]}, "other": {"__float__": "inf"}, "two": {"__float__": "NaN", "y": 1}})",
      "t");
  EXPECT_EQ(j["limit"][1].get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(j["low"].get<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(j["n"].get<double>()));
  EXPECT_EQ(j["nested"]["x"][0].get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(j["other"].is_object());  // not one of the three spellings: left as it is
  EXPECT_TRUE(j["two"].is_object());    // more than the one key: an ordinary object
}
