// Tensor construction, device copies, host access and the tensor-side autograd entry points.
#include "core/tensor.h"

#include "core/autograd.h"
#include "core/base/philox.h"
#include "core/ops.h"
#include "kernels/backend.h"

namespace tl {

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(shape_bytes(shape, dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  kernels::backend_for(device).fill(t.data<float>(), t.numel(), value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, Device device) {
  return full(shape, 0.0f, device);
}
Tensor Tensor::ones(const Shape& shape, Device device) {
  return full(shape, 1.0f, device);
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  TL_CHECK_AS(ShapeError, static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
              " values cannot fill shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = empty(shape, device, dtype_of<T>());
  copy_bytes(t.raw_data(), device, values.data(), Device::CPU, values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&, Device);

Tensor Tensor::uniform(const Shape& shape, Generator& generator, float low, float high, Device device) {
  TL_CHECK_AS(ValueError, low <= high, "uniform: low (", low, ") must not exceed high (", high, ")");
  Tensor t = empty(shape, device);
  const uint64_t offset = generator.reserve(philox::uniform_blocks(static_cast<uint64_t>(t.numel())));
  kernels::backend_for(device).random_uniform(t.data<float>(), t.numel(), generator.seed(), offset, low, high);
  return t;
}

Tensor Tensor::normal(const Shape& shape, Generator& generator, float mean, float stddev, Device device) {
  TL_CHECK_AS(ValueError, stddev >= 0.0f, "normal: standard deviation must be >= 0, got ", stddev);
  Tensor t = empty(shape, device);
  const uint64_t offset = generator.reserve(philox::normal_blocks(static_cast<uint64_t>(t.numel())));
  kernels::backend_for(device).random_normal(t.data<float>(), t.numel(), generator.seed(), offset, mean, stddev);
  return t;
}

const TensorImpl& Tensor::checked_impl() const {
  TL_CHECK(impl_ != nullptr,
           "use of an undefined tensor (default-constructed, or a gradient that was never "
           "computed)");
  return *impl_;
}

const Shape& Tensor::shape() const {
  return checked_impl().shape;
}

int64_t Tensor::dim(int axis) const {
  return shape()[static_cast<size_t>(normalize_axis(axis, rank()))];
}

int64_t Tensor::numel() const {
  return shape_numel(shape());
}
DType Tensor::dtype() const {
  return checked_impl().dtype;
}
Device Tensor::device() const {
  return checked_impl().storage->device();
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return detail::concat(dtype_name(dtype()), " ", shape_str(shape()), " on ", device_name(device()));
}

void* Tensor::raw_data() const {
  return checked_impl().storage->data();
}

template <class T>
T* Tensor::data() {
  TL_CHECK_AS(ValueError, dtype() == dtype_of<T>(), "tensor holds ", dtype_name(dtype()), ", accessed as ",
              dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw_data());
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}
template float* Tensor::data<float>();
template int32_t* Tensor::data<int32_t>();
template int64_t* Tensor::data<int64_t>();
template const float* Tensor::data<float>() const;
template const int32_t* Tensor::data<int32_t>() const;
template const int64_t* Tensor::data<int64_t>() const;

Tensor Tensor::to(Device device) const {
  Tensor out = empty(shape(), device, dtype());
  const size_t bytes = static_cast<size_t>(numel()) * dtype_size(dtype());
  copy_bytes(out.raw_data(), device, raw_data(), this->device(), bytes);
  return out;
}

Tensor Tensor::clone() const {
  return to(device());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  TL_CHECK_AS(ValueError, dtype() == dtype_of<T>(), "to_vector: tensor holds ", dtype_name(dtype()), ", asked for ",
              dtype_name(dtype_of<T>()));
  std::vector<T> values(static_cast<size_t>(numel()));
  const size_t bytes = values.size() * sizeof(T);
  copy_bytes(values.data(), Device::CPU, raw_data(), device(), bytes);
  return values;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

float Tensor::item() const {
  TL_CHECK_AS(ShapeError, numel() == 1, "item() needs a one-element tensor, got ", describe());
  return to_vector<float>()[0];
}

bool Tensor::requires_grad() const {
  return checked_impl().requires_grad;
}

Tensor& Tensor::set_requires_grad(bool requires) {
  checked_impl();
  TL_CHECK_AS(ValueError, impl_->grad_fn == nullptr,
              "set_requires_grad applies to leaf tensors; this one was produced by ", impl_->grad_fn->op);
  TL_CHECK_AS(ValueError, !requires || dtype() == DType::Float32, "only float32 tensors can require grad, not ",
              describe());
  impl_->requires_grad = requires;
  return *this;
}

const Tensor& Tensor::grad() const {
  return checked_impl().grad;
}

void Tensor::zero_grad() {
  checked_impl(), impl_->grad = Tensor();
}

void Tensor::backward() const {
  run_backward(*this);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked_impl().storage;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return checked_impl().grad_fn;
}

Tensor Tensor::view_as_shape(const Shape& shape) const {
  TL_CHECK_AS(ShapeError, shape_numel(shape) == numel(), "cannot view ", describe(), " as shape ", shape_str(shape),
              " (", shape_numel(shape), " elements)");
  Tensor view = detach();
  view.impl_->shape = shape;
  return view;
}

void Tensor::set_grad_fn(std::shared_ptr<Node> node) {
  checked_impl();
  impl_->grad_fn = std::move(node);
  impl_->requires_grad = true;
}

void Tensor::accumulate_grad(const Tensor& gradient) {
  checked_impl();
  check_same_shape(*this, gradient, "gradient accumulation");
  // Out of place: the incoming gradient may alias another tensor's buffer, so never write into it.
  impl_->grad = impl_->grad.defined() ? add(impl_->grad, gradient) : gradient;
}

void check_defined(const Tensor& t, const char* op) {
  TL_CHECK(t.defined(), op, ": an input tensor is undefined");
}

void check_float(const Tensor& t, const char* op) {
  check_defined(t, op);
  TL_CHECK_AS(ValueError, t.dtype() == DType::Float32, op, " needs float32 tensors, got ", t.describe());
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  TL_CHECK_AS(DeviceError, a.device() == b.device(), op, ": tensors are on different devices: ", a.describe(), " and ",
              b.describe(), "; move one with .to(Device::", a.device() == Device::CPU ? "CPU" : "CUDA", ")");
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  TL_CHECK_AS(ShapeError, a.shape() == b.shape(), op, ": shape mismatch: ", shape_str(a.shape()), " vs ",
              shape_str(b.shape()));
}

}  // namespace tl
