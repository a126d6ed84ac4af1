// The precise projections on the GPU: float operands widened to double, one float64 GEMM, and the
// result rounded to float once, with the bias and the existing output added in double first, as
// ops/cpu/gemm.cpp's linear_forward_f64 / linear_backward_f64 do.
#include "core/tensor.h"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/linear.h"

namespace s0::ops::cuda {

namespace {

Tensor widened(const float* src, int64_t n) {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  Tensor out = Tensor::empty({n}, DType::F64, Device::cuda(device));
  double* dst = static_cast<double*>(out.device_raw_mut());
  for_each_cell(1, n, [=] __device__(int64_t, int64_t i) { dst[i] = static_cast<double>(src[i]); }, "widen");
  return out;
}

Tensor doubles(int64_t n) {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return Tensor::empty({n}, DType::F64, Device::cuda(device));
}

}  // namespace

void precise_linear_forward(const float* x, int64_t rows, const float* w, const float* bias, int64_t in, int64_t out,
                            float* y, bool add) {
  if (rows == 0) return;
  const Tensor x64 = widened(x, rows * in), w64 = widened(w, out * in);
  Tensor y64 = doubles(rows * out);
  double* yd = static_cast<double*>(y64.device_raw_mut());
  gemm_forward(x64.device_raw(), rows, w64.device_raw(), nullptr, in, out, yd, false, Operands::f64);
  for_each_cell(
      rows, out,
      [=] __device__(int64_t r, int64_t c) {
        const double v = yd[r * out + c] + (bias ? static_cast<double>(bias[c]) : 0.0);
        y[r * out + c] = static_cast<float>(add ? static_cast<double>(y[r * out + c]) + v : v);
      },
      "precise_linear_narrow");
}

void precise_linear_backward(const float* dy, int64_t rows, const float* w, int64_t in, int64_t out, float* dx,
                             bool accumulate) {
  if (rows == 0) return;
  const Tensor dy64 = widened(dy, rows * out), w64 = widened(w, out * in);
  Tensor dx64 = doubles(rows * in);
  double* dxd = static_cast<double*>(dx64.device_raw_mut());
  gemm_backward(dy64.device_raw(), rows, w64.device_raw(), in, out, dxd, false, Operands::f64);
  for_each_cell(
      rows, in,
      [=] __device__(int64_t r, int64_t c) {
        const int64_t i = r * in + c;
        dx[i] = static_cast<float>(accumulate ? static_cast<double>(dx[i]) + dxd[i] : dxd[i]);
      },
      "precise_linear_backward_narrow");
}

}  // namespace s0::ops::cuda
