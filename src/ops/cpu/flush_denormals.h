#pragma once
// While an object lives, the calling thread's float arithmetic treats denormal inputs as zero and
// flushes denormal results to zero (MXCSR's DAZ and FTZ bits); the earlier mode comes back after.
//
// Why: every operation on or producing a denormal (below 2^-126) takes a microcode assist of about a
// hundred cycles. The chunked recurrences make them in bulk wherever a head decays strongly: decay
// factors near the bottom of float's normal range times keys, queries or gradients. On the random
// Qwen3.5-0.8B benchmark model the GatedDeltaNet kernels ran 3.5x (backward) to 5x (forward) slower for it. A value that small
// is lost against any term of normal size, so results change only where a sum is itself of that size.
// Set per thread: each OpenMP thread of a parallel region takes its own.
#include <xmmintrin.h>

namespace s0::ops::cpu {

class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  unsigned saved_;
};

}  // namespace s0::ops::cpu
