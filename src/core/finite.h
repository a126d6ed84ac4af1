#pragma once
// NaN and infinity are never valid input or output: a state, a config number or a flag holding one
// is refused where it enters, with the place named.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace s0 {

// The index of the first NaN or infinity among n floats, or -1 when all are finite.
inline int64_t first_non_finite(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

// Whether all n floats are finite, on every core (a trained state is millions of values).
inline bool all_finite(const float* p, int64_t n) {
  bool finite = true;
#pragma omp parallel for schedule(static) reduction(&& : finite) if (n > (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) finite = finite && std::isfinite(p[i]);
  return finite;
}

// Fails with "<what> must be a finite number, got nan" unless v is finite.
inline void require_finite(double v, const std::string& what) {
  if (!std::isfinite(v)) fail(what, " must be a finite number, got ", v);
}

}  // namespace s0
