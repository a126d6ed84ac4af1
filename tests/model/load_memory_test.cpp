// A model larger than the machine says so before loading: the bytes a load allocates, known from
// the headers, against MemAvailable. Routed experts stay mapped (f32 or bf16) and are not counted.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/half.h"
#include "io/meminfo.h"
#include "io/safetensors.h"
#include "model/arch/load_memory.h"
#include "model/arch/registry.h"
#include "support/test_support.h"

using namespace s0;

namespace {

int64_t expert_parameters(const HybridModel& m) {
  int64_t n = 0;
  for (const Block& b : m.blocks)
    if (b.moe)
      for (const Expert& e : b.moe->experts) {
        for (const Linear& l : e.gate_up) n += l.w.numel();
        n += e.down.w.numel();
      }
  return n;
}

}  // namespace

TEST(LoadMemory, CountsEveryReadTensorButTheMappedExperts) {
  // Dense, multimodal (its vision tower never read), MoE stacked and one tensor per expert.
  for (auto [name, moe] : {std::pair{"qwen35-text", false}, {"qwen35-vl-tied", false}, {"qwen35-moe-text", true},
                           {"qwen35-moe-vl-tied", true}, {"qwen3-next", true}, {"granite-h-moe-tied", true}}) {
    const Checkpoint ck = Checkpoint::open(test::fixture_model(name));
    const HybridModel m = load_model(ck);
    const int64_t experts = expert_parameters(m);
    EXPECT_EQ(experts > 0, moe) << name;
    EXPECT_EQ(load_bytes(ck), (m.parameter_count - experts) * 4) << name;
  }
}

TEST(LoadMemory, F32ExpertsAreViewsIntoTheMappedFile) {
  const HybridModel m = load_model(test::fixture_model("qwen35-moe-vl-tied"));  // stacked experts
  const Expert& e = m.blocks.at(0).moe->experts.at(1);
  Tensor w = e.down.w;
  EXPECT_ANY_THROW(w.f32_mut()) << "a mapped view is read-only; a copy would be writable";
  const HybridModel split = load_model(test::fixture_model("qwen3-next"));  // one tensor per expert
  Tensor g = split.blocks.at(0).moe->experts.at(0).gate_up.at(0).w;
  EXPECT_ANY_THROW(g.f32_mut());
}

TEST(LoadMemory, Bf16ExpertsStayMappedInBf16) {
  SafetensorsFile st = SafetensorsFile::open(test::fixture_model("qwen35-moe-text") / "model.safetensors");
  std::map<std::string, Tensor> bf16;
  for (const std::string& n : st.names()) {
    const Tensor t = st.tensor(n);
    Tensor h = Tensor::zeros(t.shape(), DType::BF16);
    for (int64_t i = 0; i < t.numel(); ++i) static_cast<uint16_t*>(h.raw_mut())[i] = f32_to_bf16(t.f32()[i]);
    bf16[n] = h;
  }
  test::TempDir dir;
  write_safetensors(dir / "model.safetensors", bf16);
  fs::copy_file(test::fixture_model("qwen35-moe-text") / "config.json", dir / "config.json");
  const Checkpoint ck = Checkpoint::open(dir.path());
  const HybridModel m = load_model(ck);
  const Tensor& w = m.blocks.at(0).moe->experts.at(2).down.w;
  EXPECT_EQ(w.dtype(), DType::BF16);
  EXPECT_EQ(load_bytes(ck), (m.parameter_count - expert_parameters(m)) * 4);
}

TEST(LoadMemory, AModelLargerThanTheMemorySaysSoWithTheNumbers) {
  const Checkpoint ck = Checkpoint::open(test::fixture_model("qwen35-moe-text"));
  const int64_t need = load_bytes(ck);
  EXPECT_NO_THROW(check_fits_in_memory(ck, {}, need));
  EXPECT_NO_THROW(check_fits_in_memory(ck, {}, -1));
  try {
    check_fits_in_memory(ck, {}, need - 1);
    FAIL() << "no error for too little memory";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("needs 0.0 GiB of memory (" + std::to_string(need) + " bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available (MemAvailable in /proc/meminfo)"), std::string::npos) << msg;
  }
}

TEST(LoadMemory, ReadsMemAvailable) {
  EXPECT_EQ(available_memory_bytes("MemTotal:       16316412 kB\nMemAvailable:    8000000 kB\n"), 8000000LL * 1024);
  EXPECT_EQ(available_memory_bytes("MemTotal:       16316412 kB\n"), -1);
  EXPECT_EQ(available_memory_bytes("MemAvailable: lots\n"), -1);
  EXPECT_GT(available_memory_bytes(), 0) << "this machine's /proc/meminfo";
}
