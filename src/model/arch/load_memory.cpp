#include "model/arch/load_memory.h"

#include <cstdio>

#include "core/error.h"

namespace s0 {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The routed experts' tensors, as moe_weights.h loads them (Qwen's ".mlp.experts.", stacked or one
// per expert; Granite's block_sparse_moe input/output linears).
bool routed_expert(const std::string& name) {
  return name.find(".experts.") != std::string::npos || ends_with(name, "block_sparse_moe.input_linear.weight") ||
         ends_with(name, "block_sparse_moe.output_linear.weight");
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

int64_t load_bytes(const Checkpoint& ck, const LoadOptions& options) {
  int64_t bytes = 0;
  for (const std::string& name : ck.names()) {
    if (starts_with(name, "model.visual.") || starts_with(name, "mtp.")) continue;
    const std::string& dtype = ck.dtype_name(name);
    if (routed_expert(name) && (dtype == "F32" || dtype == "BF16" || dtype == "F16")) continue;
    const bool kept_bf16 = options.keep_bf16_matrices && dtype == "BF16" && ck.shape(name).size() == 2;
    bytes += numel_of(ck.shape(name)) * (kept_bf16 ? 2 : static_cast<int64_t>(sizeof(float)));
  }
  return bytes;
}

void check_fits_in_memory(const Checkpoint& ck, const LoadOptions& options, int64_t available) {
  if (available < 0) return;
  const int64_t need = load_bytes(ck, options);
  if (need > available)
    fail(ck.weights_description(), ": loading this model needs ", gib(need), " of memory (", need,
         " bytes of weights), more than the ", gib(available), " available (MemAvailable in /proc/meminfo)");
}

}  // namespace s0
