// Tensor: a shape, an element type and a device over a shared contiguous Storage, plus the autograd
// state (requires_grad, accumulated grad, the Node that produced it). Copies of a Tensor share everything;
// reshape and detach share the storage only. Differentiable ops on tensors are in core/ops.h.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/error.h"
#include "core/base/memory.h"
#include "core/base/random.h"
#include "core/base/types.h"

namespace tl {

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  // Factories. Data is float32 unless the name says otherwise.
  static Tensor empty(const Shape& shape, Device device = Device::CPU, DType dtype = DType::Float32);
  static Tensor zeros(const Shape& shape, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  template <class T>  // float, int32_t or int64_t; values.size() must equal the shape's element count
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::CPU);
  static Tensor uniform(const Shape& shape, Generator& generator, float low = 0.0f, float high = 1.0f,
                        Device device = Device::CPU);
  static Tensor normal(const Shape& shape, Generator& generator, float mean = 0.0f, float stddev = 1.0f,
                       Device device = Device::CPU);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int rank() const { return static_cast<int>(shape().size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  std::string describe() const;  // "float32 [128, 784] on cpu", for messages

  // Raw element pointers on the tensor's device; the type must match dtype().
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  void* raw_data() const;

  // Copies: to another device (a copy even on the same device), and back to the host as a vector.
  Tensor to(Device device) const;
  Tensor clone() const;
  template <class T>
  std::vector<T> to_vector() const;
  float item() const;  // the value of a one-element float tensor

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires);  // leaves only
  const Tensor& grad() const;                // undefined until a backward pass reaches this tensor
  void zero_grad();                          // drops the accumulated gradient
  void backward() const;                     // from a one-element tensor; accumulates into leaves' grad
  Tensor detach() const;                     // shares storage, no history
  const std::shared_ptr<Node>& grad_fn() const;

  // Used by ops: a tensor over the same storage with another shape (no autograd), and attaching history.
  Tensor view_as_shape(const Shape& shape) const;
  void set_grad_fn(std::shared_ptr<Node> node);
  void accumulate_grad(const Tensor& gradient);
  const TensorImpl* impl() const { return impl_.get(); }

 private:
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  const TensorImpl& checked_impl() const;
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

// Argument checks shared by ops; each throws a message naming the op and the offending tensors.
void check_defined(const Tensor& t, const char* op);
void check_float(const Tensor& t, const char* op);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);

}  // namespace tl
