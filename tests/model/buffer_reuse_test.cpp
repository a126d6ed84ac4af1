// The hot paths take their buffers from the pool once a shape has been seen: a second training
// step, prefill or decode step of the same shape asks the system for no tensor buffer and makes no
// scratch buffer of a page or more on the heap (fresh memory costs page faults and zeroing; issue
// 15, item 3). The first one must have asked for some, or the check would hold of a pool that
// counts nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>

#include "core/buffer_pool.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "support/small_models.h"
#include "support/test_support.h"
#include "tune/objective.h"

using namespace s0;

// Heap blocks of a page or more taken outside the pool (such as a std::vector an op makes per call),
// counted by replacing the global operator new in this test program.
namespace {
std::atomic<size_t> large_heap_blocks{0};
}  // namespace

// g++ sees free() of a block from operator new where the replacements below are inlined; here
// they are a malloc/free pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t bytes) {
  if (bytes >= 4096) large_heap_blocks.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

struct ModelCase {
  const char* name;
  std::function<void(const std::filesystem::path&)> write;
  bool bf16;  // the CPU's bf16 mode (weights rounded to bf16 and kept so, bf16 products)
};

const std::vector<ModelCase>& cases() {
  static const std::vector<ModelCase> all = {
      {"Qwen35", [](const auto& d) { write_random_qwen35(d, test::small_qwen35(2)); }, false},
      {"Qwen35Bf16", [](const auto& d) { write_random_qwen35(d, test::small_qwen35(2)); }, true},
      {"FalconH1", [](const auto& d) { write_random_falcon_h1(d, test::small_falcon_h1(2)); }, false}};
  return all;
}

size_t fresh_blocks() { return buffer_pool_counts().system_allocations + large_heap_blocks.load(); }

// The fresh blocks (pool misses and large heap blocks) `run` takes on its first and its second call.
std::pair<size_t, size_t> system_allocations(const std::function<void()>& run) {
  const size_t before = fresh_blocks();
  run();
  const size_t first = fresh_blocks();
  run();
  return {first - before, fresh_blocks() - first};
}

class BufferReuse : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    const ModelCase& c = cases()[GetParam()];
    c.write(dir_.path());
    model_ = load_model_on(dir_.path(), Device::cpu(), c.bf16 ? std::optional(DType::BF16) : std::nullopt);
  }
  std::vector<int64_t> ids(int64_t n, int64_t seed) const {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = (seed * 31 + i * 7) % model_.vocab;
    return v;
  }
  // Sequence lengths of this case's own (the pool is shared with the other tests of this program,
  // which must not have left blocks of these sizes behind).
  int64_t odd_length() const { return 71 + 2 * static_cast<int64_t>(GetParam()); }
  test::TempDir dir_;
  HybridModel model_;
};

TEST_P(BufferReuse, SecondTrainingStepAllocatesNothingFromTheSystem) {
  StateSet states;
  for (const RecurrentLayer& r : model_.recurrent) states.states.push_back(Tensor::zeros(r.state_shape));
  const int64_t n = odd_length();
  const std::vector<Example> examples = {{ids(n, 1), 30}, {ids(n - 26, 2), 20}, {ids(n + 20, 3), 50}};
  const auto [first, second] =
      system_allocations([&] { objective_and_gradient(model_, examples, states, ObjectiveOptions{}); });
  EXPECT_GT(first, 0u);
  EXPECT_EQ(second, 0u);
}

TEST_P(BufferReuse, SecondPrefillAllocatesNothingFromTheSystem) {
  const int64_t n = odd_length();
  const PackedBatch batch = PackedBatch::from_sequences({ids(n, 4), ids(n - 30, 5)});
  ForwardOptions fo;
  fo.logit_rows = {n - 1, 2 * n - 31};
  const auto [first, second] = system_allocations([&] { forward(model_, batch, fo); });
  EXPECT_GT(first, 0u);
  EXPECT_EQ(second, 0u);
}

// Decode steps of batch 1 and 3 after a prompt, each step's logits kept until the next step (as
// the scheduler samples from them). Attention caches double their capacity as they fill (amortised,
// not per step): the first step after the 24-token prompt grows them to 48 rows; the steps
// compared come after it.
TEST_P(BufferReuse, SecondDecodeStepAllocatesNothingFromTheSystem) {
  std::vector<size_t> mixers;
  for (const Block& b : model_.blocks) mixers.push_back(b.mixers.size());
  for (size_t batch : {size_t(1), size_t(3)}) {
    std::vector<SequenceCache> caches(batch, SequenceCache(mixers));
    std::vector<SequenceCache*> ptrs;
    for (SequenceCache& c : caches) ptrs.push_back(&c);
    Tensor logits;
    auto step = [&](const std::vector<std::vector<int64_t>>& inputs) {
      const PackedBatch packed = PackedBatch::from_sequences(inputs, {}, ptrs);
      ForwardOptions fo;
      for (size_t i = 0; i < batch; ++i)
        fo.logit_rows.push_back(packed.begin(static_cast<int64_t>(i)) + packed.length(static_cast<int64_t>(i)) - 1);
      logits = forward(model_, packed, fo).logits;
      for (size_t i = 0; i < batch; ++i) caches[i].length += static_cast<int64_t>(inputs[i].size());
    };
    step(std::vector<std::vector<int64_t>>(batch, ids(24, 6)));
    step(std::vector<std::vector<int64_t>>(batch, {3}));  // the caches' first growth
    EXPECT_EQ(system_allocations([&] { step(std::vector<std::vector<int64_t>>(batch, {5})); }).second, 0u)
        << "batch " << batch;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, BufferReuse, ::testing::Range(size_t(0), cases().size()),
                         [](const auto& info) { return std::string(cases()[info.param].name); });

}  // namespace
