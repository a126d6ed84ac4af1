// Ops pick their backend from their tensors' device: tensors on two devices, or on a device this
// build has no implementation for, end with a message naming the op and the devices, before any
// memory is touched.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include "core/allocator.h"
#include "ops/dispatch.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;

namespace {

// Host memory behind the CUDA device type, in this test binary only: lets CUDA tensors exist
// without a GPU backend, so the ops' dispatch can be seen refusing them.
struct HostMemoryAsCuda final : Allocator {
  void* allocate(size_t bytes, Device) override { return std::malloc(bytes ? bytes : 1); }
  void deallocate(void* p, size_t, Device) override { std::free(p); }
  void zero(void* p, size_t bytes, Device) override { std::memset(p, 0, bytes); }
  void copy(void* dst, Device, const void* src, Device, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

class OpDispatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static HostMemoryAsCuda allocator;
    register_allocator(DeviceType::CUDA, &allocator);
  }
};

}  // namespace

TEST_F(OpDispatch, RefusesTensorsOnTwoDevices) {
  const Tensor x = Tensor::zeros({2, 4});
  const Tensor w = Tensor::zeros({4}, DType::F32, Device::cuda(0));
  Tensor y = Tensor::zeros({2, 4}), rstd;
  EXPECT_EQ(error_of([&] { ops::rmsnorm_forward(x, w, 1e-6f, y, rstd); }),
            "internal: op rmsnorm has tensors on cpu and cuda:0");
}

TEST_F(OpDispatch, NamesTheOpAndTheDeviceWithoutABackend) {
#if S0_HAVE_CUDA
  // Linear has a CUDA backend in this build (tests/ops/cuda_dense_test.cpp): the message is checked
  // on its own here, the whole path in builds without CUDA.
  EXPECT_EQ(error_of([] { ops::no_backend("linear", Device::cuda(1)); }),
            "op linear has no implementation for cuda:1 in this build");
#else
  const Device gpu = Device::cuda(1);
  const ops::Linear l{Tensor::zeros({3, 4}, DType::F32, gpu), Tensor(), false, 4, 3};
  const Tensor x = Tensor::zeros({2, 4}, DType::F32, gpu);
  Tensor y = Tensor::zeros({2, 3}, DType::F32, gpu);
  EXPECT_EQ(error_of([&] { ops::linear_forward(l, x, ops::Varlen{{0, 2}}, y); }),
            "op linear has no implementation for cuda:1 in this build");
#endif
}
