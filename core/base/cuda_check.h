// Status checks for the CUDA runtime, cuBLAS, cuDNN and Thrust (CUDA builds only): a failure becomes a tl::CudaError
// whose message names the call, the status by its library name and the source location. Also the compile-time
// guard of the single-stream rule the caching allocator relies on (core/base/cuda_runtime.cu).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <exception>
#include <new>

#include "core/base/error.h"

// Every kernel, copy and library call runs on the legacy default stream, which is what lets the caching allocator
// hand a freed block to the next user without an event. nvcc's --default-stream per-thread would break that.
#if defined(CUDA_API_PER_THREAD_DEFAULT_STREAM)
#error "topolatent needs the legacy default stream (the caching allocator reuses blocks without stream events)"
#endif

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

// Runs a Thrust call (statement or expression), turning what Thrust throws into the project's errors: a
// thrust::system_error (or any other std::exception) into tl::CudaError naming the call, a failed allocation into
// tl::OutOfMemoryError; a tl::Error (from our allocator) passes through. Thrust's cuda::par policy synchronises at
// the end of each algorithm: count it with cuda_runtime::record_synchronization() (core/base/memory.h).
#define TL_THRUST_CALL(call)                                                                       \
  do {                                                                                             \
    try {                                                                                          \
      call;                                                                                        \
    } catch (const ::tl::Error&) {                                                                 \
      throw;                                                                                       \
    } catch (const std::bad_alloc& tl_failure_) {                                                  \
      TL_FAIL(OutOfMemoryError, #call, " failed to allocate device memory: ", tl_failure_.what()); \
    } catch (const std::exception& tl_failure_) {                                                  \
      TL_FAIL(CudaError, #call, " failed: ", tl_failure_.what());                                  \
    }                                                                                              \
  } while (0)
