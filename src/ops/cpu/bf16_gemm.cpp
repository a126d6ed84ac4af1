#include "ops/cpu/bf16_gemm.h"

#include <omp.h>

#include <algorithm>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/error.h"

namespace s0::ops::cpu {

namespace {

// Tiles of C: large enough that the AMX kernels run near their peak on one core, small enough that
// a 512-token prefill's projections give every thread several tiles. Rows and columns are split
// evenly (tiles differ by at most one row or column). Each call lays out its part of B afresh, so
// tall tiles read B fewer times: the LM head's products over one example's 135 loss rows run in
// one row of tiles. Measured against the earlier 128 x 1024 tiles (128 + 128 + 44 rows for 300,
// which left one of two threads idle most of the time), median of alternating pairs, 2 threads on
// the loaded machine: 1.0-1.5x at the 0.8B shapes' 300-row products, 1.1x the LM head forward,
// 3.2x its backward ([135 x 248320] x [248320 x 1024]).
constexpr int64_t kTileRows = 256, kTileCols = 512;

// [0, extent) cut into ceil(extent / most) parts whose sizes differ by at most one: part p starts at
// p * base + min(p, extra).
struct EvenSplit {
  int64_t parts, base, extra;
  EvenSplit(int64_t extent, int64_t most)
      : parts((extent + most - 1) / most), base(extent / parts), extra(extent % parts) {}
  int64_t begin(int64_t p) const { return p * base + std::min(p, extra); }
  int64_t size(int64_t p) const { return base + (p < extra ? 1 : 0); }
};

using dnnl::memory;

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

memory::desc plain(int64_t rows, int64_t cols, memory::data_type t, bool transposed = false) {
  // Row-major [rows, cols]; transposed: the matrix is stored as its transpose [cols, rows].
  return memory::desc({rows, cols}, t, transposed ? memory::dims{1, rows} : memory::dims{cols, 1});
}

// A tile's B: columns [j0, j0 + cols) of op(b): for a transposed b, whole rows of the weight (dense);
// else a column block of [k, n], rows `n` apart.
memory::desc b_tile_desc(int64_t k, int64_t cols, int64_t n, bool trans_b) {
  return trans_b ? plain(k, cols, memory::data_type::bf16, true)
                 : memory::desc({k, cols}, memory::data_type::bf16, memory::dims{n, 1});
}

// One tile shape's matmul, planned for one thread, with the scratchpad left to the caller (a
// library-owned scratchpad is shared between concurrent calls of one primitive: measured to race).
struct TilePrimitive {
  dnnl::matmul matmul;
  size_t scratchpad_bytes = 0;
};

const TilePrimitive& tile_primitive(int64_t rows, int64_t cols, int64_t k, int64_t n, bool trans_b) {
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, TilePrimitive> made;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(rows, cols, k, trans_b ? 0 : n, trans_b);
  if (auto it = made.find(key); it != made.end()) return it->second;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc desc(plain(rows, k, memory::data_type::bf16), b_tile_desc(k, cols, n, trans_b),
                                plain(rows, cols, memory::data_type::f32));
  // oneDNN plans for omp_get_max_threads() threads: one, so that no plan splits K.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  try {
    const dnnl::matmul::primitive_desc pd(desc, attr, engine());
    omp_set_num_threads(threads);
    return made.emplace(key, TilePrimitive{dnnl::matmul(pd), pd.scratchpad_desc().get_size()}).first->second;
  } catch (const dnnl::error& e) {
    omp_set_num_threads(threads);
    fail("oneDNN has no bf16 matmul for [", rows, " x ", k, "] x [", k, " x ", cols, "] on this CPU: ", e.what());
  }
}

// This thread's reusable memory (grown, never shrunk): the tile's output and oneDNN's scratchpad.
std::vector<float>& tile_output() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<uint8_t>& scratchpad() {
  thread_local std::vector<uint8_t> v;
  return v;
}

}  // namespace

void bf16_gemm(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, bool trans_b, float* c,
               bool accumulate) {
  if (m == 0 || n == 0) return;
  const EvenSplit row_split(m, kTileRows), col_split(n, kTileCols);
  // The (at most four) tile shapes are planned here, outside the parallel region.
  for (int64_t rows : {row_split.size(0), row_split.size(row_split.parts - 1)})
    for (int64_t cols : {col_split.size(0), col_split.size(col_split.parts - 1)}) tile_primitive(rows, cols, k, n, trans_b);
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t ti = 0; ti < row_split.parts; ++ti)
    for (int64_t tj = 0; tj < col_split.parts; ++tj) {
      const int64_t i0 = row_split.begin(ti), j0 = col_split.begin(tj);
      const int64_t rows = row_split.size(ti), cols = col_split.size(tj);
      const TilePrimitive& p = tile_primitive(rows, cols, k, n, trans_b);
      // oneDNN's fast kernels want a dense output: the tile is written here, then stored into c.
      std::vector<float>& out = tile_output();
      if (out.size() < static_cast<size_t>(rows * cols)) out.resize(static_cast<size_t>(rows * cols));
      std::vector<uint8_t>& pad = scratchpad();
      if (pad.size() < p.scratchpad_bytes) pad.resize(p.scratchpad_bytes);
      const uint16_t* b_tile = trans_b ? b + j0 * k : b + j0;
      dnnl::stream stream(engine());
      p.matmul.execute(
          stream, {{DNNL_ARG_SRC, memory(plain(rows, k, memory::data_type::bf16), engine(),
                                          const_cast<uint16_t*>(a + i0 * k))},
                   {DNNL_ARG_WEIGHTS, memory(b_tile_desc(k, cols, n, trans_b), engine(), const_cast<uint16_t*>(b_tile))},
                   {DNNL_ARG_DST, memory(plain(rows, cols, memory::data_type::f32), engine(), out.data())},
                   {DNNL_ARG_SCRATCHPAD,
                    memory(memory::desc({static_cast<int64_t>(p.scratchpad_bytes)}, memory::data_type::u8,
                                        memory::format_tag::a),
                           engine(), pad.data())}});
      for (int64_t r = 0; r < rows; ++r) {
        float* dst = c + (i0 + r) * n + j0;
        const float* src = out.data() + r * cols;
        if (accumulate)
          for (int64_t j = 0; j < cols; ++j) dst[j] += src[j];
        else
          std::copy(src, src + cols, dst);
      }
    }
}

}  // namespace s0::ops::cpu
