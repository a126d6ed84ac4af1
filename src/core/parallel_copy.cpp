#include "core/parallel_copy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace s0 {

void parallel_memcpy(void* dst, const void* src, size_t bytes) {
  constexpr size_t kPiece = size_t{1} << 20;
  auto* to = static_cast<char*>(dst);
  const auto* from = static_cast<const char*>(src);
  const int64_t pieces = static_cast<int64_t>((bytes + kPiece - 1) / kPiece);
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int64_t p = 0; p < pieces; ++p) {
    const size_t off = static_cast<size_t>(p) * kPiece;
    std::memcpy(to + off, from + off, std::min(kPiece, bytes - off));
  }
}

}  // namespace s0
