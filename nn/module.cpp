// Module bookkeeping: registration, recursive naming, mode switches and device moves.
#include "nn/module.h"

namespace tl::nn {

void Module::register_parameter(const std::string& name, Tensor* parameter) {
  TL_CHECK(parameter->defined(), "register_parameter(", name, "): the tensor is undefined");
  parameter->set_requires_grad(true);
  parameters_.emplace_back(name, parameter);
}

void Module::register_buffer(const std::string& name, Tensor* buffer) {
  TL_CHECK(buffer->defined(), "register_buffer(", name, "): the tensor is undefined");
  buffers_.emplace_back(name, buffer);
}

void Module::collect(const std::string& prefix, bool parameters, std::vector<std::pair<std::string, Tensor*>>& out) {
  for (auto& [name, tensor] : parameters ? parameters_ : buffers_) out.emplace_back(prefix + name, tensor);
  for (auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

std::vector<std::pair<std::string, Tensor*>> Module::named_parameters() {
  std::vector<std::pair<std::string, Tensor*>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor*>> Module::named_buffers() {
  std::vector<std::pair<std::string, Tensor*>> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(*tensor);
  return out;
}

int64_t Module::parameter_count() {
  int64_t count = 0;
  for (auto& [name, tensor] : named_parameters()) count += tensor->numel();
  return count;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  for (auto& [name, tensor] : parameters_) {
    if (tensor->device() == device) continue;
    *tensor = tensor->detach().to(device);
    tensor->set_requires_grad(true);
  }
  for (auto& [name, tensor] : buffers_) {
    if (tensor->device() != device) *tensor = tensor->to(device);
  }
  for (auto& [name, child] : children_) child->to(device);
}

void Module::zero_grad() {
  for (auto& [name, tensor] : named_parameters()) tensor->zero_grad();
}

}  // namespace tl::nn
