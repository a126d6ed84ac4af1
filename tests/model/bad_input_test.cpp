// Bad model folders: each gives one clear line naming the file and the field or tensor, a non-zero
// exit from the CLI, and never a crash.
#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/arch/registry.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// A copy of a fixture checkpoint whose config and tensors can be edited before loading.
struct EditableModel {
  test::TempDir dir;
  Json config;
  std::map<std::string, Tensor> tensors;

  explicit EditableModel(const std::string& fixture) {
    const fs::path src = test::fixture_model(fixture);
    config = load_json_file(src / "config.json");
    SafetensorsFile st = SafetensorsFile::open(src / "model.safetensors");
    for (const std::string& n : st.names()) tensors[n] = st.tensor(n).clone();
  }
  fs::path write() {
    test::write_text(dir / "config.json", dump_json(config));
    write_safetensors(dir / "model.safetensors", tensors);
    return dir.path();
  }
};

std::string load_error(const fs::path& p) {
  try {
    load_model(p);
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    return msg;
  }
  return "(loaded without error)";
}

void expect_error(const std::string& fixture, const std::function<void(EditableModel&)>& edit,
                  const std::vector<std::string>& fragments) {
  EditableModel m(fixture);
  edit(m);
  std::string err = load_error(m.write());
  for (const std::string& f : fragments) EXPECT_NE(err.find(f), std::string::npos) << "'" << f << "' not in: " << err;
}

}  // namespace

TEST(BadModel, MissingFolderAndFiles) {
  EXPECT_NE(load_error("/nonexistent/model").find("no such directory"), std::string::npos);
  test::TempDir empty;
  EXPECT_NE(load_error(empty.path()).find("config.json: file not found"), std::string::npos);
  test::write_text(empty / "config.json", R"({"model_type": "falcon_h1"})");
  EXPECT_NE(load_error(empty.path()).find("no weights"), std::string::npos);
}

TEST(BadModel, MalformedConfig) {
  test::TempDir d;
  test::write_text(d / "config.json", "{\"model_type\": \"qwen3_5_text\",");
  std::string err = load_error(d.path());
  EXPECT_NE(err.find("config.json: malformed JSON"), std::string::npos) << err;
}

TEST(BadModel, UnknownModelTypeAndArchitecture) {
  expect_error("qwen35-text", [](EditableModel& m) { m.config["model_type"] = "llama"; },
               {"config.json", "unknown model_type \"llama\""});
  expect_error("qwen35-text", [](EditableModel& m) { m.config["architectures"] = {"LlamaForCausalLM"}; },
               {"unknown architecture \"LlamaForCausalLM\""});
  expect_error("falcon-h1", [](EditableModel& m) { m.config["hidden_act"] = "gelu"; }, {"hidden_act"});
}

TEST(BadModel, MissingAndInvalidFields) {
  expect_error("qwen35-text", [](EditableModel& m) { m.config.erase("linear_num_value_heads"); },
               {"config.json", "missing field \"linear_num_value_heads\""});
  expect_error("qwen35-vl-tied", [](EditableModel& m) { m.config["text_config"].erase("hidden_size"); },
               {"text_config", "missing field \"hidden_size\""});
  expect_error("falcon-h1", [](EditableModel& m) { m.config["mamba_d_state"] = "twelve"; },
               {"\"mamba_d_state\" must be an integer"});
  expect_error("qwen35-text", [](EditableModel& m) { m.config["layer_types"][1] = "sliding"; },
               {"layer_types entry \"sliding\""});
  expect_error("falcon-h1", [](EditableModel& m) { m.config["ssm_multipliers"] = {1.0, 2.0}; },
               {"ssm_multipliers must be a list of 5 numbers"});
  expect_error("falcon-h1-plain", [](EditableModel& m) { m.config.erase("rope_theta"); }, {"rope_theta"});
}

TEST(BadModel, MissingAndMisshapenTensors) {
  expect_error("qwen35-text", [](EditableModel& m) { m.tensors.erase("model.layers.1.linear_attn.A_log"); },
               {"model.safetensors", "missing tensor \"model.layers.1.linear_attn.A_log\""});
  expect_error("qwen35-text", [](EditableModel& m) { m.tensors.erase("lm_head.weight"); },
               {"missing tensor \"lm_head.weight\""});
  expect_error("falcon-h1",
               [](EditableModel& m) {
                 m.tensors["model.layers.0.mamba.conv1d.weight"] = Tensor::zeros({112, 1, 3});
               },
               {"tensor \"model.layers.0.mamba.conv1d.weight\" has shape [112, 1, 3]", "implies [112, 1, 4]"});
  // Config and weights disagree: more value heads in the config than the tensors hold.
  expect_error("qwen35-text", [](EditableModel& m) { m.config["linear_num_value_heads"] = 8; },
               {"in_proj_qkv.weight\" has shape"});
  // Falcon plain has projector biases: without them the model cannot be built.
  expect_error("falcon-h1-plain", [](EditableModel& m) { m.tensors.erase("model.layers.1.mamba.out_proj.bias"); },
               {"missing tensor \"model.layers.1.mamba.out_proj.bias\""});
}

