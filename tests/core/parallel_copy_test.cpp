// Copies and dtype conversions spread over the compute threads (core/parallel_copy.h, Tensor::to_f32
// and to_bf16 from 2^20 elements): the same bytes as one thread's, for sizes around the 1 MiB
// pieces and for any thread count.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "core/parallel_copy.h"
#include "core/tensor.h"
#include "ops/threads.h"

using namespace s0;

TEST(ParallelCopy, SameBytesAsMemcpyForSizesAroundItsPieces) {
  const size_t mib = size_t{1} << 20;
  std::vector<unsigned char> src(3 * mib + 17);
  std::mt19937 rng(5);
  for (unsigned char& b : src) b = static_cast<unsigned char>(rng());
  for (const int threads : {1, 2, 3}) {
    ops::set_compute_threads(threads);
    for (const size_t n : {size_t{0}, size_t{1}, mib - 1, mib, mib + 1, 3 * mib + 17}) {
      std::vector<unsigned char> dst(src.size() + 2, 0xAB);
      parallel_memcpy(dst.data() + 1, src.data(), n);
      EXPECT_EQ(std::memcmp(dst.data() + 1, src.data(), n), 0) << n << " bytes, " << threads << " threads";
      EXPECT_EQ(dst[0], 0xAB) << "wrote before the destination";
      EXPECT_EQ(dst[n + 1], 0xAB) << "wrote past " << n << " bytes";
    }
  }
  ops::set_compute_threads(ops::available_cores());
}

TEST(ParallelCopy, LargeConversionsGiveEachElementsOwnConversion) {
  const int64_t n = (int64_t{1} << 20) + 333;  // past the threshold at which threads share the work
  std::vector<float> values(static_cast<size_t>(n));
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 100.0f);
  for (float& v : values) v = dist(rng);
  const Tensor f32 = Tensor::from({n}, values);
  for (const int threads : {1, 2}) {
    ops::set_compute_threads(threads);
    const Tensor bf16 = f32.to_bf16();
    const Tensor back = bf16.to_f32();
    const auto* h = static_cast<const uint16_t*>(bf16.raw());
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t want = f32_to_bf16(values[static_cast<size_t>(i)]);
      wrong += h[i] != want || back.f32()[i] != bf16_to_f32(want);
    }
    EXPECT_EQ(wrong, 0) << threads << " threads";
    EXPECT_EQ(std::memcmp(f32.to_f32().f32(), values.data(), values.size() * sizeof(float)), 0);
  }
  ops::set_compute_threads(ops::available_cores());
}
