#pragma once
// What every family loader needs: checkpoint tensors checked against the shape the config implies
// (errors name the file, the tensor and both shapes), as float32 copies or, for bf16 matrices when
// the load options keep them (model/arch/registry.h), as they are stored; bookkeeping of parameter
// counts and stored dtypes; and the small transforms used to fold constants into weights, which
// accept float32 and bf16 matrices alike.
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "model/arch/registry.h"
#include "model/model.h"

namespace s0 {

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& ck, HybridModel& model, const LoadOptions& options)
      : ck_(ck), model_(model), options_(options) {}

  bool has(const std::string& name) const { return ck_.has(name); }
  std::string config_path() const { return ck_.config_path(); }
  // `name`, which must exist with exactly `shape`: a float32 copy, or the stored bf16 tensor for a
  // matrix when the options keep those.
  Tensor get(const std::string& name, const Shape& shape);
  // Like get when `required`; an empty Tensor when not required and absent.
  Tensor get_if(bool required, const std::string& name, const Shape& shape);
  // Like get, but a tensor stored as f32, bf16 or f16 stays a view into the mapped file (no copy,
  // read-only; ops/linear.h widens bf16 / f16 per call): for weights used as they are, such as
  // routed experts, which are most of an MoE model. Other dtypes become an f32 copy as with get.
  Tensor get_mapped(const std::string& name, const Shape& shape);

 private:
  // The checkpoint's tensor, checked against `shape` and counted.
  Tensor checked(const std::string& name, const Shape& shape);
  const Checkpoint& ck_;
  HybridModel& model_;
  const LoadOptions options_;
};

// Rows rows[i] of w (2-D, or 1-D) in that order, in w's dtype.
Tensor pick_rows(const Tensor& w, const std::vector<int64_t>& rows);
// Rows [begin, end) of w multiplied by `factor` (a bf16 w is rounded once, as PyTorch would).
void scale_rows(Tensor& w, int64_t begin, int64_t end, float factor);
// All rows of w multiplied by `factor`.
void scale_all(Tensor& w, float factor);
// Stacks 2-D tensors with the same column count (or 1-D tensors) along the first dimension, in their
// common dtype (float32 when they differ).
Tensor concat_rows(const std::vector<Tensor>& parts);
// 1 + w, for zero-centred RMSNorm weights.
Tensor plus_one(const Tensor& w);
// w repeated `times` times end to end.
Tensor tile(const Tensor& w, int64_t times);
// Drops the singleton middle dimension of a PyTorch Conv1d weight [C, 1, K] -> [C, K].
Tensor conv_weight(const Tensor& w);
Linear make_linear(Tensor w, Tensor b = Tensor());

}  // namespace s0