// The new families: a layer whose weights contradict the config's label, an unsupported layer
// kind, a missing expert, a router choosing more experts than exist.
TEST(BadModel, FamiliesOfIssue14) {
  expect_error("bamba", [](EditableModel& m) { m.config["attn_layer_indices"] = Json::array({2}); },
               {"layer 1 is labelled Mamba-2 but its weights are attention's"});
  expect_error("granite-h-moe-tied", [](EditableModel& m) { m.config["layer_types"][0] = "full_attention"; },
               {"layer 0 is labelled attention but its weights are Mamba-2's"});
  expect_error("nemotron-h", [](EditableModel& m) { m.config["layers_block_type"][2] = "moe"; },
               {"layer 2 is labelled MoE but its weights are MLP's"});
  expect_error("nemotron-h", [](EditableModel& m) { m.tensors.erase("backbone.layers.0.mixer.A_log"); },
               {"layer 0 has none of the tensors that mark its mixer"});
  expect_error("qwen3-next", [](EditableModel& m) { m.tensors.erase("model.layers.2.mlp.experts.3.up_proj.weight"); },
               {"missing tensor \"model.layers.2.mlp.experts.3.up_proj.weight\""});
  expect_error("qwen35-moe-text", [](EditableModel& m) { m.config["num_experts_per_tok"] = 9; },
               {"num_experts_per_tok 9 must be between 1 and num_experts 5"});
}

// Nemotron-H's MoE layers: the latent projection, groups that do not divide the experts, more
// experts per token than the kept groups hold, a missing correction bias.
TEST(BadModel, NemotronHMoe) {
  expect_error("nemotron-h-moe", [](EditableModel& m) { m.config["moe_latent_size"] = 8; },
               {"moe_latent_size (a latent projection around the experts) is not supported"});
  expect_error("nemotron-h-moe", [](EditableModel& m) { m.config["n_group"] = 3; },
               {"n_group 3 must divide n_routed_experts 8 into groups of at least 2 experts"});
  expect_error("nemotron-h-moe", [](EditableModel& m) { m.config["topk_group"] = 5; },
               {"topk_group 5 must be between 1 and n_group 4"});
  expect_error("nemotron-h-moe", [](EditableModel& m) { m.config["num_experts_per_tok"] = 5; },
               {"num_experts_per_tok 5 must be between 1 and the 4 experts of the topk_group kept groups"});
  expect_error("nemotron-h-moe",
               [](EditableModel& m) { m.tensors.erase("backbone.layers.5.mixer.gate.e_score_correction_bias"); },
               {"missing tensor \"backbone.layers.5.mixer.gate.e_score_correction_bias\""});
}

TEST(BadModel, ShardIndexProblems) {
  EditableModel m("falcon-h1-plain");
  fs::path dir = m.write();
  fs::rename(dir / "model.safetensors", dir / "model-00001-of-00001.safetensors");
  Json index = {{"metadata", Json::object()}, {"weight_map", Json::object()}};
  for (const auto& kv : m.tensors) index["weight_map"][kv.first] = "model-00001-of-00001.safetensors";
  index["weight_map"]["model.extra.weight"] = "model-00001-of-00001.safetensors";
  test::write_text(dir / "model.safetensors.index.json", index.dump());
  EXPECT_NE(load_error(dir).find("lists tensor \"model.extra.weight\""), std::string::npos);
  index["weight_map"].erase("model.extra.weight");
  index["weight_map"]["model.final_layernorm.weight"] = "model-00002-of-00002.safetensors";
  test::write_text(dir / "model.safetensors.index.json", index.dump());
  EXPECT_NE(load_error(dir).find("model-00002-of-00002.safetensors: file not found"), std::string::npos);
}

TEST(BadModel, CliExitsNonZeroWithOneLine) {
  EditableModel m("qwen35-text");
  m.config["model_type"] = "mystery";
  fs::path dir = m.write();
  for (const char* cmd : {"info", "check-reference"}) {
    auto r = test::run_s0({cmd, dir.string()});
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_EQ(r.err.rfind("s0: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("unknown model_type \"mystery\""), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto usage = test::run_s0({"info"});
  EXPECT_NE(usage.status, 0);
}
