#include "ops/cuda/linear.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// Column-major D[m, n] = op(A)[m, k] B[k, n] (+ D when accumulating) (+ bias[m] per column):
// row-major tensors are their transposes in column-major terms.
// `operands`: what A, B and D hold (ops/cuda/linear.h); C is D.
struct Gemm {
  bool transpose_a = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* d = nullptr;
  int64_t ldd = 0;
  const void* bias = nullptr;
  bool accumulate = false;
  Operands operands = Operands::f32;
};

// cuBLASLt's alignment preferences: the largest power of two (up to 256 bytes) dividing a pointer.
uint32_t alignment(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 4 && v % a != 0) a /= 2;
  return a;
}

// What picks an algorithm: shapes, transposition, epilogue and alignments (beta does not).
using AlgoKey = std::tuple<bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, uint32_t, uint32_t,
                           uint32_t, uint32_t, Operands>;

template <typename T, cublasStatus_t (*Destroy)(T)>
struct Owned {
  T v = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (v) Destroy(v);
  }
};
using Desc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using Layout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

// Everything cuBLASLt needs for one problem but its pointers: the operation, the three layouts and
// the heuristic's algorithm.
struct Plan {
  Desc op;
  Layout a, b, d;
  cublasLtMatmulAlgo_t algo{};
};

// One handle and one workspace per GPU, made on first use and kept for the process. The plan is
// cached per problem: making it costs tens of microseconds (the heuristic most), a decode step runs
// a few hundred GEMMs of a handful of shapes, and one fixed algorithm per shape is what makes the
// results repeat bit for bit.
struct Context {
  static constexpr size_t kWorkspace = size_t(32) << 20;
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<AlgoKey, std::unique_ptr<Plan>> plans;
  std::mutex enqueue;  // held while one GEMM is queued (see run()), and while plans are made
};

Context& context() {
  static std::mutex mu;
  static std::array<Context*, 64> contexts{};
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mu);
  Context*& c = contexts.at(static_cast<size_t>(device));
  if (!c) {
    auto made = std::make_unique<Context>();
    S0_CUDA_CHECK(cublasLtCreate(&made->handle));
    S0_CUDA_CHECK(cudaMalloc(&made->workspace, Context::kWorkspace));
    c = made.release();  // never destroyed: the driver may be gone during static destruction
  }
  return *c;
}

void layout(Layout& l, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld) {
  S0_CUDA_CHECK(cublasLtMatrixLayoutCreate(&l.v, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld));
}

template <typename A, typename Attr, typename V>
void set(cublasStatus_t (*setter)(A, Attr, const void*, size_t), A obj, Attr attr, const V& value, const char* what) {
  check(setter(obj, attr, &value, sizeof(value)), what);
}

const char* operands_name(Operands o) {
  switch (o) {
    case Operands::f32: return "float32";
    case Operands::f64: return "float64";
    case Operands::bf16: return "bf16";
    case Operands::bf16_out: return "bf16 (bf16 output)";
  }
  return "?";
}

// The plan for g's problem (made here the first time).
std::unique_ptr<Plan> make_plan(const Context& ctx, const Gemm& g) {
  auto plan = std::make_unique<Plan>();
  // CUBLAS_COMPUTE_32F: float32 products and sums; TF32 only with the _FAST_TF32 compute types. For
  // bf16 inputs it is the tensor cores' bf16 products with float32 accumulation.
  const bool f64 = g.operands == Operands::f64;
  const cudaDataType_t type = f64 ? CUDA_R_64F : CUDA_R_32F;
  const bool bf16_out = g.operands == Operands::bf16_out;
  const cudaDataType_t input = g.operands == Operands::bf16 || bf16_out ? CUDA_R_16BF : type;
  S0_CUDA_CHECK(cublasLtMatmulDescCreate(&plan->op.v, f64 ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F, type));
  const cublasOperation_t ta = g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  set(cublasLtMatmulDescSetAttribute, plan->op.v, CUBLASLT_MATMUL_DESC_TRANSA, ta, "set TRANSA");
  if (g.bias) {
    set(cublasLtMatmulDescSetAttribute, plan->op.v, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS,
        "set EPILOGUE");
    set(cublasLtMatmulDescSetAttribute, plan->op.v, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias, "set BIAS_POINTER");
  }
  layout(plan->a, input, g.transpose_a ? g.k : g.m, g.transpose_a ? g.m : g.k, g.lda);
  layout(plan->b, input, g.k, g.n, g.ldb);
  layout(plan->d, bf16_out ? CUDA_R_16BF : type, g.m, g.n, g.ldd);
  Preference pref;
  S0_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&pref.v));
  set(cublasLtMatmulPreferenceSetAttribute, pref.v, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, Context::kWorkspace,
      "set MAX_WORKSPACE_BYTES");
  set(cublasLtMatmulPreferenceSetAttribute, pref.v, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, alignment(g.a),
      "set MIN_ALIGNMENT_A_BYTES");
  set(cublasLtMatmulPreferenceSetAttribute, pref.v, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, alignment(g.b),
      "set MIN_ALIGNMENT_B_BYTES");
  set(cublasLtMatmulPreferenceSetAttribute, pref.v, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, alignment(g.d),
      "set MIN_ALIGNMENT_C_BYTES");
  set(cublasLtMatmulPreferenceSetAttribute, pref.v, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, alignment(g.d),
      "set MIN_ALIGNMENT_D_BYTES");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  S0_CUDA_CHECK(cublasLtMatmulAlgoGetHeuristic(ctx.handle, plan->op.v, plan->a.v, plan->b.v, plan->d.v, plan->d.v,
                                               pref.v, 1, &result, &found));
  if (found == 0) fail("cuBLASLt: no ", operands_name(g.operands), " GEMM algorithm for m=", g.m, " n=", g.n, " k=", g.k);
  plan->algo = result.algo;
  return plan;
}

