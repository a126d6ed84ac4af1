// `s0 info` states a flagship's S0 size: a random checkpoint with NVIDIA Nemotron 3 Nano 30B-A3B's
// published layer pattern (52 layers, 23 Mamba-2) and Mamba-2 shape (64 heads of dim 64, d_state
// 128, 8 groups), every other width tiny, as docs/families.md's table counts it, and what a
// sequence's caches take.
#include <gtest/gtest.h>

#include "core/strings.h"
#include "model/arch/random_mamba2_hybrid.h"
#include "support/test_support.h"

using namespace s0;

TEST(Info, NemotronNanoShapedCheckpointStatesItsS0Size) {
  Mamba2HybridDims d;
  d.family = Mamba2Hybrid::NemotronH;
  d.pattern = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME";
  d.hidden = 16;
  d.vocab = 32;
  d.intermediate = 8;
  d.heads = 2;
  d.kv_heads = 1;
  d.head_dim = 8;
  d.mamba_heads = 64;
  d.mamba_head_dim = 64;
  d.d_state = 128;
  d.groups = 8;
  d.experts = 4;
  d.experts_per_token = 2;
  d.moe_intermediate = 4;
  d.shared_intermediate = 8;
  const test::TempDir dir;
  write_random_mamba2_hybrid(dir.path(), d);
  const test::CliResult r = test::run_s0({"info", dir.path().string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("layers:            52  [M E M E M F E"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recurrent layers:  23  [0,2,4,7,9,11,14,16,18,21,23,25,28,30,32,35,37,39,41,44,46,48,50]"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("S0 shape:          [64, 64, 128] per layer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("S0 parameters:     12,058,624"), std::string::npos) << r.out;
  // A sequence's caches at 4,096 tokens: 23 states of 64 x 64 x 128, 23 conv windows of 3 rows of
  // 64 x 64 + 2 x 8 x 128 channels (float32 always), and 6 attention layers' keys and values of one
  // head of 8 for up to twice the context's rows.
  const int64_t states = 23 * 64 * 64 * 128, windows = 23 * 3 * (64 * 64 + 2 * 8 * 128), kv = 6 * 2 * 8192 * 8;
  const std::string f32 = bytes_text(4 * (states + windows + kv)), bf16 = bytes_text(2 * states + 4 * windows + 2 * kv);
  EXPECT_NE(r.out.find("sequence caches:   at most " + f32 + " at 4,096 tokens; " + bf16 +
                       " with --state-dtype bf16 --kv-dtype bf16"),
            std::string::npos)
      << r.out;
}
