// Status checks for the CUDA runtime, cuBLAS and cuDNN (CUDA builds only): a failure becomes a tl::CudaError
// whose message names the call, the status by its library name and the source location.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/base/error.h"

#define TL_CUDA_CHECK(call)                                                                                            \
  do {                                                                                                                 \
    const cudaError_t tl_status_ = (call);                                                                             \
    if (tl_status_ != cudaSuccess)                                                                                     \
      TL_FAIL(CudaError, #call, " failed: ", cudaGetErrorName(tl_status_), " (", cudaGetErrorString(tl_status_), ")"); \
  } while (0)

#define TL_CUBLAS_CHECK(call)                                                                                          \
  do {                                                                                                                 \
    const cublasStatus_t tl_status_ = (call);                                                                          \
    if (tl_status_ != CUBLAS_STATUS_SUCCESS)                                                                           \
      TL_FAIL(CudaError, #call, " failed: ", cublasGetStatusName(tl_status_), " (", cublasGetStatusString(tl_status_), \
              ")");                                                                                                    \
  } while (0)

#define TL_CUDNN_CHECK(call)                                                                                         \
  do {                                                                                                               \
    const cudnnStatus_t tl_status_ = (call);                                                                         \
    if (tl_status_ != CUDNN_STATUS_SUCCESS) TL_FAIL(CudaError, #call, " failed: ", cudnnGetErrorString(tl_status_)); \
  } while (0)

// Checks the launch of the last kernel (configuration errors surface here, execution errors at the next sync).
#define TL_CUDA_CHECK_LAUNCH() TL_CUDA_CHECK(cudaGetLastError())
