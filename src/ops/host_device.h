#pragma once
// S0_HOST_DEVICE marks a function that the CPU ops and the CUDA kernels share: __host__ __device__
// under nvcc, nothing elsewhere.
#ifdef __CUDACC__
#define S0_HOST_DEVICE __host__ __device__
#else
#define S0_HOST_DEVICE
#endif