void run(const Gemm& g) {
  if (g.m == 0 || g.n == 0) return;
  // A bf16 output holds the sums rounded once: adding to it, or a bias after it, would round twice.
  if (g.operands == Operands::bf16_out && (g.accumulate || g.bias))
    fail("internal: a GEMM with a bf16 output takes no bias and adds to nothing");
  Context& ctx = context();
  const AlgoKey key{g.transpose_a, g.m,         g.n,          g.k,          g.lda,        g.ldb,
                    g.ldd,         g.bias != nullptr, alignment(g.a), alignment(g.b), alignment(g.d),
                    g.bias ? alignment(g.bias) : 0u, g.operands};
  const bool f64 = g.operands == Operands::f64;
  const float alpha = 1.0f, beta = g.accumulate ? 1.0f : 0.0f;
  const double alpha64 = 1.0, beta64 = g.accumulate ? 1.0 : 0.0;
  // One GEMM may be several kernels that pass partial sums through the shared workspace (split-K):
  // another host thread's GEMM queued between them on the same stream would overwrite them, so
  // each GEMM is queued whole. The lock also guards the plans (a plan's bias pointer is set per call).
  std::lock_guard<std::mutex> queue_whole(ctx.enqueue);
  std::unique_ptr<Plan>& plan = ctx.plans[key];
  if (!plan) plan = make_plan(ctx, g);
  if (g.bias)
    set(cublasLtMatmulDescSetAttribute, plan->op.v, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias, "set BIAS_POINTER");
  S0_CUDA_CHECK(cublasLtMatmul(ctx.handle, plan->op.v, f64 ? static_cast<const void*>(&alpha64) : &alpha, g.a,
                               plan->a.v, g.b, plan->b.v, f64 ? static_cast<const void*>(&beta64) : &beta, g.d,
                               plan->d.v, g.d, plan->d.v, &plan->algo, ctx.workspace, Context::kWorkspace, stream()));
}

}  // namespace

void gemm_forward(const void* x, int64_t rows, const void* w, const void* bias, int64_t in, int64_t out, void* y,
                  bool add, Operands operands) {
  // Column-major: Y^T[out, rows] = (W^T)^T[out, in] X^T[in, rows], W^T being W's storage read
  // column-major with leading dimension `in`.
  run({.transpose_a = true, .m = out, .n = rows, .k = in, .a = w, .lda = in, .b = x, .ldb = in, .d = y, .ldd = out,
       .bias = bias, .accumulate = add, .operands = operands});
}

void gemm_backward(const void* dy, int64_t rows, const void* w, int64_t in, int64_t out, void* dx, bool accumulate,
                   Operands operands) {
  // Column-major: dX^T[in, rows] = W^T[in, out] dY^T[out, rows].
  run({.transpose_a = false, .m = in, .n = rows, .k = out, .a = w, .lda = in, .b = dy, .ldb = out, .d = dx,
       .ldd = in, .bias = nullptr, .accumulate = accumulate, .operands = operands});
}

void linear_forward(const float* x, int64_t rows, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add) {
  gemm_forward(x, rows, w, bias, in, out, y, add, Operands::f32);
}

void linear_backward(const float* dy, int64_t rows, const float* w, int64_t in, int64_t out, float* dx,
                     bool accumulate) {
  gemm_backward(dy, rows, w, in, out, dx, accumulate, Operands::f32);
}

}  // namespace s0::ops::cuda
