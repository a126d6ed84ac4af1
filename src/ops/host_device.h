#pragma once
// S0_HOST_DEVICE marks a function that the CPU code and the CUDA kernels both call, so that the two
// compute the same arithmetic from one definition (nvcc compiles it for both; a C++ compiler sees a
// plain inline function).
#ifdef __CUDACC__
#define S0_HOST_DEVICE __host__ __device__
#else
#define S0_HOST_DEVICE
#endif
