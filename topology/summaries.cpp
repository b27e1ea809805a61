// Diagram summaries as compositions of differentiable tensor ops.
#include "topology/summaries.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/base/error.h"
#include "core/ops.h"

namespace tl::topology {
namespace {

constexpr float kPi = 3.14159265358979f;

void check_diagram(const Tensor& diagram, const char* op) {
  TL_CHECK_AS(ShapeError, diagram.defined() && diagram.rank() == 2 && diagram.dim(1) == 2, op,
              ": expected an [m, 2] diagram of (birth, death) rows, got ",
              diagram.defined() ? diagram.describe() : std::string("an undefined tensor"));
}

void check_grid(const std::vector<float>& grid, const char* op) {
  TL_CHECK_AS(ValueError, !grid.empty(), op, ": the grid is empty");
  for (float t : grid) TL_CHECK_AS(ValueError, std::isfinite(t), op, ": grid value ", t, " is not finite");
}

Tensor grid_row(const std::vector<float>& grid, Device device) {
  return Tensor::from_vector(grid, {1, static_cast<int64_t>(grid.size())}, device);
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
  const Tensor bars = index_select(
      lengths, 0, Tensor::from_vector(selected, {static_cast<int64_t>(selected.size())}, diagram.device()));
  const Tensor shares = div(bars, sum(bars));
  return -sum(mul(shares, log(shares)));
}

Tensor persistence_landscape(const Tensor& diagram, const std::vector<float>& grid, int levels) {
  check_diagram(diagram, "persistence_landscape");
  check_grid(grid, "persistence_landscape");
  TL_CHECK_AS(ValueError, levels >= 1, "persistence_landscape: levels must be >= 1, got ", levels);
  const std::vector<float> bars = diagram.to_vector<float>();
  const size_t count = bars.size() / 2, width = grid.size();
  // source[k * width + j]: 2 i for bar i's rising side (t - b), 2 i + 1 for its falling side (d - t), -1 for 0.
  std::vector<float> values(static_cast<size_t>(levels) * width, 0.0f);
  std::vector<int64_t> source(values.size(), -1);
  std::vector<std::pair<float, int64_t>> tents(count);
  for (size_t j = 0; j < width; ++j) {
    const float t = grid[j];
    for (size_t i = 0; i < count; ++i) {
      const float rise = t - bars[2 * i], fall = bars[2 * i + 1] - t;
      tents[i] = rise <= fall ? std::pair{rise, int64_t(2 * i)} : std::pair{fall, int64_t(2 * i + 1)};
    }
    const size_t top = std::min(count, static_cast<size_t>(levels));
    std::partial_sort(tents.begin(), tents.begin() + top, tents.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (size_t k = 0; k < top && tents[k].first > 0.0f; ++k) {
      values[k * width + j] = tents[k].first;
      source[k * width + j] = tents[k].second;
    }
  }
  const Tensor out = Tensor::from_vector(values, {levels, static_cast<int64_t>(width)}, diagram.device());
  const Shape shape = diagram.shape();
  const Device device = diagram.device();
  return record(out, "persistence_landscape", {diagram}, [source, shape, device](const Tensor& grad_output) {
    const std::vector<float> g = grad_output.to_vector<float>();
    std::vector<float> grad(static_cast<size_t>(shape[0] * 2), 0.0f);
    for (size_t e = 0; e < source.size(); ++e)
      if (source[e] >= 0) grad[source[e]] += source[e] % 2 == 0 ? -g[e] : g[e];
    return std::vector<Tensor>{Tensor::from_vector(grad, shape, device)};
  });
}

Tensor betti_curve(const Tensor& diagram, const std::vector<float>& grid) {
  check_diagram(diagram, "betti_curve");
  check_grid(grid, "betti_curve");
  const std::vector<float> bars = diagram.to_vector<float>();
  std::vector<float> counts(grid.size(), 0.0f);
  for (size_t j = 0; j < grid.size(); ++j)
    for (size_t i = 0; i < bars.size() / 2; ++i) counts[j] += bars[2 * i] <= grid[j] && grid[j] < bars[2 * i + 1];
  return Tensor::from_vector(counts, {static_cast<int64_t>(grid.size())}, diagram.device());
}

Tensor smoothed_betti_curve(const Tensor& diagram, const std::vector<float>& grid, float tau) {
  check_diagram(diagram, "smoothed_betti_curve");
  check_grid(grid, "smoothed_betti_curve");
  TL_CHECK_AS(ValueError, tau > 0.0f && std::isfinite(tau), "smoothed_betti_curve: tau must be > 0, got ", tau);
  if (diagram.dim(0) == 0) return Tensor::zeros({static_cast<int64_t>(grid.size())}, diagram.device());
  const Tensor t = grid_row(grid, diagram.device());
  const Tensor born = sigmoid(mul(sub(t, slice(diagram, 1, 0, 1)), 1.0f / tau));
  const Tensor alive = sigmoid(mul(sub(slice(diagram, 1, 1, 2), t), 1.0f / tau));
  return sum(mul(born, alive), 0);
}

Tensor reininghaus_kernel(const Tensor& f, const Tensor& g, float sigma) {
  check_diagram(f, "reininghaus_kernel");
  check_diagram(g, "reininghaus_kernel");
  TL_CHECK_AS(ValueError, sigma > 0.0f && std::isfinite(sigma), "reininghaus_kernel: sigma must be > 0, got ", sigma);
  if (f.dim(0) == 0 || g.dim(0) == 0) return Tensor::zeros({}, f.device());
  const Tensor fb = slice(f, 1, 0, 1), fd = slice(f, 1, 1, 2);                        // [m, 1]
  const Tensor gb = transpose(slice(g, 1, 0, 1)), gd = transpose(slice(g, 1, 1, 2));  // [1, k]
  auto squared = [](const Tensor& a, const Tensor& b) {
    const Tensor d = sub(a, b);
    return mul(d, d);
  };
  const float inverse = -1.0f / (8.0f * sigma);
  const Tensor direct = exp(mul(add(squared(fb, gb), squared(fd, gd)), inverse));
  const Tensor mirrored = exp(mul(add(squared(fb, gd), squared(fd, gb)), inverse));
  return mul(sum(sub(direct, mirrored)), 1.0f / (8.0f * kPi * sigma));
}

Tensor reininghaus_distance_squared(const Tensor& f, const Tensor& g, float sigma) {
  return sub(add(reininghaus_kernel(f, f, sigma), reininghaus_kernel(g, g, sigma)),
             mul(reininghaus_kernel(f, g, sigma), 2.0f));
}

Tensor sgde4(const Tensor& diagram, const std::vector<float>& x, float sigma, float scale) {
  check_diagram(diagram, "sgde4");
  check_grid(x, "sgde4");
  TL_CHECK_AS(ValueError, sigma > 0.0f, "sgde4: sigma must be > 0, got ", sigma);
  if (diagram.dim(0) == 0) return Tensor::zeros({static_cast<int64_t>(x.size())}, diagram.device());
  const Tensor deaths = slice(diagram, 1, 1, 2);                                        // [m, 1]
  const Tensor lengths = sub(deaths, slice(diagram, 1, 0, 1));                          // [m, 1]
  const Tensor offset = mul(sub(deaths, grid_row(x, diagram.device())), 1.0f / sigma);  // [m, |x|]
  return mul(sum(mul(pow(lengths, 4.0f), exp(-mul(offset, offset))), 0), scale);
}

}  // namespace tl::topology
