// The weight store in the stored dtype (issue 10): a bf16 checkpoint's matrices can be kept bf16 at
// load, holding exactly the values the float32 load widens; transforms that fold constants into a
// matrix round once; placing a model on a device picks each matrix's dtype as
// model/model_on_device.h states; and the CPU's f32 path is unchanged, bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/half.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

Qwen35Dims small_qwen(DType dtype) {
  Qwen35Dims d = test::small_qwen35();
  d.dtype = dtype;
  d.init_std = 0.2f;
  return d;
}

FalconH1Dims small_falcon() {
  FalconH1Dims d = test::small_falcon_h1();
  d.dtype = DType::BF16;
  d.init_std = 0.2f;
  return d;
}

// The model's weights in visiting order (handles: the storage is shared).
std::vector<std::pair<Tensor, bool>> weights_of(const HybridModel& model) {
  HybridModel m = model;
  std::vector<std::pair<Tensor, bool>> out;
  for_each_weight(m, [&](Tensor& t, bool is_matrix) { out.emplace_back(t, is_matrix); });
  return out;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

Tensor logits_of(const HybridModel& m) {
  ForwardOptions opt;
  opt.all_logits = true;
  return forward(m, PackedBatch::from_sequences({{1, 5, 9, 96, 0, 3}, {4, 4, 2}}), opt).logits;
}

}  // namespace

TEST(WeightDtype, Bf16MatricesKeptAsStoredHoldTheWidenedValues) {
  test::TempDir dir;
  write_random_qwen35(dir.path(), small_qwen(DType::BF16));
  const HybridModel wide = load_model(dir.path());
  const HybridModel kept = load_model(dir.path(), {.keep_bf16_matrices = true});
  const auto w = weights_of(wide), k = weights_of(kept);
  ASSERT_EQ(w.size(), k.size());
  int matrices = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const auto& [wt, is_matrix] = w[i];
    const Tensor& kt = k[i].first;
    if (wt.empty()) {
      EXPECT_TRUE(kt.empty()) << i;
      continue;
    }
    EXPECT_EQ(wt.dtype(), DType::F32) << i;
    EXPECT_EQ(kt.dtype(), is_matrix ? DType::BF16 : DType::F32) << i << " " << shape_str(kt.shape());
    EXPECT_TRUE(same_bytes(kt.to_f32(), wt)) << "weight " << i << " " << shape_str(wt.shape());
    matrices += is_matrix;
  }
  EXPECT_GE(matrices, 1 + 4 * 4);  // the embedding, and per block two mixer and two MLP projections
  EXPECT_EQ(kept.parameter_count, wide.parameter_count);
  EXPECT_EQ(kept.parameters_by_dtype, wide.parameters_by_dtype);

  // On the CPU in f32 every matrix is widened again: the same forward, bit for bit.
  EXPECT_TRUE(same_bytes(logits_of(model_on(kept, Device::cpu(), DType::F32)), logits_of(wide)));
}

TEST(WeightDtype, ScaledBf16MatricesAreRoundedOnce) {
  // Falcon-H1 folds its muP multipliers into the projections: a kept bf16 matrix is the float32
  // product rounded to bf16 once (what PyTorch gets multiplying a bf16 weight by a float).
  test::TempDir dir;
  write_random_falcon_h1(dir.path(), small_falcon());
  const auto w = weights_of(load_model(dir.path()));
  const auto k = weights_of(load_model(dir.path(), {.keep_bf16_matrices = true}));
  ASSERT_EQ(w.size(), k.size());
  for (size_t i = 0; i < w.size(); ++i) {
    if (!w[i].second) continue;
    EXPECT_TRUE(same_bytes(k[i].first, w[i].first.to_bf16())) << "matrix " << i << " " << shape_str(w[i].first.shape());
  }
}

TEST(WeightDtype, FloatCheckpointsAreNeverNarrowedUnasked) {
  test::TempDir dir;
  write_random_qwen35(dir.path(), small_qwen(DType::F32));
  for (const auto& [t, is_matrix] : weights_of(load_model(dir.path(), {.keep_bf16_matrices = true})))
    if (!t.empty()) {
      EXPECT_EQ(t.dtype(), DType::F32);
    }
}

TEST(WeightDtype, BytesOnADeviceFollowTheMatrixDtype) {
  test::TempDir dir;
  write_random_qwen35(dir.path(), small_qwen(DType::BF16));
  const HybridModel kept = load_model(dir.path(), {.keep_bf16_matrices = true});
  int64_t matrix_elements = 0, vector_elements = 0;
  for (const auto& [t, is_matrix] : weights_of(kept)) (is_matrix ? matrix_elements : vector_elements) += t.numel();
  const int64_t all = matrix_elements + vector_elements;
  EXPECT_EQ(weight_bytes_on(kept, Device::cpu(), std::nullopt), 2 * matrix_elements + 4 * vector_elements);
  EXPECT_EQ(weight_bytes_on(kept, Device::cpu(), DType::BF16), 2 * matrix_elements + 4 * vector_elements);
  EXPECT_EQ(weight_bytes_on(kept, Device::cpu(), DType::F32), 4 * all);
  EXPECT_EQ(weight_bytes_on(kept, Device::cuda(0), std::nullopt), 2 * matrix_elements + 4 * vector_elements);
  EXPECT_EQ(weight_bytes_on(kept, Device::cuda(0), DType::BF16), 2 * matrix_elements + 4 * vector_elements);
  EXPECT_EQ(weight_bytes_on(kept, Device::cuda(0), DType::F32), 4 * all);
}

