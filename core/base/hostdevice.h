// Marks functions that are compiled for both the CPU and the GPU: the math of every kernel is written once
// in kernels/*_impl.h with TL_HD and called from the CPU loops and from the CUDA __global__ wrappers.
#pragma once

#if defined(__CUDACC__)
#define TL_HD __host__ __device__ __forceinline__
#else
#define TL_HD inline
#endif
