// Adapter folders in the s0-tuning format: round trip, every load mismatch with its own error,
// activation (alpha by family, normalisation).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/arch/registry.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"
#include "adapter/adapter.h"
#include "tune/library_load.h"

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
  EXPECT_EQ(b.config.variant, AdapterVariant::s0);
}

// A state-offset adapter is the same folder with "variant" in config.json: it reads back as one,
// activates into offsets, and the library (which would take its tensors for initial states)
// refuses it for its unknown key.
TEST(Adapter, StateOffsetRoundTripsAndTheLibraryRefusesIt) {
  HybridModel m = load_model(test::fixture_model("qwen35-text"));
  test::TempDir dir;
  AdapterFile a = sample_adapter(m);
  a.config.variant = AdapterVariant::state_offset;
  write_adapter(dir / "ad", a, false);
  const Json cfg = load_json_file(dir / "ad" / "config.json");
  EXPECT_EQ(cfg["variant"], "state-offset");
  EXPECT_EQ(test::library_load_error(dir / "ad", m), "Unknown config keys");
  AdapterFile b = read_adapter(dir / "ad");
  EXPECT_EQ(b.config.variant, AdapterVariant::state_offset);
  EXPECT_EQ(b.config.n_steps, 7);
  for (const auto& [layer, t] : a.states)
    EXPECT_EQ(std::memcmp(b.states.at(layer).f32(), t.f32(), sizeof(float) * t.numel()), 0) << layer;
  const StateSet set = activate_adapter(b, m, 2.0);
  EXPECT_EQ(set.variant, AdapterVariant::state_offset);
  EXPECT_EQ(set.states.at(0).f32()[1], 2.0f * a.states.at(0).f32()[1]);
  // Written again as S0, the key goes (the library reads the folder again).
  b.config.variant = AdapterVariant::s0;
  write_adapter(dir / "ad", b, true);
  EXPECT_FALSE(load_json_file(dir / "ad" / "config.json").contains("variant"));
  EXPECT_EQ(test::library_load_error(dir / "ad", m), "");
  // A variant s0 does not know is one clear error.
  test::write_text(dir / "ad" / "config.json", R"({"n_steps": 20, "variant": "lora"})");
  EXPECT_NE(read_error(dir / "ad").find("config.json: \"variant\": unknown variant \"lora\" (expected s0 or state-offset)"),
            std::string::npos)
      << read_error(dir / "ad");
  test::write_text(dir / "ad" / "config.json", R"({"n_steps": 20, "variant": 3})");
  EXPECT_NE(read_error(dir / "ad").find("\"variant\" must be a string"), std::string::npos) << read_error(dir / "ad");
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
  EXPECT_EQ(match_error(vl_a, vl),
            "adapter: adapter has states for layers [0, 1], but [1] is not a recurrent layer of the model (its "
            "recurrent layers are [0, 2, 3])");
  // A subset of the layers (the library refuses it; earlier s0 versions wrote such folders) loads, and the
  // layers it leaves out start from zero.
  vl_a.layers = {2};
  vl_a.states = {{2, vl_a.states[0]}};
  EXPECT_EQ(match_error(vl_a, vl), "(no error)");
  StateSet set = activate_adapter(vl_a, vl, 1.0);
  for (size_t slot = 0; slot < vl.recurrent.size(); ++slot)
    EXPECT_EQ(set.states[slot].empty(), vl.recurrent[slot].layer != 2) << "slot " << slot;
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

// The guard against a "tuned" run that changes nothing reads the activated states where the model
// runs them: on a GPU it passes a trained adapter and refuses an all-zero one, as on the host.
TEST(Adapter, ZeroStatesAreRefusedWhereverTheyLive) {
  S0_REQUIRE_GPU();
  HybridModel m = load_model(test::fixture_model("falcon-h1-plain"));
  const StateSet host = activate_adapter(sample_adapter(m), m);
  StateSet gpu = host, zero = host;
  for (size_t i = 0; i < host.states.size(); ++i) {
    gpu.states[i] = test::on_gpu(host.states[i]);
    zero.states[i] = host.states[i].empty() ? Tensor() : test::on_gpu(Tensor::zeros(host.states[i].shape()));
  }
  EXPECT_NO_THROW(check_adapter_applies(host, "adapter"));
  EXPECT_NO_THROW(check_adapter_applies(gpu, "adapter"));
  try {
    check_adapter_applies(zero, "adapter");
    ADD_FAILURE() << "an all-zero adapter on the GPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("every state of the adapter is zero"), std::string::npos) << e.what();
  }
}

namespace {

// A safetensors file as the Python library (safetensors' save_file) writes it: an 8-byte header
// length, the JSON header padded with spaces to a multiple of 8, no __metadata__, then the data.
std::string library_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::string header = "{", data;
  for (const auto& [key, t] : tensors) {
    const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
    if (header.size() > 1) header += ",";
    header += "\"" + key + "\":{\"dtype\":\"F32\",\"shape\":" + Json(t.shape()).dump() + ",\"data_offsets\":[" +
              std::to_string(data.size()) + "," + std::to_string(data.size() + bytes) + "]}";
    data.append(reinterpret_cast<const char*>(t.f32()), bytes);
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

}  // namespace

// A folder written byte for byte as the s0-tuning library's save() writes it (json.dumps with
// indent=2, the dataclass's key order, no trailing newline) loads in s0 with its values intact.
TEST(Adapter, ReadsAFolderWrittenByTheLibrary) {
  HybridModel m = load_model(test::fixture_model("falcon-h1-plain"));
  AdapterFile a = sample_adapter(m);
  test::TempDir dir;
  fs::create_directories(dir / "lib");
  test::write_text(dir / "lib" / "states.safetensors", library_safetensors({{"0", a.states[0]}, {"1", a.states[1]}}));
  test::write_text(dir / "lib" / "config.json",
                   "{\n  \"n_steps\": 20,\n  \"lr\": 0.001,\n  \"l2_lambda\": 0.0005,\n  \"alpha\": null,\n"
                   "  \"normalize\": false,\n  \"grad_clip\": 1.0,\n  \"max_length\": 2048\n}");
  test::write_text(dir / "lib" / "meta.json",
                   "{\n  \"arch\": \"mamba2\",\n  \"recurrent_layers\": [\n    0,\n    1\n  ],\n  \"state_shape\": [\n"
                   "    6,\n    16,\n    8\n  ]\n}");
  ASSERT_EQ(test::library_load_error(dir / "lib", m), "");  // the restatement accepts its own files
  AdapterFile b = read_adapter(dir / "lib");
  EXPECT_EQ(b.layers, (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(b.trained_layers.empty());
  EXPECT_FALSE(b.config.alpha.has_value());
  EXPECT_EQ(b.config.lr, 0.001);
  for (int64_t layer : {0, 1})
    for (int64_t i = 0; i < a.states[layer].numel(); ++i) ASSERT_EQ(b.states.at(layer).f32()[i], a.states[layer].f32()[i]);
  EXPECT_FLOAT_EQ(activate_adapter(b, m).states[1].f32()[3], 0.65f * a.states[1].f32()[3]);
  // Keys the library ignores in meta.json are ignored by s0 too.
  test::write_text(dir / "lib" / "meta.json",
                   R"({"arch": "mamba2", "recurrent_layers": [0, 1], "state_shape": [6, 16, 8], "note": "x"})");
  EXPECT_EQ(read_error(dir / "lib"), "(no error)");
  // And what s0 writes passes the library's checks.
  write_adapter(dir / "s0", a, false);
  EXPECT_EQ(test::library_load_error(dir / "s0", m), "");
}

// NaN and infinity are refused wherever they enter: states (naming the layer), every number of
// config.json, and s0 never writes one.
TEST(Adapter, NonFiniteValuesAreRefused) {
  HybridModel m = load_model(test::fixture_model("falcon-h1-plain"));
  test::TempDir dir;
  const fs::path ad = dir / "ad";
  AdapterFile a = sample_adapter(m);
  write_adapter(ad, a, false);
  for (const std::string key : {"alpha", "lr", "l2_lambda", "grad_clip"})
    for (const std::string value : {"NaN", "Infinity", "-Infinity"}) {
      test::write_text(ad / "config.json", "{\"" + key + "\": " + value + "}");
      EXPECT_NE(read_error(ad).find("config.json: \"" + key + "\" must be a finite number"), std::string::npos)
          << key << " " << value << ": " << read_error(ad);
    }
  write_adapter(ad, a, true);
  AdapterFile bad = a;
  bad.states[1] = a.states[1].clone();
  bad.states[1].f32_mut()[7] = std::nanf("");
  std::map<std::string, Tensor> tensors = {{"0", bad.states[0]}, {"1", bad.states[1]}};
  write_safetensors(ad / "states.safetensors", tensors);
  EXPECT_NE(read_error(ad).find("the state of layer 1 holds nan at element 7"), std::string::npos) << read_error(ad);
  try {
    activate_adapter(a, m, std::numeric_limits<double>::quiet_NaN());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha must be a finite number"), std::string::npos);
  }
  // Writing a NaN is an internal error, not a file.
  AdapterFile nan_cfg = a;
  nan_cfg.config.lr = std::numeric_limits<double>::quiet_NaN();
  try {
    write_adapter(dir / "nan", nan_cfg, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("internal error: refusing to write a non-finite number at /lr"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "nan" / "config.json"));
  try {
    write_adapter(dir / "nan2", bad, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite state for layer 1"), std::string::npos) << e.what();
  }
}
