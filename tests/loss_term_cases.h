// One table of loss-term cases (each regularizer behind a trainer loss term, across its variants), in the manner
// of op_cases.h: the gradient check iterates over it, one named subcase per case. Every case is differentiated
// with respect to its last input.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tl::testing {

// The clouds the cases take their inputs from: fixed draws, the same on every run.
struct LossTermClouds {
  Tensor batch;   // 16 points in 5-D
  Tensor latent;  // 16 codes in 2-D, farther apart than the batch's points (so bottleneck pairs involve them)
  Tensor ring;    // 24 points in 2-D with several H1 bars of their own
  Tensor small;   // the codes at a tenth of their scale: a fixed reference at a smaller scale than the ring
  Tensor scale;   // a learnable latent scale of 1.3
};

const LossTermClouds& loss_term_clouds();

struct LossTermCase {
  std::string name;                              // the trainer's term name, then the variant
  std::vector<Tensor LossTermClouds::*> inputs;  // all are leaves; the last one is differentiated
  std::function<Tensor(const std::vector<Tensor>&)> loss;
  float eps = 1e-3f;  // the finite-difference step
};

const std::vector<LossTermCase>& loss_term_cases();

// The case's inputs, taken from loss_term_clouds().
std::vector<Tensor> make_inputs(const LossTermCase& c);

}  // namespace tl::testing
