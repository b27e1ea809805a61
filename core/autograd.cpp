// The autograd engine: grad mode, recording Nodes, and the reverse sweep that accumulates gradients.
#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/ops.h"

namespace tl {
namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() {
  return g_grad_enabled;
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = previous_;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor output, const char* op, std::vector<Tensor> inputs,
              std::function<std::vector<Tensor>(const Tensor&)> backward) {
  if (!needs_grad(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.set_grad_fn(std::move(node));
  return output;
}

void run_backward(const Tensor& root) {
  check_defined(root, "backward");
  TL_CHECK_AS(ShapeError, root.numel() == 1, "backward() starts from a one-element loss, got ", root.describe(),
              "; reduce it first (sum or mean)");
  TL_CHECK_AS(ValueError, root.requires_grad(),
              "backward(): the loss does not require grad (no input requires grad, or it was computed under "
              "NoGradGuard)");
  if (!root.grad_fn()) {  // the root is itself a leaf
    const_cast<Tensor&>(root).accumulate_grad(Tensor::ones(root.shape(), root.device()));
    return;
  }

  // Reverse topological order of the nodes reachable from the root (iterative DFS: graphs can be deep).
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root.grad_fn().get(), 0}};
  visited.insert(root.grad_fn().get());
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const Tensor& input = node->inputs[next_input++];
      Node* child = input.defined() ? input.grad_fn().get() : nullptr;
      if (child != nullptr && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  NoGradGuard no_grad;
  std::unordered_map<Node*, Tensor> pending;  // gradient of each node's output, summed over its consumers
  pending[root.grad_fn().get()] = Tensor::ones(root.shape(), root.device());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    const auto found = pending.find(node);
    if (found == pending.end()) continue;  // no gradient flows to this node
    const Tensor grad_output = found->second;
    pending.erase(found);
    const std::vector<Tensor> grads = node->backward(grad_output);
    TL_CHECK(grads.size() == node->inputs.size(), "internal: backward of ", node->op, " returned ", grads.size(),
             " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor input = node->inputs[i];
      if (!grads[i].defined() || !input.defined() || !input.requires_grad()) continue;
      TL_CHECK(grads[i].shape() == input.shape(), "internal: backward of ", node->op, " gave a gradient of shape ",
               shape_str(grads[i].shape()), " for input ", i, " of shape ", shape_str(input.shape()));
      if (Node* producer = input.grad_fn().get()) {
        Tensor& slot = pending[producer];
        slot = slot.defined() ? add(slot, grads[i]) : grads[i];
      } else {
        input.accumulate_grad(grads[i]);
      }
    }
  }
}

}  // namespace tl
