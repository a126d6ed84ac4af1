// Making a GPU usable: what a build without CUDA or a machine without a GPU says, and, where a GPU
// is present, tensors going to it and back through the caching allocator, and work queued on the
// GPU's stream from several host threads at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "core/tensor.h"
#include "ops/device_runtime.h"
#include "ops/linear.h"
#include "support/test_support.h"
#if S0_HAVE_CUDA
#include "ops/cuda/device_args.h"
#endif

using namespace s0;
using test::error_of;

TEST(DeviceRuntime, CpuIsAlwaysUsable) { EXPECT_EQ(error_of([] { ops::activate_device(Device::cpu()); }), "(no error)"); }

TEST(DeviceRuntime, MissingGpuIsOneClearLine) {
#if S0_HAVE_CUDA
  const int n = ops::cuda_device_count();
  EXPECT_EQ(error_of([&] { ops::activate_device(Device::cuda(n)); }),
            "cuda:" + std::to_string(n) + ": no such GPU (this machine has " + std::to_string(n) +
                (n == 1 ? " GPU" : " GPUs") + (n == 0 ? ", or no driver answers" : "") + ")");
#else
  EXPECT_EQ(ops::cuda_device_count(), 0);
  EXPECT_EQ(error_of([] { ops::activate_device(Device::cuda(0)); }),
            "cuda:0: this s0 was built without CUDA (build it where nvcc is found to use a GPU)");
#endif
}

TEST(DeviceRuntime, TensorsGoToTheGpuAndBack) {
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine (or a build without CUDA)";
  ops::activate_device(Device::cuda(0));
  std::vector<float> values(3 << 20);  // 12 MiB: more than one page of anything
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f - 7.0f;
  Tensor host = Tensor::from({3, 1 << 20}, values);
  for (int round = 0; round < 3; ++round) {  // later rounds reuse cached blocks
    Tensor dev = host.to(Device::cuda(0));
    EXPECT_EQ(dev.device(), Device::cuda(0));
    Tensor back = dev.clone().to(Device::cpu());
    ASSERT_EQ(back.numel(), host.numel());
    EXPECT_EQ(std::memcmp(back.f32(), host.f32(), host.nbytes()), 0) << "round " << round;
    Tensor z = Tensor::zeros({5, 7}, DType::I64, Device::cuda(0)).to(Device::cpu());
    for (int64_t v : z.to_i64()) EXPECT_EQ(v, 0);
  }
}

// The peak counts the bytes tensors hold at once (freed blocks kept for reuse do not count), and a
// freed block of 1 MiB or more serves the requests of its size class (four per doubling), no others.
// Uploads of 8 MiB and more go through pinned staging buffers in 32 MiB slices
// (ops/cuda/staged_upload.h): several slices and a part slice arrive whole, back-to-back uploads
// each keep their own bytes, and a source changed once an upload returns does not change what
// arrives.
TEST(DeviceRuntime, LargeUploadsArriveWholeAndReleaseTheirSourceOnReturn) {
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine (or a build without CUDA)";
  ops::activate_device(Device::cuda(0));
  const int64_t n = (int64_t{70} << 20) / 4 + 12345;  // 70 MiB and a part: three slices, the last short
  std::vector<Tensor> hosts, devs;
  for (int k = 0; k < 3; ++k) {
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = static_cast<float>(i % 100003) + 0.25f * k;
    hosts.push_back(Tensor::from({n}, values));
  }
  for (const Tensor& h : hosts) devs.push_back(h.to(Device::cuda(0)));
  const std::vector<Tensor> expected = {hosts[0].clone(), hosts[1].clone(), hosts[2].clone()};
  for (Tensor& h : hosts) std::fill(h.f32_mut(), h.f32_mut() + n, -1.0f);  // after the uploads returned
  for (size_t k = 0; k < devs.size(); ++k) {
    const Tensor back = devs[k].to(Device::cpu());
    EXPECT_EQ(std::memcmp(back.f32(), expected[k].f32(), expected[k].nbytes()), 0) << "upload " << k;
  }
}

// The kernels' small tables (ops/cuda/device_args.h): an equal table is the kept upload, and every
// table, kept, new, made again after it was let go, or too large to keep, holds its own values.
TEST(DeviceRuntime, SmallTablesAreUploadedOnceWhileKept) {
#if S0_HAVE_CUDA
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine";
  ops::activate_device(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  auto table = [](int64_t n, int64_t seed) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = seed * 1000003 + i * i - 5;
    return v;
  };
  const Tensor first = ops::cuda::upload_i64(table(3, 1), gpu);
  EXPECT_EQ(ops::cuda::upload_i64(table(3, 1), gpu).device_raw(), first.device_raw());
  EXPECT_NE(ops::cuda::upload_i64(table(3, 2), gpu).device_raw(), first.device_raw());
  EXPECT_EQ(first.to(Device::cpu()).to_i64(), table(3, 1));
  // 300 tables push the first one out; made again, it still holds its values.
  for (int64_t seed = 10; seed < 310; ++seed)
    EXPECT_EQ(ops::cuda::upload_i64(table(seed % 7 + 1, seed), gpu).to(Device::cpu()).to_i64(), table(seed % 7 + 1, seed));
  EXPECT_EQ(ops::cuda::upload_i64(table(3, 1), gpu).to(Device::cpu()).to_i64(), table(3, 1));
  const std::vector<int64_t> large = table(5000, 3);
  const Tensor a = ops::cuda::upload_i64(large, gpu), b = ops::cuda::upload_i64(large, gpu);
  EXPECT_NE(a.device_raw(), b.device_raw()) << "a table past the kept size is uploaded each time";
  EXPECT_EQ(b.to(Device::cpu()).to_i64(), large);
#else
  GTEST_SKIP() << "a build without CUDA";
#endif
}

