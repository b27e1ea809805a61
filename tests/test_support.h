// Helpers for the test suite: deterministic random inputs, closeness checks with readable failures, and the
// central finite-difference gradient of a scalar function of tensors.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/persistence_impl.h"
#include "nn/data/dataset.h"

namespace tl::testing {

// A tool built beside this test binary (BUILD/apps/NAME); empty, with a test MESSAGE, where it was not built.
std::string tool(const std::string& name);

struct ToolRun {
  int status;          // the exit status; -1 when the command did not exit normally
  std::string output;  // standard output and error
};

// Runs a shell command in `directory`, capturing its output.
ToolRun run_in(const std::string& directory, const std::string& command);

// Largest |a - b| / (atol + rtol |b|) over the elements: <= 1 means close.
double closeness_ratio(const std::vector<float>& actual, const std::vector<float>& expected, double rtol, double atol);

// CHECKs that two float tensors have the same shape and are close elementwise; `what` names the comparison.
void check_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what);
void check_close(const std::vector<float>& actual, const std::vector<float>& expected, double rtol, double atol,
                 const std::string& what);

// CHECKs that the row-major n x n matrix has an exact zero diagonal and is exactly symmetric.
void check_exact_distance_matrix(const std::vector<float>& dist, int64_t n);

// A symmetric n x n matrix of integers 1..levels with a zero diagonal (not a metric; the engine needs none): with
// few levels nearly every length occurs many times, so every choice the persistence engine makes is a tie.
std::vector<float> tie_heavy_distances(int64_t n, int levels, Generator& generator);

// The H1 reduction columns of one [n, n] distance matrix, from the backend of its device: its spanning forest,
// then TopologyBackend::h1_columns at `threshold`; copied to the host.
std::vector<kernels::H1Column> backend_h1_columns(const Tensor& distances, float threshold);

// The minimum spanning forest of one [n, n] distance matrix at `threshold`, from the backend of its device
// (TopologyBackend::minimum_spanning_forest), copied to the host in the order Prim added its edges.
std::vector<kernels::WeightedEdge> backend_spanning_forest(const Tensor& distances, float threshold);

// The Euclidean distances of [n, d] points (on the CPU) summed in double and rounded to float once: the reference
// that the float32 distance paths are held to.
std::vector<float> reference_distances(const Tensor& points);

// dF/dx[i] for every element of inputs[which], by central differences of step eps (inputs on the CPU).
std::vector<float> numeric_gradient(const std::function<double(const std::vector<Tensor>&)>& f,
                                    std::vector<Tensor> inputs, size_t which, float eps);
// The same by the fourth-order stencil (8 (F(x+h) - F(x-h)) - (F(x+2h) - F(x-2h))) / 12h: truncation error
// O(h^4), so a step large enough to drown float rounding still gives an accurate reference. The inputs must stay
// 2 eps away from kinks.
std::vector<double> numeric_gradient_fourth_order(const std::function<double(const std::vector<Tensor>&)>& f,
                                                  std::vector<Tensor> inputs, size_t which, float eps);

// CHECKs the autograd gradient of loss(inputs) with respect to inputs[which] against central differences of
// step eps (float losses: a loss of size L carries rounding noise of about L * 1e-7 / eps); also that the
// gradient reaches the input and is not identically zero.
void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& loss, const std::vector<Tensor>& inputs,
                    size_t which, const std::string& what, float eps = 1e-3f, double rtol = 2e-2, double atol = 2e-3);

// MNIST's 10,000-image test split from TL_MNIST_DIR (CMake's TOPOLATENT_MNIST_DIR: ../shared/data/mnist beside
// the checkout by default); nothing (and a test MESSAGE saying so) where that directory is absent.
std::optional<data::Dataset> shared_mnist_test_split();

// An empty directory `name` under the build tree's tests/scratch (emptied first when it exists). Each test case uses
// names of its own, and another build's suite running at the same time has its own folder.
std::string scratch_directory(const std::string& name);

// A tensor of `shape` uniform in [low, high) on the CPU, fixed by `seed`.
Tensor random_tensor(const Shape& shape, uint64_t seed, float low = -1.0f, float high = 1.0f);

// The message of the tl::Error that `body` throws (fails the test when it throws nothing or something else).
std::string error_message(const std::function<void()>& body);

}  // namespace tl::testing
