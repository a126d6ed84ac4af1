#include "model/arch/weight_loader.h"

#include <cstring>

#include "core/error.h"
#include "core/parallel_copy.h"

namespace s0 {

Tensor WeightLoader::checked(const std::string& name, const Shape& shape) {
  if (!ck_.has(name)) fail(ck_.weights_description(), ": missing tensor \"", name, "\"");
  const Shape& got = ck_.shape(name);
  if (got != shape)
    fail(ck_.file_name(name), ": tensor \"", name, "\" has shape ", shape_str(got), ", but config.json implies ",
         shape_str(shape));
  Tensor t = ck_.tensor(name);
  model_.parameter_count += t.numel();
  model_.parameters_by_dtype[dtype_name(t.dtype())] += t.numel();
  return t;
}

Tensor WeightLoader::get(const std::string& name, const Shape& shape) {
  Tensor t = checked(name, shape);
  if (options_.keep_bf16_matrices && t.dtype() == DType::BF16 && t.rank() == 2) return t;
  return t.to_f32();
}

Tensor WeightLoader::get_mapped(const std::string& name, const Shape& shape) {
  Tensor t = checked(name, shape);
  const bool kept = t.dtype() == DType::F32 || t.dtype() == DType::BF16 || t.dtype() == DType::F16;
  return kept ? t : t.to_f32();
}

Tensor WeightLoader::get_if(bool required, const std::string& name, const Shape& shape) {
  if (!required && !ck_.has(name)) return Tensor();
  return get(name, shape);
}

void scale_rows(Tensor& w, int64_t begin, int64_t end, float factor) {
  const int64_t cols = w.rank() == 1 ? 1 : w.numel() / w.dim(0);
  if (w.dtype() == DType::BF16) {
    // A kept bf16 matrix may be a read-only view of the file: scale a copy.
    Tensor wide = w.to_f32();
    scale_rows(wide, begin, end, factor);
    w = wide.to_bf16();
    return;
  }
  float* p = w.f32_mut();
  for (int64_t i = begin * cols; i < end * cols; ++i) p[i] *= factor;
}

void scale_all(Tensor& w, float factor) {
  if (!w.empty()) scale_rows(w, 0, w.dim(0), factor);
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  int64_t rows = 0;
  const int64_t cols = parts.at(0).rank() == 1 ? 1 : parts[0].numel() / parts[0].dim(0);
  for (const Tensor& p : parts) {
    if (p.rank() != parts[0].rank() || (p.rank() == 1 ? 1 : p.numel() / p.dim(0)) != cols)
      fail("internal: concat_rows of mismatched shapes ", shape_str(parts[0].shape()), " and ", shape_str(p.shape()));
    rows += p.dim(0);
  }
  for (const Tensor& p : parts)
    if (p.dtype() != parts[0].dtype()) {
      // A checkpoint that stores the parts in different dtypes: the result is float32.
      std::vector<Tensor> wide;
      for (const Tensor& q : parts) wide.push_back(q.to_f32());
      return concat_rows(wide);
    }
  Shape shape = parts[0].rank() == 1 ? Shape{rows} : Shape{rows, cols};
  Tensor out = Tensor::empty(shape, parts[0].dtype());
  auto* dst = static_cast<char*>(out.raw_mut());
  for (const Tensor& p : parts) {
    parallel_memcpy(dst, p.raw(), p.nbytes());  // the parts are views of the mapped checkpoint
    dst += p.nbytes();
  }
  return out;
}

Tensor pick_rows(const Tensor& w, const std::vector<int64_t>& rows) {
  // Moves bytes, so it serves float32 and bf16 weights alike.
  const size_t row = static_cast<size_t>(w.rank() == 1 ? 1 : w.numel() / w.dim(0)) * dtype_size(w.dtype());
  Shape shape = w.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape, w.dtype());
  const auto* src = static_cast<const char*>(w.raw());
  auto* dst = static_cast<char*>(out.raw_mut());
  for (const int64_t r : rows)
    if (r < 0 || r >= w.dim(0)) fail("internal: pick_rows row ", r, " of ", w.dim(0));
  const int64_t n = static_cast<int64_t>(rows.size());
#pragma omp parallel for schedule(static) if (n * row >= (size_t{1} << 20))
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * row, src + static_cast<size_t>(rows[i]) * row, row);
  return out;
}

Tensor plus_one(const Tensor& w) {
  Tensor out = w.clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.f32_mut()[i] += 1.0f;
  return out;
}

Tensor tile(const Tensor& w, int64_t times) {
  Tensor out = Tensor::zeros({w.numel() * times});
  for (int64_t r = 0; r < times; ++r) std::memcpy(out.f32_mut() + r * w.numel(), w.f32(), w.nbytes());
  return out;
}

Tensor conv_weight(const Tensor& w) { return w.reshaped({w.dim(0), w.dim(2)}); }

Linear make_linear(Tensor w, Tensor b) {
  Linear l;
  l.out = w.dim(0);
  l.in = w.dim(1);
  l.w = std::move(w);
  l.b = std::move(b);
  return l;
}

}  // namespace s0
