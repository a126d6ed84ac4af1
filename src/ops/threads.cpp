#include "ops/threads.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

namespace s0::ops {

int available_cores() { return std::max(1, omp_get_num_procs()); }

void set_compute_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

}  // namespace s0::ops
