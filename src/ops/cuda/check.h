#pragma once
// Error checks for CUDA runtime and cuBLASLt calls inside the backend (.cu and .cpp files that see
// the CUDA headers).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace s0::ops::cuda {

inline void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) fail("CUDA: ", call, " failed: ", cudaGetErrorString(status));
}

inline void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) fail("cuBLASLt: ", call, " failed with status ", static_cast<int>(status));
}

// Checks the launch of the kernel just queued (bad configuration, no kernel image for this GPU).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace s0::ops::cuda

#define S0_CUDA_CHECK(call) ::s0::ops::cuda::check((call), #call)
