// Define-by-run autograd: every differentiable op on tensors that require grad records a Node holding its
// inputs and a backward closure. backward() walks the recorded graph once in reverse topological order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tl {

struct Node {
  std::string op;              // the op's name, for messages
  std::vector<Tensor> inputs;  // the op's tensor inputs, in argument order
  // Given dLoss/dOutput, returns dLoss/dInput for each input (undefined where no gradient is needed).
  // Closures must not capture the op's output tensor itself (that would be a cycle): they capture
  // output.detach() when they need its values.
  std::function<std::vector<Tensor>(const Tensor& grad_output)> backward;
};

// True unless a NoGradGuard is alive on this thread.
bool grad_enabled();

// Within its scope, ops record no history (evaluation, optimiser updates, the backward pass itself).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs should record a Node.
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a Node to `output` when needs_grad(inputs); returns output.
Tensor record(Tensor output, const char* op, std::vector<Tensor> inputs,
              std::function<std::vector<Tensor>(const Tensor&)> backward);

// Runs the backward pass from `root` (one element), seeding dRoot/dRoot = 1.
void run_backward(const Tensor& root);

}  // namespace tl
