// Module: the base of every layer and model. A module owns named parameters (tensors that require grad),
// named buffers (state that is saved but not trained, e.g. batch-norm running statistics) and named
// sub-modules; names compose with dots ("encoder.0.weight"), in registration order, so a checkpoint or a
// PyTorch state dict maps onto them one to one.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // registered tensors are referenced by address
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  std::vector<std::pair<std::string, Tensor*>> named_parameters();
  std::vector<std::pair<std::string, Tensor*>> named_buffers();
  std::vector<Tensor> parameters();
  int64_t parameter_count();

  // Training mode (batch statistics in batch norm) or evaluation mode (running statistics); recursive.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Moves every parameter and buffer to `device` (parameters stay leaves that require grad); recursive.
  void to(Device device);
  void zero_grad();

 protected:
  // Registers a member tensor by address (modules are not copyable, so the address stays valid).
  void register_parameter(const std::string& name, Tensor* parameter);
  void register_buffer(const std::string& name, Tensor* buffer);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool parameters, std::vector<std::pair<std::string, Tensor*>>& out);

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor*>> parameters_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace tl::nn
