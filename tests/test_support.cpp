// Implementation of the shared test helpers.
#include "tests/test_support.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/base/memory.h"
#include "kernels/topology_backend.h"

namespace tl::testing {

std::string tool(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path path = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps" / name;
  if (fs::exists(path)) return path.string();
  MESSAGE("skipped: ", path.string(), " is not built");
  return "";
}

ToolRun run_in(const std::string& directory, const std::string& command) {
  const std::string captured = directory + "/tool_output.txt";
  const int status = std::system(("cd '" + directory + "' && " + command + " > '" + captured + "' 2>&1").c_str());
  std::ifstream in(captured);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::string(std::istreambuf_iterator<char>(in), {})};
}

double closeness_ratio(const std::vector<float>& actual, const std::vector<float>& expected, double rtol, double atol) {
  double worst = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(actual[i]) - expected[i]);
    const double ratio = diff / (atol + rtol * std::fabs(static_cast<double>(expected[i])));
    if (!(ratio <= worst)) worst = std::isnan(ratio) ? INFINITY : ratio;
  }
  return worst;
}

std::vector<float> tie_heavy_distances(int64_t n, int levels, Generator& generator) {
  const std::vector<float> draws = Tensor::uniform({n * n}, generator).to_vector<float>();
  std::vector<float> dist(static_cast<size_t>(n * n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j)
      dist[i * n + j] = dist[j * n + i] = 1.0f + std::floor(static_cast<float>(levels) * draws[i * n + j]);
  return dist;
}

std::vector<kernels::H1Column> backend_h1_columns(const Tensor& distances, float threshold) {
  const Device device = distances.device();
  const int64_t n = distances.dim(0);
  const int64_t point_offsets[2] = {0, n}, matrix_offsets[2] = {0, n * n}, edge_offsets[2] = {0, n * (n - 1) / 2};
  const kernels::CloudBatch batch{1, 0, point_offsets, matrix_offsets, edge_offsets};
  const kernels::TopologyBackend& backend = kernels::topology_backend_for(device);
  Storage forest(static_cast<size_t>(n) * sizeof(kernels::WeightedEdge), device);
  Storage forest_count(sizeof(int32_t), device);
  backend.minimum_spanning_forest(distances.data<float>(), batch, INFINITY,
                                  static_cast<kernels::WeightedEdge*>(forest.data()),
                                  static_cast<int32_t*>(forest_count.data()));
  Storage columns(static_cast<size_t>(edge_offsets[1]) * sizeof(kernels::H1Column), device);
  int64_t count = 0;
  backend.h1_columns(distances.data<float>(), batch, &threshold, static_cast<kernels::WeightedEdge*>(forest.data()),
                     static_cast<int32_t*>(forest_count.data()), kernels::Deadline{},
                     static_cast<kernels::H1Column*>(columns.data()), &count);
  std::vector<kernels::H1Column> host(static_cast<size_t>(count));
  copy_bytes(host.data(), Device::CPU, columns.data(), device, host.size() * sizeof(kernels::H1Column));
  return host;
}

std::vector<kernels::WeightedEdge> backend_spanning_forest(const Tensor& distances, float threshold) {
  const Device device = distances.device();
  const int64_t n = distances.dim(0);
  const int64_t point_offsets[2] = {0, n}, matrix_offsets[2] = {0, n * n}, edge_offsets[2] = {0, n * (n - 1) / 2};
  const kernels::CloudBatch batch{1, 0, point_offsets, matrix_offsets, edge_offsets};
  Storage forest(static_cast<size_t>(n) * sizeof(kernels::WeightedEdge), device);
  Storage forest_count(sizeof(int32_t), device);
  kernels::topology_backend_for(device).minimum_spanning_forest(distances.data<float>(), batch, threshold,
                                                                static_cast<kernels::WeightedEdge*>(forest.data()),
                                                                static_cast<int32_t*>(forest_count.data()));
  int32_t count = 0;
  copy_bytes(&count, Device::CPU, forest_count.data(), device, sizeof(count));
  std::vector<kernels::WeightedEdge> host(static_cast<size_t>(count));
  copy_bytes(host.data(), Device::CPU, forest.data(), device, host.size() * sizeof(kernels::WeightedEdge));
  return host;
}

std::vector<float> reference_distances(const Tensor& points) {
  const int64_t n = points.dim(0), dim = points.dim(1);
  const std::vector<float> x = points.to_vector<float>();
  std::vector<float> dist(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < dim; ++k) sum += std::pow(double(x[i * dim + k]) - x[j * dim + k], 2);
      dist[i * n + j] = static_cast<float>(std::sqrt(sum));
    }
  return dist;
}

void check_exact_distance_matrix(const std::vector<float>& dist, int64_t n) {
  REQUIRE(dist.size() == static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    CHECK(dist[i * n + i] == 0.0f);
    for (int64_t j = 0; j < i; ++j) CHECK(dist[i * n + j] == dist[j * n + i]);
  }
}

