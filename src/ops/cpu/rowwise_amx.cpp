#include "ops/cpu/rowwise_amx.h"

#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cpuid.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/cpu/rowwise_tiles.h"

namespace s0::ops::cpu {

namespace {

#define S0_AMX __attribute__((target("amx-tile,amx-bf16")))

constexpr int kTile = 16;   // rows of every tile: 16 rows of W, 16 rows of x (as columns of C)
constexpr int kBlock = 32;  // bf16 elements of K per tile product (64 bytes a row)

// The tile configuration (palette 1) for a product of `cols` rows of W: C (tile 0) cols x 16 float,
// A (tile 1) cols rows of W x 32 elements, B (tile 2) 16 pairs of K x 16 rows of x.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
TileConfig tile_config(int cols) {
  TileConfig c;
  c.rows[0] = static_cast<uint8_t>(cols), c.colsb[0] = kTile * sizeof(float);
  c.rows[1] = static_cast<uint8_t>(cols), c.colsb[1] = kBlock * sizeof(uint16_t);
  c.rows[2] = kBlock / 2, c.colsb[2] = kTile * 2 * sizeof(uint16_t);
  return c;
}

// x's rows in AMX's B layout: per group of 16 rows and block of 32 elements, 16 rows of pairs
// (K pair p, x row r) at [p][r][2]; rows past m and elements past `in` are zeros. In the calling
// thread's buffer, reused from call to call (a decode step makes a hundred of these).
class PackedX {
 public:
  PackedX(const uint16_t* const* parts, int n_parts, int64_t m, int64_t in)
      : groups_((m + kTile - 1) / kTile), blocks_((in + kBlock - 1) / kBlock) {
    thread_local std::vector<uint16_t> buffer;
    buffer.assign(static_cast<size_t>(n_parts * groups_ * blocks_ * kBlock * kTile), 0);
    data_ = buffer.data();  // the pointer, which the other threads read (the name is this thread's)
    for (int part = 0; part < n_parts; ++part)
      for (int64_t i = 0; i < m; ++i) {
        const uint16_t* row = parts[part] + i * in;
        for (int64_t b = 0; b < blocks_; ++b) {
          uint16_t* dst = data_ + offset(part, i / kTile, b) + (i % kTile) * 2;
          const int64_t n = std::min<int64_t>(kBlock, in - b * kBlock);
          for (int64_t k = 0; k < n; ++k) dst[(k / 2) * 2 * kTile + k % 2] = row[b * kBlock + k];
        }
      }
  }
  // The B tile of part `part`, rows [16 g, 16 g + 16), block b.
  const uint16_t* block(int part, int64_t g, int64_t b) const { return data_ + offset(part, g, b); }

 private:
  int64_t offset(int part, int64_t g, int64_t b) const { return ((part * groups_ + g) * blocks_ + b) * kBlock * kTile; }
  int64_t groups_, blocks_;
  uint16_t* data_;
};

// d[r * 16 + c] = dot(x row 16 g + r of `part`, W row j0 + c) for c < cols (all 16 r; rows past m
// are zeros). W's block past `in` (a tail shorter than 32) goes through a zero-padded copy: the tile
// loads whole 64-byte rows.
S0_AMX void amx_tile(const PackedX& x, int part, int64_t g, const uint16_t* w, int64_t in, int cols, float* d) {
  const TileConfig config = tile_config(cols);
  _tile_loadconfig(&config);
  _tile_zero(0);
  const int64_t full = in / kBlock;
  for (int64_t b = 0; b < full; ++b) {
    _tile_loadd(1, w + b * kBlock, in * sizeof(uint16_t));
    _tile_loadd(2, x.block(part, g, b), kTile * 2 * sizeof(uint16_t));
    _tile_dpbf16ps(0, 1, 2);
  }
  if (full * kBlock < in) {
    uint16_t tail[kTile][kBlock] = {};
    for (int c = 0; c < cols; ++c)
      std::memcpy(tail[c], w + c * in + full * kBlock, (in - full * kBlock) * sizeof(uint16_t));
    _tile_loadd(1, tail, kBlock * sizeof(uint16_t));
    _tile_loadd(2, x.block(part, g, full), kTile * 2 * sizeof(uint16_t));
    _tile_dpbf16ps(0, 1, 2);
  }
  float c_tile[kTile][kTile];  // [W row][x row]
  _tile_stored(0, c_tile, kTile * sizeof(float));
  _tile_release();
  for (int r = 0; r < kTile; ++r)
    for (int c = 0; c < cols; ++c) d[r * kTile + c] = c_tile[c][r];
}

// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA: Linux hands out AMX's tile state only on request.
bool request_amx_permission() {
  constexpr int kReqXcompPerm = 0x1023, kXtileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
}

}  // namespace

bool cpu_has_amx_bf16() {
  static const bool has = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
    return amx_bf16 && amx_tile && request_amx_permission();
  }();
  return has;
}

void rowwise_amx_linear(const uint16_t* const* parts, int n_parts, int64_t m, const uint16_t* w, const float* bias,
                        int64_t in, int64_t out, float* y, bool add) {
  const PackedX x(parts, n_parts, m, in);
  auto tiles = [&](int part, int64_t i0, int rows, int64_t j0, int cols, float* d) {
    amx_tile(x, part, i0 / kTile, w + j0 * in, in, cols, d);
  };
  rowwise_tiles<float, kTile, kTile>(m, in, out, bias, y, add, n_parts, tiles);
}

}  // namespace s0::ops::cpu
