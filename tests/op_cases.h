// One table of op cases (ops x shapes x variants), in the manner of ggml's test-backend-ops: the gradient
// check and the CPU-vs-CUDA parity test both iterate over it, so every op registered here gets both.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/ops.h"

namespace tl::testing {

struct InputSpec {
  Shape shape;
  float low = -1.0f, high = 1.0f;  // inputs are drawn uniformly from [low, high]
  std::vector<float> kinks;        // non-differentiable points: drawn values are moved kKinkMargin away
  bool differentiable = true;      // false for index tensors and constant targets
  std::vector<int64_t> index;      // for an index input: its int64 values (the shape is {index.size()})
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> run;
};

constexpr float kKinkMargin = 0.05f;

// A differentiable input of `shape` drawn uniformly from [low, high].
InputSpec in_range(Shape shape, float low, float high);

const std::vector<OpCase>& op_cases();

// The case's inputs on `device`, the same values on every device for a given seed.
std::vector<Tensor> make_inputs(const OpCase& c, Device device, uint64_t seed);

// The parity suites' check: runs the case forward and backward (the output weighted by fixed random values) on the
// CPU and on CUDA and compares the output and every input gradient within rtol / atol.
void check_op_parity(const OpCase& c, double rtol, double atol);

}  // namespace tl::testing
