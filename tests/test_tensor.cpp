// Tensor construction, dtypes, host access and the error messages users see: shapes, dtypes, devices,
// out-of-memory, bad indices, and the source location every error carries.
#include "kernels/cuda_module.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("factories and host access") {
  const Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.dim(-1) == 3);
  CHECK(z.device() == Device::CPU);
  CHECK(z.to_vector<float>() == std::vector<float>(6, 0.0f));
  CHECK(Tensor::full({2}, 2.5f).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  const Tensor i = Tensor::from_vector<int64_t>({3, 1, 2}, {3});
  CHECK(i.dtype() == DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{3, 1, 2});
  CHECK(reinterpret_cast<uintptr_t>(Tensor::empty({5}).raw_data()) % kCpuAlignment == 0);
  const Tensor c = z.clone();
  CHECK(c.raw_data() != z.raw_data());
  CHECK(Tensor::empty({0, 4}).numel() == 0);
}

TEST_CASE("shape errors name both shapes") {
  const Tensor a = Tensor::zeros({2, 3});
  const std::string add_error = error_message([&] { add(a, Tensor::zeros({4})); });
  CHECK(contains(add_error, "[2, 3]"));
  CHECK(contains(add_error, "[4]"));
  const std::string mm = error_message([&] { matmul(a, Tensor::zeros({2, 3})); });
  CHECK(contains(mm, "inner dimensions differ"));
  CHECK(contains(mm, "[2, 3] x [2, 3]"));
  const std::string loss = error_message([&] { mse_loss(a, Tensor::zeros({3, 2})); });
  CHECK(contains(loss, "mse_loss"));
  CHECK(contains(loss, "[3, 2]"));
  CHECK(contains(error_message([&] { Tensor::from_vector<float>({1, 2, 3}, {2, 2}); }), "3 values"));
  CHECK(contains(error_message([&] { reshape(a, {4, -1}); }), "cannot infer"));
  CHECK(contains(error_message([&] { slice(a, 1, 2, 5); }), "[2, 5)"));
  CHECK(contains(error_message([&] { concat({a, Tensor::zeros({2, 2})}, 0); }), "differ outside that axis"));
  CHECK(contains(error_message([&] { sum(a, 2); }), "axis 2 is out of range"));
}

TEST_CASE("errors of the right kind carry the source location") {
  const Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(add(a, Tensor::zeros({4})), ShapeError);
  CHECK_THROWS_AS(index_select(a, 0, Tensor::from_vector<int64_t>({5}, {1})), ValueError);
  try {
    matmul(a, a);
    FAIL("expected a ShapeError");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).rfind("core/ops_matmul.cpp:", 0) == 0);  // path relative to the source tree
  }
}

TEST_CASE("dtype and index errors") {
  const Tensor x = Tensor::zeros({3, 2});
  const Tensor ints = Tensor::from_vector<int32_t>({1, 2}, {2});
  CHECK(contains(error_message([&] { relu(ints); }), "needs float32 tensors, got int32 [2]"));
  CHECK(contains(error_message([&] { ints.to_vector<float>(); }), "holds int32"));
  const std::string bad_index = error_message([&] {
    index_select(x, 0, Tensor::from_vector<int64_t>({0, 3, -1}, {3}));
  });
  CHECK(contains(bad_index, "span [-1, 3]"));
  CHECK(contains(bad_index, "has size 3"));
  CHECK(contains(error_message([&] { index_select(x, 0, Tensor::zeros({1})); }), "int32 or int64"));
  CHECK(contains(error_message([] { Tensor().shape(); }), "undefined tensor"));
}

TEST_CASE("out of memory names the size asked for") {
  const std::string message = error_message([] { Tensor::empty({int64_t(1) << 40}); });
  CHECK(contains(message, "out of CPU memory"));
  CHECK(contains(message, "4398046511104 bytes"));
}

TEST_CASE("CUDA tensors without a usable GPU fail with the CUDA error's name") {
  if (cuda_runtime::device_count() > 0) return;  // covered by the parity tests where a GPU exists
  const std::string message = error_message([] { Tensor::zeros({4}, Device::CUDA); });
  if (cuda_runtime::compiled() && kernels::cuda_module_loaded()) {
    CHECK(contains(message, "cudaError"));  // e.g. cudaErrorNoDevice, cudaErrorInsufficientDriver
  } else if (cuda_runtime::compiled()) {
    CHECK(contains(message, kernels::cuda_module_path()));  // the module could not be opened: named with its path
  } else {
    CHECK(contains(message, "built without CUDA"));
  }
}

}  // namespace tl::testing
