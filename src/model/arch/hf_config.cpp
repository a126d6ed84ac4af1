#include "model/arch/hf_config.h"

#include <limits>

#include "core/error.h"
#include "core/strings.h"

namespace s0 {

std::vector<int64_t> hf_eos_ids(const Json& cfg, const std::string& origin) {
  std::vector<int64_t> out;
  auto it = cfg.find("eos_token_id");
  if (it == cfg.end() || it->is_null()) return out;
  if (it->is_number_integer()) {
    out.push_back(it->get<int64_t>());
  } else if (it->is_array()) {
    for (const Json& v : *it) {
      if (!v.is_number_integer()) fail(origin, ": eos_token_id list holds a non-integer ", v.dump());
      out.push_back(v.get<int64_t>());
    }
  } else {
    fail(origin, ": eos_token_id must be an integer or a list of integers");
  }
  return out;
}

namespace {
const Json* rope_parameters(const Json& cfg) {
  auto it = cfg.find("rope_parameters");
  return it != cfg.end() && it->is_object() ? &*it : nullptr;
}
}  // namespace

double hf_rope_theta(const Json& cfg, const std::string& origin) {
  if (const Json* rp = rope_parameters(cfg); rp && rp->contains("rope_theta"))
    return json_number(*rp, "rope_theta", origin + " rope_parameters");
  if (cfg.contains("rope_theta")) return json_number(cfg, "rope_theta", origin);
  fail(origin, ": missing field \"rope_parameters.rope_theta\" (or legacy \"rope_theta\")");
}

double hf_partial_rotary_factor(const Json& cfg, const std::string& origin) {
  if (const Json* rp = rope_parameters(cfg); rp && rp->contains("partial_rotary_factor"))
    return json_number(*rp, "partial_rotary_factor", origin + " rope_parameters");
  return json_number_or(cfg, "partial_rotary_factor", 1.0, origin);
}

void hf_check_architecture(const Json& cfg, const std::vector<std::string>& accepted, const std::string& origin) {
  auto it = cfg.find("architectures");
  if (it == cfg.end() || it->is_null()) return;
  if (!it->is_array() || it->empty() || !(*it)[0].is_string())
    fail(origin, ": architectures must be a non-empty list of names");
  const std::string arch = (*it)[0].get<std::string>();
  for (const std::string& a : accepted)
    if (a == arch) return;
  fail(origin, ": unknown architecture \"", arch, "\" for this model_type (supported: ", join(accepted, ", "), ")");
}

std::pair<int64_t, int64_t> hf_attention_heads(const Json& cfg, const std::string& origin) {
  const int64_t heads = json_int(cfg, "num_attention_heads", origin);
  const int64_t kv_heads = json_int_or(cfg, "num_key_value_heads", heads, origin);
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
    fail(origin, ": num_attention_heads ", heads, " is not a positive multiple of num_key_value_heads ", kv_heads);
  return {heads, kv_heads};
}

std::vector<double> hf_number_list(const Json& cfg, const char* key, size_t n, const std::string& origin) {
  const Json& v = json_field(cfg, key, origin);
  if (!v.is_array() || v.size() != n) fail(origin, ": ", key, " must be a list of ", n, " numbers");
  std::vector<double> out;
  for (const Json& x : v) {
    if (!x.is_number()) fail(origin, ": ", key, " holds a non-number ", x.dump());
    out.push_back(x.get<double>());
  }
  return out;
}

std::pair<double, double> hf_time_step_limit(const Json& cfg, const char* key, const std::string& origin) {
  if (!cfg.contains(key) || cfg[key].is_null()) return {0.0, std::numeric_limits<double>::infinity()};
  const std::vector<double> lim = hf_number_list(cfg, key, 2, origin);
  return {lim[0], lim[1]};
}

void hf_check_silu(const Json& cfg, const std::string& origin) {
  auto it = cfg.find("hidden_act");
  if (it == cfg.end() || it->is_null()) return;
  if (!it->is_string() || (it->get<std::string>() != "silu" && it->get<std::string>() != "swish"))
    fail(origin, ": hidden_act ", it->dump(), " is not supported (only silu)");
}

}  // namespace s0
