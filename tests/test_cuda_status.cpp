// CUDA builds only: the status checks turn CUDA runtime, cuBLAS, cuDNN and Thrust failures into tl::CudaError
// messages that name the failing call and the status by its library name. Needs no GPU.
#include <new>
#include <system_error>

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

TEST_CASE("Thrust's exceptions become the project's errors naming the call") {
  // thrust::system_error is a std::system_error (Thrust's headers are not on this suite's include path).
  const auto thrust_failure = [] { throw std::system_error(std::make_error_code(std::errc::io_error), "sort failed"); };
  bool mapped = false;
  try {
    TL_THRUST_CALL(thrust_failure());
  } catch (const CudaError& e) {
    mapped = std::string(e.what()).find("thrust_failure() failed: sort failed") != std::string::npos;
  }
  CHECK(mapped);
  CHECK_THROWS_AS(TL_THRUST_CALL(throw std::bad_alloc()), OutOfMemoryError);
  CHECK_THROWS_AS(TL_THRUST_CALL(TL_FAIL(ValueError, "ours")), ValueError);
  int value = 0;
  TL_THRUST_CALL(value = 3);
  CHECK(value == 3);
}

}  // namespace tl::testing
