// Diagram summaries as compositions of differentiable tensor ops.
#include "topology/summaries.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace tl::topology {
namespace {

void check_diagram(const Tensor& diagram, const char* op) {
  TL_CHECK_AS(ShapeError, diagram.defined() && diagram.rank() == 2 && diagram.dim(1) == 2, op,
              ": expected an [m, 2] diagram of (birth, death) rows, got ",
              diagram.defined() ? diagram.describe() : std::string("an undefined tensor"));
}

}  // namespace

Tensor bar_lengths(const Tensor& diagram) {
  check_diagram(diagram, "bar_lengths");
  return reshape(sub(slice(diagram, 1, 1, 2), slice(diagram, 1, 0, 1)), {diagram.dim(0)});
}

Tensor total_persistence(const Tensor& diagram, float q) {
  TL_CHECK_AS(ValueError, q >= 1.0f && std::isfinite(q), "total_persistence: q must be a finite value >= 1, got ", q);
  if (diagram.defined() && diagram.rank() == 2 && diagram.dim(0) == 0) return Tensor::zeros({}, diagram.device());
  return sum(pow(bar_lengths(diagram), q));
}

Tensor persistent_entropy(const Tensor& diagram, float delta) {
  TL_CHECK_AS(ValueError, delta >= 0.0f && std::isfinite(delta),
              "persistent_entropy: delta must be a finite value >= 0, got ", delta);
  const Tensor lengths = bar_lengths(diagram);
  const std::vector<float> values = lengths.to_vector<float>();
  std::vector<int64_t> selected;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] > delta && values[i] > 0.0f) selected.push_back(static_cast<int64_t>(i));
  if (selected.empty()) return Tensor::zeros({}, diagram.device());
  const Tensor bars = index_select(lengths, 0, Tensor::from_vector(selected, {static_cast<int64_t>(selected.size())},
                                                                   diagram.device()));
  const Tensor shares = div(bars, sum(bars));
  return -sum(mul(shares, log(shares)));
}

}  // namespace tl::topology
