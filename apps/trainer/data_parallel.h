// The collectives of data-parallel training, on a ProcessGroup's all_gather: the rows of a batch gathered from every
// process (differentiable, for topology terms computed on the whole batch), gradients averaged over the processes,
// and logged values averaged. Sums run in rank order, so every process holds the same bits, and a run with the same
// process count repeats bit for bit.
#pragma once

#include <vector>

#include "apps/trainer/process_group.h"
#include "core/tensor.h"

namespace tl::train {

// The rows of `local` ([rows, ...]) from every process, in rank order, on local's device; the processes may hold
// different numbers of rows of the same width. Differentiable: every process computes the same loss of the gathered
// rows and the trainer averages gradients over the processes, so the backward pass gives `local` the gradient of its
// own rows times the number of processes, and the average is the whole batch's gradient.
Tensor gather_rows(const Tensor& local, ProcessGroup& group);

// Replaces the gradient of each tensor by its mean over the processes (a process without one counts zeros; a tensor
// no process has a gradient for keeps none).
void average_gradients(const std::vector<Tensor>& parameters, ProcessGroup& group);

// The mean over the processes of each value.
std::vector<double> average_values(const std::vector<double>& values, ProcessGroup& group);

}  // namespace tl::train
