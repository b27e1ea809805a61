// Gathered rows, averaged gradients and averaged values over a ProcessGroup, each built on all_gather.
#include "apps/trainer/data_parallel.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops.h"

namespace tl::train {
namespace {

// Every process's value of `value`, in rank order.
std::vector<double> gathered_host(double value, ProcessGroup& group) {
  std::vector<double> all(static_cast<size_t>(group.size()));
  group.all_gather_host(&value, 1, all.data());
  return all;
}

// The rank-order sum of the size() blocks of `gathered` ([size() * n]), divided by size().
Tensor mean_of_blocks(const Tensor& gathered, int64_t n, int processes) {
  Tensor sum = slice(gathered, 0, 0, n);
  for (int r = 1; r < processes; ++r) sum = sum + slice(gathered, 0, r * n, (r + 1) * n);
  return sum / static_cast<float>(processes);
}

}  // namespace

Tensor gather_rows(const Tensor& local, ProcessGroup& group) {
  TL_CHECK_AS(ShapeError, local.rank() >= 1, "gather_rows needs [rows, ...], got ", local.describe());
  const int processes = group.size();
  const int64_t rows = local.dim(0);
  int64_t width = 1;
  for (int axis = 1; axis < local.rank(); ++axis) width *= local.dim(axis);
  const std::vector<double> counts = gathered_host(static_cast<double>(rows), group);
  for (const double other : gathered_host(static_cast<double>(width), group))
    TL_CHECK_AS(ShapeError, static_cast<int64_t>(other) == width, "gather_rows: this process's rows have ", width,
                " values, another process's ", static_cast<int64_t>(other));
  int64_t most = 0, offset = 0;
  for (const double c : counts) most = std::max(most, static_cast<int64_t>(c));
  for (int r = 0; r < group.rank(); ++r) offset += static_cast<int64_t>(counts[r]);

  if (most == 0) return local;  // no process holds a row
  // Each process sends `most` rows (its own, then zeros) so that every block has one size.
  Shape padded_shape = local.shape();
  padded_shape[0] = most;
  Tensor padded = Tensor::zeros(padded_shape, local.device());
  copy_bytes(padded.raw_data(), local.device(), local.raw_data(), local.device(),
             static_cast<size_t>(local.numel()) * sizeof(float));
  Shape gathered_shape = local.shape();
  gathered_shape[0] = most * processes;
  Tensor gathered = Tensor::empty(gathered_shape, local.device());
  group.all_gather(padded.data<float>(), most * width, gathered.data<float>(), local.device());

  std::vector<Tensor> parts;
  for (int r = 0; r < processes; ++r) {
    const auto count = static_cast<int64_t>(counts[r]);
    if (count > 0) parts.push_back(slice(gathered, 0, r * most, r * most + count));
  }
  Tensor whole = parts.empty() ? local.detach() : parts.size() == 1 ? parts.front() : concat(parts, 0);
  const auto scale = static_cast<float>(processes);
  return record(whole.detach(), "gather_rows", {local}, [offset, rows, scale](const Tensor& grad_output) {
    return std::vector<Tensor>{slice(grad_output, 0, offset, offset + rows) * scale};
  });
}

void average_gradients(const std::vector<Tensor>& parameters, ProcessGroup& group) {
  if (parameters.empty()) return;
  NoGradGuard no_grad;
  const Device device = parameters.front().device();
  // The gradients end to end (zeros where a tensor has none), then one flag per tensor: 1 where it has one.
  std::vector<Tensor> flat;
  std::vector<float> has_gradient;
  int64_t n = 0;
  for (const Tensor& p : parameters) {
    flat.push_back(p.grad().defined() ? reshape(p.grad(), {p.numel()}) : Tensor::zeros({p.numel()}, device));
    has_gradient.push_back(p.grad().defined() ? 1.0f : 0.0f);
    n += p.numel();
  }
  flat.push_back(Tensor::from_vector(has_gradient, {static_cast<int64_t>(has_gradient.size())}, device));
  const auto gradients = n;
  n += static_cast<int64_t>(has_gradient.size());
  const Tensor local = concat(flat, 0);
  Tensor gathered = Tensor::empty({n * group.size()}, device);
  group.all_gather(local.data<float>(), n, gathered.data<float>(), device);
  const Tensor mean = mean_of_blocks(gathered, n, group.size());
  // A tensor no process has a gradient for keeps none: the optimiser skips it, as it would in one process.
  const std::vector<float> some_gradient = slice(mean, 0, gradients, n).to_vector<float>();
  int64_t first = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    Tensor parameter = parameters[i];
    parameter.zero_grad();
    if (some_gradient[i] > 0.0f)
      parameter.accumulate_grad(reshape(slice(mean, 0, first, first + parameter.numel()), parameter.shape()));
    first += parameter.numel();
  }
}

std::vector<double> average_values(const std::vector<double>& values, ProcessGroup& group) {
  const auto n = static_cast<int64_t>(values.size());
  std::vector<double> all(values.size() * static_cast<size_t>(group.size()));
  group.all_gather_host(values.data(), n, all.data());
  std::vector<double> mean(values.size(), 0.0);
  for (int r = 0; r < group.size(); ++r)
    for (int64_t i = 0; i < n; ++i) mean[i] += all[static_cast<size_t>(r * n + i)];
  for (double& m : mean) m /= group.size();
  return mean;
}

}  // namespace tl::train