void check_close(const std::vector<float>& actual, const std::vector<float>& expected, double rtol, double atol,
                 const std::string& what) {
  REQUIRE_MESSAGE(actual.size() == expected.size(), what, ": sizes differ");
  const double ratio = closeness_ratio(actual, expected, rtol, atol);
  if (ratio > 1.0) {
    size_t worst_index = 0;
    double worst = -1.0;
    for (size_t i = 0; i < actual.size(); ++i) {
      const double r = std::fabs(static_cast<double>(actual[i]) - expected[i]) /
                       (atol + rtol * std::fabs(static_cast<double>(expected[i])));
      if (std::isnan(r) || r > worst) {
        worst = std::isnan(r) ? INFINITY : r;
        worst_index = i;
      }
    }
    FAIL_CHECK(what, ": element ", worst_index, " is ", actual[worst_index], ", expected ", expected[worst_index],
               " (error ", ratio, "x the tolerance rtol=", rtol, " atol=", atol, ")");
  } else {
    CHECK(ratio <= 1.0);
  }
}

void check_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what) {
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": shapes differ: ", shape_str(actual.shape()), " vs ",
                  shape_str(expected.shape()));
  check_close(actual.to_vector<float>(), expected.to_vector<float>(), rtol, atol, what);
}

namespace {

// F(x with element i of inputs[which] moved by delta), the input restored afterwards.
double value_at_offset(const std::function<double(const std::vector<Tensor>&)>& f, std::vector<Tensor>& inputs,
                       size_t which, std::vector<float>& values, size_t i, float delta) {
  const float original = values[i];
  values[i] = original + delta;
  inputs[which] = Tensor::from_vector(values, inputs[which].shape());
  const double value = f(inputs);
  values[i] = original;
  return value;
}

}  // namespace

std::vector<float> numeric_gradient(const std::function<double(const std::vector<Tensor>&)>& f,
                                    std::vector<Tensor> inputs, size_t which, float eps) {
  NoGradGuard no_grad;
  std::vector<float> values = inputs[which].to_vector<float>();
  std::vector<float> gradient(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double plus = value_at_offset(f, inputs, which, values, i, eps);
    const double minus = value_at_offset(f, inputs, which, values, i, -eps);
    gradient[i] = static_cast<float>((plus - minus) / (2.0 * eps));
  }
  return gradient;
}

std::vector<double> numeric_gradient_fourth_order(const std::function<double(const std::vector<Tensor>&)>& f,
                                                  std::vector<Tensor> inputs, size_t which, float eps) {
  NoGradGuard no_grad;
  std::vector<float> values = inputs[which].to_vector<float>();
  std::vector<double> gradient(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double near =
        value_at_offset(f, inputs, which, values, i, eps) - value_at_offset(f, inputs, which, values, i, -eps);
    const double far = value_at_offset(f, inputs, which, values, i, 2.0f * eps) -
                       value_at_offset(f, inputs, which, values, i, -2.0f * eps);
    gradient[i] = (8.0 * near - far) / (12.0 * eps);
  }
  return gradient;
}

void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& loss, const std::vector<Tensor>& inputs,
                    size_t which, const std::string& what, float eps, double rtol, double atol) {
  std::vector<Tensor> leaves;
  for (const Tensor& t : inputs) leaves.push_back(t.clone().set_requires_grad(true));
  const Tensor value = loss(leaves);
  REQUIRE_MESSAGE(value.requires_grad(), what, ": the loss does not depend on the input");
  value.backward();
  REQUIRE_MESSAGE(leaves[which].grad().defined(), what, ": no gradient reached the input");
  const std::vector<float> numeric =
      numeric_gradient([&](const std::vector<Tensor>& v) { return loss(v).item(); }, inputs, which, eps);
  const std::vector<float> analytic = leaves[which].grad().to_vector<float>();
  double largest = 0.0;
  for (float g : analytic) largest = std::max(largest, std::fabs(double(g)));
  CHECK_MESSAGE(largest > 0.0, what, ": the gradient is identically zero");
  check_close(analytic, numeric, rtol, atol, what);
}

std::optional<data::Dataset> shared_mnist_test_split() {
  const std::string directory = TL_MNIST_DIR;
  if (!std::filesystem::exists(directory)) {
    MESSAGE("skipped: no MNIST test split at " << directory);
    return std::nullopt;
  }
  return data::load_idx_dataset(directory, data::Split::Test);
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float low, float high) {
  Generator generator(seed);
  return Tensor::uniform(shape, generator, low, high);
}

std::string scratch_directory(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(TL_TEST_SCRATCH_DIR) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string error_message(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL_CHECK("expected a tl::Error, but nothing was thrown");
  return "";
}

}  // namespace tl::testing
