// s0 info DIR: what a checkpoint is, as the engine reads it.
#include <cstdio>
#include <map>

#include <algorithm>

#include "adapter/adapter.h"
#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/model_folder.h"
#include "core/strings.h"
#include "model/arch/load_memory.h"
#include "model/arch/registry.h"
#include "model/cache.h"
#include "model/model_on_device.h"

namespace {

// "L L L F" style pattern: each block's mixer kind, abbreviated.
std::string layer_pattern(const s0::HybridModel& m) {
  static const std::map<std::string, std::string> abbrev = {
      {"linear_attention", "L"}, {"full_attention", "F"}, {"mamba2+attention", "M+A"}, {"mamba2", "M"}, {"mlp", "-"},
      {"moe", "E"}};
  std::vector<std::string> out;
  for (const std::string& k : m.layer_kinds) {
    auto it = abbrev.find(k);
    out.push_back(it == abbrev.end() ? k : it->second);
  }
  return s0::join(out, " ");
}

// The context a sequence's caches are shown at (s0 serve budgets a sequence for as many tokens).
constexpr int64_t kShownContext = 4096;

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

s0::cli::Runner setup(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>();
  s0::cli::add_dtype_option(app, *dtype);
  app.add_option("dir", *dir,
                 "Hugging Face model folder (config.json + safetensors weights), or a repo id (ORG/NAME[@REVISION]) "
                 "in the hub cache")
      ->required()
      ->transform(s0::cli::hub_folder());
  return [dir, dtype] {
    // bf16 matrices stay as stored: nothing here computes, and the GPU figure below needs their dtype.
    const s0::HybridModel m = s0::load_model(*dir, {.keep_bf16_matrices = true});
    const std::optional<s0::DType> matrices = s0::cli::matrix_dtype(*dtype);
    std::printf("family:            %s (%s)\n", m.family.c_str(), m.architecture.c_str());
    std::printf("layers:            %zu  [%s]  (L = GatedDeltaNet, F = full attention, M = Mamba-2, M+A = Mamba-2 + "
                "attention, - = MLP only, E = MoE only)\n",
                m.blocks.size(), layer_pattern(m).c_str());
    int moe_layers = 0;
    for (const s0::Block& b : m.blocks) moe_layers += b.moe.has_value();
    if (moe_layers > 0) {
      const s0::SparseMoe& moe = *std::find_if(m.blocks.begin(), m.blocks.end(), [](const s0::Block& b) {
                                   return b.moe.has_value();
                                 })->moe;
      std::printf("experts:           %d MoE layers, top %lld of %zu experts%s%s\n", moe_layers, (long long)moe.top_k,
                  moe.experts.size(), moe.normalize ? " (renormalised)" : "",
                  moe.shared_gate.w.empty() ? "" : ", gated shared expert");
      if (!moe.correction_bias.empty())
        std::printf("router:            sigmoid with score correction, best %lld of %lld expert groups, weights x %g\n",
                    (long long)moe.groups.topk_group, (long long)moe.groups.n_group, moe.groups.scale);
    }
    std::vector<std::string> layers;
    for (const auto& r : m.recurrent) layers.push_back(std::to_string(r.layer));
    const std::string rec = s0::join(layers, ",");
    std::printf("recurrent layers:  %zu  [%s]  (%s)\n", m.recurrent.size(), rec.c_str(),
                m.recurrent.empty() ? "-" : m.recurrent[0].arch.c_str());
    if (!m.recurrent.empty()) {
      std::printf("S0 shape:          %s per layer\n", s0::shape_str(m.recurrent[0].state_shape).c_str());
      std::printf("S0 alpha default:  %g  (adapter arch \"%s\")\n", s0::default_alpha(m.recurrent[0].arch),
                  m.recurrent[0].arch.c_str());
    }
    std::printf("S0 parameters:     %s\n", with_commas(m.state_parameter_count()).c_str());
    std::printf("hidden size:       %lld   vocabulary: %lld   tied embeddings: %s\n", (long long)m.hidden,
                (long long)m.vocab, m.tied_embeddings ? "yes" : "no");
    std::printf("parameters:        %s\n", with_commas(m.parameter_count).c_str());
    std::vector<std::string> stored;
    for (const auto& [dt, n] : m.parameters_by_dtype) stored.push_back(dt + " " + with_commas(n));
    const std::string dtypes = s0::join(stored, ", ");
    std::printf("stored dtypes:     %s\n", dtypes.c_str());
    // What a CPU load allocates beyond the mapped files (checked against MemAvailable before loading):
    // with bf16 matrices (--dtype bf16, or unset: the default for a bf16 checkpoint) those stay as stored.
    const bool keep_bf16 = matrices != s0::DType::F32;
    std::printf("CPU load takes:    %s (routed experts stay mapped; matrices %s)\n",
                s0::bytes_text(s0::load_bytes(s0::Checkpoint::open(*dir), {.keep_bf16_matrices = keep_bf16})).c_str(),
                keep_bf16 ? "bf16 as stored" : "f32");
    std::printf("GPU weights take:  %s (matrices %s)\n",
                s0::bytes_text(s0::weight_bytes_on(m, s0::Device::cuda(0), matrices)).c_str(),
                matrices ? s0::dtype_name(*matrices) : "as stored");
    // What generation sizes its batch by (model/cache.h): the keys and values' bound counts a cache's
    // doubling, so a sequence holds at most this.
    const s0::CacheDtypes bf16{s0::DType::BF16, s0::DType::BF16};
    std::printf("sequence caches:   at most %s at %s tokens; %s with --state-dtype bf16 --kv-dtype bf16\n",
                s0::bytes_text(s0::sequence_cache_bytes(m, kShownContext)).c_str(), with_commas(kShownContext).c_str(),
                s0::bytes_text(s0::sequence_cache_bytes(m, kShownContext, bf16)).c_str());
    return 0;
  };
}

S0_COMMAND("info", "describe a model folder: family, layer pattern, recurrent layers, S0 shape and size", setup);

}  // namespace
