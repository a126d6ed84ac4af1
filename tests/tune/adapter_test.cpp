// Adapter folders in the s0-tuning format: round trip, every load mismatch with its own error,
// activation (alpha by family, normalisation).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/registry.h"
#include "support/test_support.h"
#include "tune/adapter.h"

using namespace s0;

namespace {

AdapterFile sample_adapter(const HybridModel& m) {
  AdapterFile a;
  a.arch = m.recurrent[0].arch;
  a.state_shape = m.recurrent[0].state_shape;
  float v = 0.5f;
  for (const RecurrentLayer& r : m.recurrent) {
    a.layers.push_back(r.layer);
    Tensor t = Tensor::zeros(r.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = (v += 0.25f) * (i % 3 == 0 ? -1.0f : 1.0f);
    a.states[r.layer] = t;
  }
  a.config.n_steps = 7;
  a.config.lr = 2e-3;
  return a;
}

std::string read_error(const fs::path& dir) {
  try {
    read_adapter(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string match_error(const AdapterFile& a, const HybridModel& m) {
  try {
    check_adapter_matches(a, m, "adapter");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Adapter, RoundTripExactFormat) {
  HybridModel m = load_model(test::fixture_model("qwen35-text"));
  test::TempDir dir;
  AdapterFile a = sample_adapter(m);
  write_adapter(dir / "ad", a, false);
  const Json cfg = load_json_file(dir / "ad" / "config.json");
  EXPECT_EQ(cfg.size(), 7u);
  EXPECT_TRUE(cfg["alpha"].is_null());
  const Json meta = load_json_file(dir / "ad" / "meta.json");
  EXPECT_EQ(meta["arch"], "gated_delta_net");
  EXPECT_EQ(meta["recurrent_layers"], Json({0, 1, 2}));
  EXPECT_EQ(meta["state_shape"], Json({4, 16, 24}));
  AdapterFile b = read_adapter(dir / "ad");
  EXPECT_EQ(b.config.n_steps, 7);
  EXPECT_EQ(b.config.lr, 2e-3);
  EXPECT_EQ(b.layers, a.layers);
  for (const auto& [layer, t] : a.states)
    for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(b.states.at(layer).f32()[i], t.f32()[i]);
  EXPECT_NE(std::string(read_error(dir / "missing")).find("no such directory"), std::string::npos);
  try {
    write_adapter(dir / "ad", a, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos);
  }
  write_adapter(dir / "ad", a, true);  // --force replaces
}

TEST(Adapter, EachMismatchHasItsOwnError) {
  HybridModel qwen = load_model(test::fixture_model("qwen35-text"));
  HybridModel vl = load_model(test::fixture_model("qwen35-vl-tied"));
  HybridModel falcon = load_model(test::fixture_model("falcon-h1"));
  AdapterFile a = sample_adapter(qwen);
  EXPECT_EQ(match_error(a, qwen), "(no error)");
  EXPECT_NE(match_error(a, falcon).find("adapter is for gated_delta_net layers, the model's recurrent layers are mamba2"),
            std::string::npos);
  EXPECT_NE(match_error(a, vl).find("state shape [4, 16, 24] differs from the model's [2, 16, 16]"), std::string::npos);
  AdapterFile vl_a = sample_adapter(vl);
  vl_a.layers = {0, 1};
  vl_a.states[1] = vl_a.states[0];
  EXPECT_NE(match_error(vl_a, vl).find("layer 1, which is not a recurrent layer of the model (0,2,3)"),
            std::string::npos);
}

TEST(Adapter, MissingAndCorruptFiles) {
  HybridModel m = load_model(test::fixture_model("falcon-h1-plain"));
  test::TempDir dir;
  const fs::path ad = dir / "ad";
  auto fresh = [&] { write_adapter(ad, sample_adapter(m), true); };
  fresh();
  fs::remove(ad / "meta.json");
  EXPECT_NE(read_error(ad).find("meta.json: file not found"), std::string::npos);
  fresh();
  fs::remove(ad / "states.safetensors");
  EXPECT_NE(read_error(ad).find("states.safetensors: file not found"), std::string::npos);
  fresh();
  test::write_text(ad / "states.safetensors", "garbage!");
  EXPECT_NE(read_error(ad).find("states.safetensors"), std::string::npos);
  fresh();
  test::write_text(ad / "config.json", R"({"n_steps": 20, "lr": 0.001, "rank": 8})");
  EXPECT_NE(read_error(ad).find("config.json: unknown key \"rank\""), std::string::npos);
  fresh();
  test::write_text(ad / "meta.json", R"({"arch": "lstm", "recurrent_layers": [0, 1], "state_shape": [6, 16, 8]})");
  EXPECT_NE(read_error(ad).find("arch \"lstm\""), std::string::npos);
  fresh();
  test::write_text(ad / "meta.json", R"({"arch": "mamba2", "recurrent_layers": [0, 1, 5], "state_shape": [6, 16, 8]})");
  EXPECT_NE(read_error(ad).find("no state for layer 5"), std::string::npos);
  fresh();
  test::write_text(ad / "meta.json", R"({"arch": "mamba2", "recurrent_layers": [0, 1], "state_shape": [6, 8, 16]})");
  EXPECT_NE(read_error(ad).find("has shape [6, 16, 8], meta.json says [6, 8, 16]"), std::string::npos);
}

TEST(Adapter, ActivationScalesByAlphaAndNormalises) {
  HybridModel m = load_model(test::fixture_model("falcon-h1-plain"));
  AdapterFile a = sample_adapter(m);
  StateSet st = activate_adapter(a, m);  // Mamba-2 default alpha 0.65
  EXPECT_FLOAT_EQ(st.states[0].f32()[5], 0.65f * a.states[0].f32()[5]);
  a.config.alpha = 0.5;
  EXPECT_FLOAT_EQ(activate_adapter(a, m).states[1].f32()[2], 0.5f * a.states[1].f32()[2]);
  EXPECT_FLOAT_EQ(activate_adapter(a, m, 2.0).states[1].f32()[2], 2.0f * a.states[1].f32()[2]);
  a.config.normalize = true;
  StateSet n = activate_adapter(a, m);
  double sq = 0;
  for (int64_t i = 0; i < n.states[0].numel(); ++i) sq += static_cast<double>(n.states[0].f32()[i]) * n.states[0].f32()[i];
  EXPECT_NEAR(std::sqrt(sq), 0.5, 1e-6);
  EXPECT_DOUBLE_EQ(default_alpha("gated_delta_net"), 0.07);
}
