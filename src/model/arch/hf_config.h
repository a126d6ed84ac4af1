#pragma once
// Pieces of Hugging Face config.json that several families share.
#include <string>
#include <utility>
#include <vector>

#include "io/json.h"

namespace s0 {

// eos_token_id as an int, a list of ints, or absent.
std::vector<int64_t> hf_eos_ids(const Json& cfg, const std::string& origin);
// rope_theta from rope_parameters (transformers 5) or the legacy top-level key.
double hf_rope_theta(const Json& cfg, const std::string& origin);
// partial_rotary_factor from rope_parameters or the top level; 1 when absent.
double hf_partial_rotary_factor(const Json& cfg, const std::string& origin);
// Fails unless architectures[0] (when present) is one of `accepted`.
void hf_check_architecture(const Json& cfg, const std::vector<std::string>& accepted, const std::string& origin);
// num_attention_heads and num_key_value_heads (default: the former), checked positive with the
// first a multiple of the second.
std::pair<int64_t, int64_t> hf_attention_heads(const Json& cfg, const std::string& origin);
// cfg[key] as a list of exactly n numbers.
std::vector<double> hf_number_list(const Json& cfg, const char* key, size_t n, const std::string& origin);
// A Mamba-2 dt clamp [min, max] from cfg[key]; [0, inf) when absent or null.
std::pair<double, double> hf_time_step_limit(const Json& cfg, const char* key, const std::string& origin);
// Fails unless hidden_act (when present) is silu.
void hf_check_silu(const Json& cfg, const std::string& origin);

}  // namespace s0
