// Checkpoint layouts and dtypes: shards listed by an index, BF16 and F16 weights converted exactly,
// routed experts stacked or one tensor per expert.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "check/reference_check.h"
#include "core/half.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "support/test_support.h"

using namespace s0;

namespace {

std::map<std::string, Tensor> fixture_tensors(const std::string& name) {
  SafetensorsFile st = SafetensorsFile::open(test::fixture_model(name) / "model.safetensors");
  std::map<std::string, Tensor> out;
  for (const std::string& n : st.names()) out[n] = st.tensor(n).clone();
  return out;
}

Tensor logits_of(const fs::path& dir) {
  HybridModel m = load_model(dir);
  ForwardOptions opt;
  opt.all_logits = true;
  return forward(m, PackedBatch::from_sequences({{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}}), opt).logits;
}

// Each float tensor stored as `dtype` (values rounded), and a float32 file holding the same
// rounded values: the two models must give identical logits.
void expect_exact_conversion(const std::string& fixture, DType dtype) {
  test::TempDir half_dir, f32_dir;
  std::map<std::string, Tensor> half, rounded;
  for (auto& [n, t] : fixture_tensors(fixture)) {
    Tensor h = Tensor::zeros(t.shape(), dtype);
    Tensor r = Tensor::zeros(t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint16_t bits = dtype == DType::BF16 ? f32_to_bf16(t.f32()[i]) : f32_to_f16(t.f32()[i]);
      static_cast<uint16_t*>(h.raw_mut())[i] = bits;
      r.f32_mut()[i] = dtype == DType::BF16 ? bf16_to_f32(bits) : f16_to_f32(bits);
    }
    half[n] = h;
    rounded[n] = r;
  }
  for (const auto* d : {&half_dir, &f32_dir})
    fs::copy_file(test::fixture_model(fixture) / "config.json", d->path() / "config.json");
  write_safetensors(half_dir / "model.safetensors", half);
  write_safetensors(f32_dir / "model.safetensors", rounded);
  Tensor a = logits_of(half_dir.path()), b = logits_of(f32_dir.path());
  EXPECT_EQ(max_relative_error(a.f32(), b.f32(), a.numel()), 0.0);
  HybridModel m = load_model(half_dir.path());
  EXPECT_EQ(m.parameters_by_dtype.begin()->first, dtype_name(dtype));
}

}  // namespace

