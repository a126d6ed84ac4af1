// Every reference folder (the shared ones and the project's): every forward quantity within the
// fixture tolerance.
#include <gtest/gtest.h>

#include <algorithm>

#include "check/reference_check.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"

using namespace s0;

class FixtureForward : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureForward, EveryQuantityWithinTolerance) {
  ReferenceReport r = check_reference(test::fixture_model(GetParam()));
  int logits = 0, hidden = 0, finals = 0;
  for (const CheckLine& l : r.lines) {
    EXPECT_TRUE(l.pass) << l.quantity << " " << l.measure << " " << l.error << " > " << l.tolerance;
    logits += l.quantity.rfind("logits.", 0) == 0;
    hidden += l.quantity.rfind("hidden.", 0) == 0;
    finals += l.quantity.rfind("final_state.", 0) == 0;
  }
  // Every forward quantity the fixture holds was computed: logits with and without S0 for each
  // sequence, every hidden state, every final state.
  EXPECT_GE(logits, 4);
  EXPECT_GE(hidden, 3);
  EXPECT_GE(finals, 2);
  for (const std::string& n : r.not_checked) {
    EXPECT_TRUE(n.rfind("grad.", 0) == 0 || n.rfind("train.", 0) == 0 || n.rfind("gen.", 0) == 0)
        << "forward quantity left unchecked: " << n;
  }
}

// On the GPU (f32, TF32 off) the forward, the gradients, the optimizer steps and greedy decoding
// (attention over KV caches there) meet the same fixture tolerances: nothing is left unchecked.
TEST_P(FixtureForward, EveryQuantityWithinToleranceOnTheGpu) {
  S0_REQUIRE_GPU();
  ReferenceReport r = check_reference(test::fixture_model(GetParam()), Device::cuda(0));
  int logits = 0, grads = 0, steps = 0, gens = 0;
  for (const CheckLine& l : r.lines) {
    EXPECT_TRUE(l.pass) << l.quantity << " " << l.measure << " " << l.error << " > " << l.tolerance;
    logits += l.quantity.rfind("logits.", 0) == 0;
    grads += l.quantity.rfind("grad.", 0) == 0;
    steps += l.quantity.rfind("train.", 0) == 0;
    gens += l.quantity.rfind("gen.", 0) == 0;
  }
  EXPECT_GE(logits, 4);
  EXPECT_GE(grads, 1);
  EXPECT_GE(steps, 1);
  EXPECT_EQ(gens, 2);
  for (const std::string& n : r.not_checked) ADD_FAILURE() << "quantity left unchecked on the GPU: " << n;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureForward, ::testing::ValuesIn(test::fixture_model_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(CheckReferenceCli, DeviceErrorsAreOneLine) {
  const std::string dir = test::fixture_model("falcon-h1-plain").string();
  auto bad = test::run_s0({"check-reference", "--device", "gpu", dir});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, "s0: error: --device: unknown device \"gpu\" (expected cpu, cuda or cuda:N)\n");
  auto absent = test::run_s0({"check-reference", "--device", "cuda:7", dir});
  EXPECT_EQ(absent.status, 1);
  EXPECT_EQ(std::count(absent.err.begin(), absent.err.end(), '\n'), 1) << absent.err;
  EXPECT_NE(absent.err.find("s0: error: cuda:7: "), std::string::npos) << absent.err;
}

TEST(CheckReferenceCli, PrintsOneLinePerQuantityAndSummary) {
  auto r = test::run_s0({"check-reference", test::fixture_model("falcon-h1-plain").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("logits.zero.0"), std::string::npos);
  EXPECT_NE(r.out.find("final_state.s0.1.1"), std::string::npos);
  EXPECT_NE(r.out.find(" passed, 0 failed\n"), std::string::npos);
}
