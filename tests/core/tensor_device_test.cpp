// Tensors know their device: allocation, zeroing, copies and frees go through that device's
// allocator, and host access to memory elsewhere fails naming dtype and device.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "core/allocator.h"
#include "core/tensor.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;

namespace {

// Stands in for a GPU backend in this test binary only: host memory behind the CUDA device type,
// with every call counted so the test sees that Tensor goes through it.
struct CountingAllocator final : Allocator {
  std::map<void*, size_t> live;
  int zeroed = 0, to_device = 0, to_host = 0, within = 0;
  void* allocate(size_t bytes, Device) override {
    void* p = std::malloc(bytes ? bytes : 1);
    live[p] = bytes;
    return p;
  }
  void deallocate(void* p, size_t bytes, Device) override {
    EXPECT_EQ(live.at(p), bytes);
    live.erase(p);
    std::free(p);
  }
  void zero(void* p, size_t bytes, Device) override {
    ++zeroed;
    std::memset(p, 0, bytes);
  }
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    (dst_device.is_cpu() ? to_host : src_device.is_cpu() ? to_device : within) += 1;
    std::memcpy(dst, src, bytes);
  }
};

}  // namespace

TEST(Device, NamesParseBack) {
  for (Device d : {Device::cpu(), Device::cuda(0), Device::cuda(3), Device::cuda(12)})
    EXPECT_EQ(parse_device(device_name(d), "--device"), d) << device_name(d);
  EXPECT_EQ(parse_device("cuda", "--device"), Device::cuda(0));
  EXPECT_EQ(device_name(Device::cuda(1)), "cuda:1");
  for (const char* bad : {"", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1234", "CPU", "cuda:0 "})
    EXPECT_EQ(error_of([&] { parse_device(bad, "--device"); }),
              std::string("--device: unknown device \"") + bad + "\" (expected cpu, cuda or cuda:N)");
}

TEST(Tensor, CpuByDefaultAndEmptyIsWritable) {
  Tensor t = Tensor::empty({3, 4});
  EXPECT_TRUE(t.device().is_cpu());
  EXPECT_EQ(t.nbytes(), 48u);
  float* p = t.f32_mut();
  for (int i = 0; i < 12; ++i) p[i] = static_cast<float>(i);
  Tensor same = t.to(Device::cpu());
  EXPECT_EQ(same.f32(), t.f32());  // already there: no copy
  Tensor z = Tensor::zeros({5}, DType::I64);
  for (int64_t v : z.to_i64()) EXPECT_EQ(v, 0);
}

TEST(Tensor, HostAccessChecksElementSize) {
  Tensor t = Tensor::zeros({2}, DType::BF16);
  EXPECT_NE(t.as<uint16_t>(), nullptr);
  EXPECT_EQ(error_of([&] { t.as<float>(); }), "internal: reading a BF16 tensor as 4-byte elements");
  EXPECT_EQ(error_of([&] { t.f32(); }), "internal: tensor is BF16 on cpu, expected F32 on cpu");
}

// One test, because registration is process-wide and permanent: first the build without a GPU
// backend, then a stand-in backend registered for CUDA.
TEST(Tensor, DevicesGoThroughTheirAllocator) {
  EXPECT_EQ(error_of([] { Tensor::zeros({2}, DType::F32, Device::cuda()); }),
            "cuda:0: this s0 was built without support for this device");

  static CountingAllocator fake;
  register_allocator(DeviceType::CUDA, &fake);
  {
    Tensor host = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor dev = host.to(Device::cuda(1));
    EXPECT_EQ(dev.device(), Device::cuda(1));
    EXPECT_EQ(dev.shape(), host.shape());
    EXPECT_EQ(fake.to_device, 1);
    EXPECT_EQ(fake.live.size(), 1u);

    EXPECT_EQ(error_of([&] { dev.f32(); }), "internal: tensor is F32 on cuda:1, expected F32 on cpu");
    EXPECT_EQ(error_of([&] { dev.raw(); }), "internal: host access to a F32 tensor on cuda:1, expected one on cpu");
    EXPECT_EQ(error_of([&] { dev.as<float>(); }),
              "internal: host access to a F32 tensor on cuda:1, expected one on cpu");
    EXPECT_EQ(error_of([&] { dev.to_f32(); }),
              "internal: host access to a F32 tensor on cuda:1, expected one on cpu");

    Tensor twin = dev.clone();
    EXPECT_EQ(fake.within, 1);
    Tensor back = twin.to(Device::cpu());
    EXPECT_EQ(fake.to_host, 1);
    EXPECT_EQ(std::vector<float>(back.f32(), back.f32() + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));

    Tensor z = Tensor::zeros({4}, DType::I32, Device::cuda());
    EXPECT_EQ(fake.zeroed, 1);
    for (int64_t v : z.to(Device::cpu()).to_i64()) EXPECT_EQ(v, 0);
    EXPECT_EQ(fake.live.size(), 3u);  // dev, twin, z
  }
  EXPECT_TRUE(fake.live.empty());  // every device buffer went back to its allocator
}