TEST(CheckpointFormats, ShardedEqualsSingleFile) {
  test::TempDir dir;
  auto tensors = fixture_tensors("qwen35-vl-tied");
  std::map<std::string, Tensor> a, b;
  Json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", Json::object()}};
  int i = 0;
  for (auto& [n, t] : tensors) {
    const bool first = (i++ % 2) == 0;
    (first ? a : b)[n] = t;
    index["weight_map"][n] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(dir / "model-00001-of-00002.safetensors", a);
  write_safetensors(dir / "model-00002-of-00002.safetensors", b);
  test::write_text(dir / "model.safetensors.index.json", index.dump());
  fs::copy_file(test::fixture_model("qwen35-vl-tied") / "config.json", dir / "config.json");
  Tensor sharded = logits_of(dir.path());
  Tensor single = logits_of(test::fixture_model("qwen35-vl-tied"));
  EXPECT_EQ(max_relative_error(sharded.f32(), single.f32(), single.numel()), 0.0);
}

TEST(CheckpointFormats, Bf16WeightsConvertExactly) { expect_exact_conversion("qwen35-text", DType::BF16); }
TEST(CheckpointFormats, F16WeightsConvertExactly) { expect_exact_conversion("falcon-h1", DType::F16); }

TEST(CheckpointFormats, MultimodalSkipsVisionAndMtp) {
  HybridModel m = load_model(test::fixture_model("qwen35-vl-tied"));
  SafetensorsFile st = SafetensorsFile::open(test::fixture_model("qwen35-vl-tied") / "model.safetensors");
  int64_t text_params = 0;
  for (const std::string& n : st.names())
    if (n.rfind("model.language_model.", 0) == 0) text_params += numel_of(st.shape(n));
  EXPECT_EQ(m.parameter_count, text_params);  // visual.* and mtp.* are not read
  EXPECT_TRUE(m.tied_embeddings);
}

// transformers 5 saves Falcon-H1's time_step_limit as [0.0, {"__float__": "Infinity"}]: the same
// model as the bare `Infinity` of older files.
TEST(CheckpointFormats, Transformers5NonFiniteConfigValues) {
  const fs::path fixture = test::fixture_model("falcon-h1");
  Json config = load_json_file(fixture / "config.json");
  ASSERT_TRUE(std::isinf(config["time_step_limit"][1].get<double>()));
  config["time_step_limit"][1] = Json{{"__float__", "Infinity"}};
  test::TempDir dir;
  test::write_text(dir / "config.json", config.dump());
  fs::copy_file(fixture / "model.safetensors", dir / "model.safetensors");
  Tensor tagged = logits_of(dir.path()), bare = logits_of(fixture);
  EXPECT_EQ(max_relative_error(tagged.f32(), bare.f32(), bare.numel()), 0.0);
}

// Routed experts stacked (gate_up_proj [E, 2I, H], down_proj [E, H, I]) or one tensor per expert
// (experts.{e}.gate_proj / up_proj / down_proj.weight): the same model either way.
namespace {

std::map<std::string, Tensor> swap_expert_layout(const std::map<std::string, Tensor>& in) {
  std::map<std::string, Tensor> out;
  std::map<std::string, std::map<int64_t, std::map<std::string, Tensor>>> per_expert;
  for (const auto& [n, t] : in) {
    const size_t at = n.find(".experts.");
    if (at == std::string::npos) {
      out[n] = t;
      continue;
    }
    const std::string base = n.substr(0, at + 9), rest = n.substr(at + 9);
    if (rest == "gate_up_proj" || rest == "down_proj") {  // stacked -> per expert
      const bool gu = rest == "gate_up_proj";
      const int64_t E = t.dim(0), rows = t.dim(1), cols = t.dim(2), I = gu ? rows / 2 : cols;
      for (int64_t e = 0; e < E; ++e) {
        const Tensor w = t.slice(e, 1).reshaped({rows, cols}).clone();
        const std::string p = base + std::to_string(e) + ".";
        if (!gu) {
          out[p + "down_proj.weight"] = w;
          continue;
        }
        out[p + "gate_proj.weight"] = w.slice(0, I).clone();
        out[p + "up_proj.weight"] = w.slice(I, I).clone();
      }
    } else {  // per expert -> stacked
      const size_t dot = rest.find('.');
      per_expert[base][std::stoll(rest.substr(0, dot))][rest.substr(dot + 1, rest.find('.', dot + 1) - dot - 1)] = t;
    }
  }
  for (const auto& [base, experts] : per_expert) {
    const int64_t E = static_cast<int64_t>(experts.size());
    const Tensor& g0 = experts.at(0).at("gate_proj");
    const Tensor& d0 = experts.at(0).at("down_proj");
    const int64_t I = g0.dim(0), H = g0.dim(1);
    Tensor gu = Tensor::zeros({E, 2 * I, H}), dn = Tensor::zeros({E, H, I});
    for (int64_t e = 0; e < E; ++e) {
      float* g = gu.f32_mut() + e * 2 * I * H;
      std::copy_n(experts.at(e).at("gate_proj").f32(), I * H, g);
      std::copy_n(experts.at(e).at("up_proj").f32(), I * H, g + I * H);
      std::copy_n(experts.at(e).at("down_proj").f32(), d0.numel(), dn.f32_mut() + e * H * I);
    }
    out[base + "gate_up_proj"] = gu;
    out[base + "down_proj"] = dn;
  }
  return out;
}

}  // namespace

TEST(CheckpointFormats, ExpertsStackedEqualPerExpert) {
  for (const char* fixture : {"qwen3-next", "qwen35-moe-vl-tied"}) {  // per expert, stacked
    test::TempDir dir;
    const auto original = fixture_tensors(fixture);
    const auto swapped = swap_expert_layout(original);
    ASSERT_NE(swapped.size(), original.size()) << fixture << ": no experts swapped";
    write_safetensors(dir / "model.safetensors", swapped);
    fs::copy_file(test::fixture_model(fixture) / "config.json", dir / "config.json");
    Tensor a = logits_of(dir.path()), b = logits_of(test::fixture_model(fixture));
    EXPECT_EQ(max_relative_error(a.f32(), b.f32(), a.numel()), 0.0) << fixture;
  }
}

// bf16 experts are widened to f32 at load like every other weight (moe_weights.h).
TEST(CheckpointFormats, Bf16ExpertsConvertExactly) { expect_exact_conversion("qwen35-moe-text", DType::BF16); }
