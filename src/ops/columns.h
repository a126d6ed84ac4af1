#pragma once
// Column blocks of a row-major matrix. A fused projection produces one wide [rows, width] matrix
// whose column ranges are the inputs of different ops; ops that can read (or write) their block in
// place take a Columns view with the row stride, the others get a contiguous copy.
#include <cstdint>

#include "core/tensor.h"

namespace s0::ops {

// A view, not a copy: an op that writes through it writes into `t`'s storage.
struct Columns {
  Tensor t;  // the whole matrix (a Tensor handle shares its storage)
  int64_t begin = 0, count = 0;

  int64_t rows() const { return t.dim(0); }
  // Values per row: the product of t's dimensions after the first.
  int64_t stride() const {
    int64_t s = 1;
    for (size_t i = 1; i < t.rank(); ++i) s *= t.dim(i);
    return s;
  }
};

// Columns [begin, begin + count) of t; fails when they are not inside its rows.
Columns columns(const Tensor& t, int64_t begin, int64_t count);
// Every value of t as one block (rows t.dim(0) of the rest: [N, H, d] as [N, H d]).
Columns all_columns(const Tensor& t);
// A contiguous [rows, count] copy of the block.
Tensor copy_columns(const Columns& src);
// dst's block = src[rows, count] (the adjoint of copy_columns, into a zeroed gradient).
void scatter_columns(const Tensor& src, const Columns& dst);

}  // namespace s0::ops
