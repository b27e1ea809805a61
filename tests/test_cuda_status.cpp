// CUDA builds only: the status checks turn CUDA runtime, cuBLAS and cuDNN failures into tl::CudaError
// messages that name the failing call and the status by its library name. Needs no GPU.
#include "core/base/cuda_check.h"
#include "tests/test_support.h"

namespace tl::testing {

TEST_CASE("CUDA runtime and cuBLAS and cuDNN failures are reported by name") {
  const std::string runtime = error_message([] { TL_CUDA_CHECK(cudaErrorMemoryAllocation); });
  CHECK(runtime.find("cudaErrorMemoryAllocation") != std::string::npos);
  CHECK(runtime.find("tests/test_cuda_status.cpp:") == 0);
  const std::string cublas = error_message([] { TL_CUBLAS_CHECK(CUBLAS_STATUS_NOT_INITIALIZED); });
  CHECK(cublas.find("CUBLAS_STATUS_NOT_INITIALIZED") != std::string::npos);
  const std::string cudnn = error_message([] { TL_CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); });
  CHECK(cudnn.find("CUDNN_STATUS_BAD_PARAM") != std::string::npos);
  CHECK_NOTHROW(TL_CUDA_CHECK(cudaSuccess));
}

}  // namespace tl::testing