TEST(DeviceRuntime, PeakCountsWhatTensorsHoldAtOnce) {
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine (or a build without CUDA)";
  const Device gpu = Device::cuda(0);
  ops::activate_device(gpu);
  const size_t before = ops::device_memory_peak(gpu);
  size_t class_bytes = size_t(64) << 20;  // a power of two past any earlier peak: a class size
  while (class_bytes < before + (size_t(64) << 20)) class_bytes *= 2;
  const int64_t big = static_cast<int64_t>(class_bytes / sizeof(float));
  const void* first = nullptr;
  size_t with_a = 0;
  {
    const Tensor a = Tensor::empty({big}, DType::F32, gpu);
    first = a.device_raw();
    with_a = ops::device_memory_peak(gpu);
    EXPECT_GE(with_a, class_bytes);
  }
  // Freed, then asked for again slightly smaller (the same class): the same block, and no new peak.
  {
    const Tensor b = Tensor::empty({big - big / 10}, DType::F32, gpu);
    EXPECT_EQ(b.device_raw(), first);
    EXPECT_EQ(ops::device_memory_peak(gpu), with_a);
  }
  // A little more than the class: the next class up (1.25 times), a block of its own.
  const Tensor over = Tensor::empty({big + 1}, DType::F32, gpu);
  EXPECT_NE(over.device_raw(), first);
  EXPECT_EQ(ops::device_memory_peak(gpu), with_a + class_bytes / 4);
  // Held at once with it, the class's block again: the peak grows by it.
  const Tensor c = Tensor::empty({big}, DType::F32, gpu);
  EXPECT_EQ(c.device_raw(), first);
  EXPECT_EQ(ops::device_memory_peak(gpu), with_a + class_bytes / 4 + class_bytes);
}

// The GPU's one stream orders the work of every host thread: threads that queue fills, copies and
// GEMMs at once (reusing each other's freed blocks through the caching allocator) each read back
// exactly what a lone run computes. `gemm` false: fills and copies only (a kernel-free check of the
// allocator and the copies), true: a cuBLASLt GEMM between them.
namespace {

void expect_threads_read_what_they_queued(bool gemm) {
  const Device gpu = Device::cuda(0);
  ops::activate_device(gpu);
  const int64_t rows = 257, in = 384, out = 320;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  auto random = [&](Shape shape) {
    std::vector<float> v(static_cast<size_t>(numel_of(shape)));
    for (float& x : v) x = normal(rng);
    return Tensor::from(std::move(shape), v);
  };
  const ops::Linear l{random({out, in}).to(gpu), random({out}).to(gpu), false, in, out};
  const ops::Varlen groups{{0, rows}};
  std::vector<Tensor> inputs;
  for (int t = 0; t < 4; ++t) inputs.push_back(random({rows, in}));
  auto result = [&](const Tensor& x) {
    if (!gemm) return x.to(gpu).clone().to(Device::cpu());
    Tensor y = Tensor::zeros({rows, out}, DType::F32, gpu);
    ops::linear_forward(l, x.to(gpu), groups, y, /*add=*/true);
    return y.to(Device::cpu());
  };
  std::vector<Tensor> alone;
  for (const Tensor& x : inputs) alone.push_back(result(x));
  std::vector<int> mismatches(inputs.size(), 0);
  std::vector<double> worst(inputs.size(), 0.0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < inputs.size(); ++t)
    threads.emplace_back([&, t] {
      ops::activate_device(gpu);
      for (int round = 0; round < 20; ++round) {
        const Tensor y = result(inputs[t]);
        if (std::memcmp(y.f32(), alone[t].f32(), y.nbytes()) == 0) continue;
        ++mismatches[t];
        for (int64_t i = 0; i < y.numel(); ++i)
          worst[t] = std::max(worst[t], static_cast<double>(std::abs(y.f32()[i] - alone[t].f32()[i])));
      }
    });
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < inputs.size(); ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t << (gemm ? " (GEMM)" : " (copies)") << ": of 20 rounds, "
                                << mismatches[t] << " differ, by up to " << worst[t];
}

}  // namespace

TEST(DeviceRuntime, HostThreadsQueueCopiesOnTheStreamSafely) {
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine (or a build without CUDA)";
  expect_threads_read_what_they_queued(false);
}

TEST(DeviceRuntime, HostThreadsQueueGemmsOnTheStreamSafely) {
  if (ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU on this machine (or a build without CUDA)";
  expect_threads_read_what_they_queued(true);
}
