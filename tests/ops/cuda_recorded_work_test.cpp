// Work recorded into a CUDA graph (ops/recorded_work.h) and replayed: each replay computes from its
// inputs as they are then, with the table the work uploaded while recording even after the table
// cache has dropped it; and the memory its temporaries took stays its own, so tensors made after the
// recording keep their values through replays. A copy another thread queues meanwhile waits for the
// recording to end (it would otherwise join the recording and not run). Skipped without a GPU.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "core/allocator.h"
#include "ops/device_runtime.h"
#include "ops/gpu_test_inputs.h"
#include "ops/norm.h"
#include "ops/recorded_work.h"
#include "ops/rows.h"

using namespace s0;

namespace {

constexpr int64_t kRows = 48, kCols = 320;

Tensor random_matrix(uint32_t seed) {
  std::mt19937 rng(seed);
  return test::uniform({kRows, kCols}, -2.0f, 2.0f, rng);
}

}  // namespace

TEST(CudaRecordedWork, ReplaysReadTheirInputsAndKeepTheirTemporaries) {
  S0_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  EXPECT_TRUE(ops::RecordedWork::possible(gpu));
  EXPECT_FALSE(ops::RecordedWork::possible(Device::cpu()));
  std::vector<int64_t> order(static_cast<size_t>(kRows));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(11));  // a table no earlier call uploaded
  const Tensor w = test::on_gpu(random_matrix(3).slice(0, 1).reshaped({kCols}));
  Tensor x = test::on_gpu(random_matrix(1));
  Tensor y = Tensor::empty({kRows, kCols}, DType::F32, gpu);
  // Rows gathered in a shuffled order and scaled (a temporary, and a table), then normalised into y
  // (another temporary: the norm's rstd).
  auto work = [&](Tensor& out) {
    const Tensor gathered = ops::gather_rows(x, order, 2.0f);
    Tensor rstd = Tensor::empty({kRows}, DType::F32, gpu);
    ops::rmsnorm_forward(gathered, w, 1e-6f, out, rstd);
  };
  const ops::RecordedWork recorded(gpu, [&] { work(y); });

  // Tensors made after the recording, of the temporaries' sizes, and a crowd of other tables that
  // pushes the recording's out of the table cache.
  std::vector<Tensor> others;
  for (int i = 0; i < 8; ++i) {
    others.push_back(test::on_gpu(random_matrix(100 + i)));
    others.push_back(Tensor::zeros({kRows}, DType::F32, gpu));
  }
  std::vector<Tensor> others_before;
  for (const Tensor& t : others) others_before.push_back(test::on_cpu(t));
  for (int64_t k = 0; k < 300; ++k) (void)ops::gather_rows(x, {k % kRows, (k * 7) % kRows, k / kRows}, 1.0f);

  for (uint32_t seed : {21u, 22u, 23u}) {
    const Tensor fresh = test::on_gpu(random_matrix(seed));
    copy_bytes(x.device_raw_mut(), gpu, fresh.device_raw(), gpu, x.nbytes());  // where the recording reads
    recorded.replay();
    Tensor want = Tensor::empty({kRows, kCols}, DType::F32, gpu);
    work(want);  // the same work queued by the host
    EXPECT_TRUE(test::bit_identical(y, want)) << "inputs " << seed;
  }
  for (size_t i = 0; i < others.size(); ++i)
    EXPECT_TRUE(test::bit_identical(others[i], others_before[i])) << "tensor " << i << ", made after the recording";
}

TEST(CudaRecordedWork, AnotherThreadsUploadWaitsForTheRecording) {
  S0_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor host = random_matrix(5);
  const Tensor x = test::on_gpu(random_matrix(6));
  const Tensor w = test::on_gpu(random_matrix(7).slice(0, 1).reshaped({kCols}));
  Tensor y = Tensor::empty({kRows, kCols}, DType::F32, gpu);
  Tensor uploaded;
  std::atomic<bool> recording{false};
  std::thread uploader([&] {
    while (!recording) std::this_thread::yield();
    ops::activate_device(gpu);
    uploaded = host.to(gpu);  // queued while the other thread records
  });
  const ops::RecordedWork recorded(gpu, [&] {
    Tensor rstd = Tensor::empty({kRows}, DType::F32, gpu);
    recording = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the uploader comes meanwhile
    ops::rmsnorm_forward(x, w, 1e-6f, y, rstd);
  });
  uploader.join();
  EXPECT_TRUE(test::bit_identical(uploaded, host));
  recorded.replay();
  Tensor want = Tensor::empty({kRows, kCols}, DType::F32, gpu), rstd = Tensor::empty({kRows}, DType::F32, gpu);
  ops::rmsnorm_forward(x, w, 1e-6f, want, rstd);
  EXPECT_TRUE(test::bit_identical(y, want));
}
