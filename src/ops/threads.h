#pragma once
// The one thread count of the CPU compute: OpenMP's pool and OpenBLAS (whose OpenMP build runs on
// that pool) are set together, so `--threads N` means N everywhere.
namespace s0::ops {

// Cores this process may run on (at least 1).
int available_cores();
// Every later OpenMP region and BLAS call uses `n` threads.
void set_compute_threads(int n);

}  // namespace s0::ops