// The CPU's bf16 mode keeps the stored bf16 matrices (no float32 copy) and multiplies them in bf16
// products; it is the default for a bf16 checkpoint. f32 is the plain float32 load, bit for bit.
TEST(WeightDtype, Bf16OnTheCpuKeepsTheStoredMatrices) {
  test::TempDir dir;
  write_random_qwen35(dir.path(), small_qwen(DType::BF16));
  for (const std::optional<DType> asked : {std::optional<DType>(DType::BF16), std::optional<DType>()}) {
    HybridModel m = load_model_on(dir.path(), Device::cpu(), asked);
    EXPECT_EQ(m.embed.dtype(), DType::BF16);
    int64_t linears = 0;
    for_each_linear(m, [&](Linear& l) {
      if (l.w.empty()) return;
      ++linears;
      EXPECT_EQ(l.w.dtype(), DType::BF16);
      EXPECT_TRUE(l.bf16_products);
    });
    EXPECT_GT(linears, 0);
  }
  const HybridModel f32 = load_model_on(dir.path(), Device::cpu(), DType::F32);
  EXPECT_TRUE(same_bytes(logits_of(f32), logits_of(load_model(dir.path()))));
  // A float32 checkpoint stays float32 unless bf16 is asked for.
  test::TempDir wide;
  write_random_qwen35(wide.path(), small_qwen(DType::F32));
  EXPECT_EQ(load_model_on(wide.path(), Device::cpu(), std::nullopt).embed.dtype(), DType::F32);
  EXPECT_EQ(load_model_on(wide.path(), Device::cpu(), DType::BF16).embed.dtype(), DType::BF16);
}

TEST(WeightDtype, ToBf16RoundsToNearestEven) {
  const std::vector<float> v{1.0f, 1.00390625f /* halfway: stays 1 */, 1.01171875f /* halfway: rounds up */, -3.14159f,
                             0.0f};
  const Tensor b = Tensor::from({5}, v).to_bf16();
  ASSERT_EQ(b.dtype(), DType::BF16);
  const uint16_t* h = b.as<uint16_t>();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(h[i], f32_to_bf16(v[i])) << i;
  EXPECT_EQ(bf16_to_f32(h[1]), 1.0f);
  EXPECT_EQ(bf16_to_f32(h[2]), 1.015625f);
  EXPECT_TRUE(same_bytes(b.to_bf16(), b));
}

// Each mixer's products (ops/product_precision.h: the recurrences' chunk products and attention's):
// TF32 only for bf16 matrices on a GPU; float32's accuracy on the CPU, whatever its matrices, and
// for f32 matrices anywhere. One Qwen3.5 checkpoint (GatedDeltaNet and attention) and one
// Falcon-H1 (Mamba-2 and attention).
namespace {

// The recurrent mixers' products, then the attention mixers'.
std::pair<std::vector<ops::ProductPrecision>, std::vector<ops::ProductPrecision>> products_of(const HybridModel& m) {
  std::vector<ops::ProductPrecision> recurrent, attention;
  for (const Block& b : m.blocks)
    for (const auto& mixer : b.mixers) {
      if (const auto* gdn = std::get_if<GatedDeltaMixer>(&mixer)) recurrent.push_back(gdn->products);
      if (const auto* ssm = std::get_if<Mamba2Mixer>(&mixer)) recurrent.push_back(ssm->products);
      if (const auto* attn = std::get_if<AttentionMixer>(&mixer)) attention.push_back(attn->products);
    }
  return {recurrent, attention};
}

// The bf16 checkpoints' models as kept at load (bf16 matrices), Qwen3.5's then Falcon-H1's.
std::vector<HybridModel> recurrent_models(const test::TempDir& qwen, const test::TempDir& falcon) {
  write_random_qwen35(qwen.path(), small_qwen(DType::BF16));
  write_random_falcon_h1(falcon.path(), small_falcon());
  std::vector<HybridModel> out;
  for (const test::TempDir* dir : {&qwen, &falcon}) out.push_back(load_model(dir->path(), {.keep_bf16_matrices = true}));
  return out;
}

void expect_products(Device device, ops::ProductPrecision for_bf16) {
  test::TempDir qwen, falcon;
  for (const HybridModel& kept : recurrent_models(qwen, falcon))
    for (const DType matrices : {DType::BF16, DType::F32}) {
      const auto [recurrent, attention] = products_of(model_on(kept, device, matrices));
      ASSERT_FALSE(recurrent.empty());
      ASSERT_FALSE(attention.empty());
      for (const auto* products : {&recurrent, &attention})
        for (ops::ProductPrecision p : *products)
          EXPECT_EQ(p, matrices == DType::BF16 ? for_bf16 : ops::ProductPrecision::f32) << dtype_name(matrices);
    }
}

}  // namespace

TEST(WeightDtype, ProductsOnTheCpuKeepFloat32Accuracy) {
  expect_products(Device::cpu(), ops::ProductPrecision::f32);
}

TEST(WeightDtype, ProductsOnTheGpuAreTf32ForBf16Matrices) {
  S0_REQUIRE_GPU();
  expect_products(Device::cuda(0), ops::ProductPrecision::tf32);
}
