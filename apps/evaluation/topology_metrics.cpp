// Topology metrics between two families of point clouds (topology_metrics.h): one persistence call for every
// cloud, then per batch the three diagram distances (OpenMP over the batches), the Betti numbers at one scale and
// the Betti curves on a shared grid; mean and sample standard deviation over the batches.
#include "apps/evaluation/topology_metrics.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "core/autograd.h"
#include "core/base/error.h"
#include "topology/matching.h"
#include "topology/summaries.h"

namespace tl::eval {
namespace {

using topology::Diagram;
using topology::PersistenceResult;

void check_options(const TopologyComparisonOptions& options) {
  TL_CHECK_AS(ValueError, options.max_dim == 0 || options.max_dim == 1,
              "compare_topology: max_dim must be 0 or 1, got ", options.max_dim);
  TL_CHECK_AS(ValueError, std::isfinite(options.betti_scale) && options.betti_scale >= 0.0,
              "compare_topology: the Betti-number scale must be a finite value >= 0, got ", options.betti_scale);
  TL_CHECK_AS(ValueError, options.curve_points >= 2,
              "compare_topology: the Betti-curve grid needs at least 2 points, got ", options.curve_points);
}

// Refuses a cloud that is not [n >= 2, d >= 1] float32 points with finite coordinates, naming it.
void check_cloud(const Tensor& cloud, const char* family, size_t batch, Device device) {
  TL_CHECK_AS(ShapeError, cloud.defined() && cloud.rank() == 2 && cloud.dim(1) >= 1 && cloud.dtype() == DType::Float32,
              "compare_topology: cloud ", batch, " of ", family, " must be [n, d] float32 points, got ",
              cloud.defined() ? cloud.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ValueError, cloud.dim(0) >= 2, "compare_topology: cloud ", batch, " of ", family, " has ", cloud.dim(0),
              " point(s); a cloud needs at least 2");
  TL_CHECK_AS(DeviceError, cloud.device() == device, "compare_topology: cloud ", batch, " of ", family,
              " is on another device than the first cloud of A (every cloud must be on one device)");
  const std::vector<float> values = cloud.to_vector<float>();
  const int64_t dim = cloud.dim(1);
  for (size_t i = 0; i < values.size(); ++i)
    TL_CHECK_AS(ValueError, std::isfinite(values[i]), "compare_topology: cloud ", batch, " of ", family, ", point ",
                static_cast<int64_t>(i) / dim, ", coordinate ", static_cast<int64_t>(i) % dim, " is ", values[i],
                " (coordinates must be finite)");
}

// One cloud's diagrams with its diameter and the factor s its diagrams are divided by.
struct CloudTopology {
  PersistenceResult result;
  float diameter = 0.0f;
  float scale = 1.0f;
};

// The diagrams of a[0..nb) then b[0..nb), in one batched call on the matrices the diameters are read from.
std::vector<CloudTopology> cloud_topologies(const std::vector<Tensor>& a, const std::vector<Tensor>& b,
                                            const TopologyComparisonOptions& options) {
  NoGradGuard no_grad;
  std::vector<Tensor> matrices;
  std::vector<CloudTopology> clouds;
  for (const auto* family : {&a, &b})
    for (const Tensor& cloud : *family) {
      matrices.push_back(topology::pairwise_distances(cloud));
      const std::vector<float> d = matrices.back().to_vector<float>();
      CloudTopology entry;
      entry.diameter = *std::max_element(d.begin(), d.end());
      entry.scale = options.scale == DiagramScale::Diameter && entry.diameter > 0.0f ? entry.diameter : 1.0f;
      clouds.push_back(std::move(entry));
    }
  topology::PersistenceOptions persistence;
  persistence.max_dim = options.max_dim;
  std::vector<PersistenceResult> results = topology::persistence_batch_from_distances(matrices, persistence);
  for (size_t c = 0; c < clouds.size(); ++c) clouds[c].result = std::move(results[c]);
  return clouds;
}

// The finite pairs divided by s, as flat (birth, death) pairs for the matchings.
std::vector<float> scaled_pairs(const Diagram& diagram, float scale) {
  std::vector<float> flat;
  flat.reserve(2 * diagram.pairs.size());
  for (const auto& pair : diagram.pairs) {
    flat.push_back(pair.birth / scale);
    flat.push_back(pair.death / scale);
  }
  return flat;
}

// beta_k(t_j) of the scaled diagram: topology::betti_curve over the finite pairs, plus the essential bars born by t_j.
std::vector<double> scaled_betti_curve(const Diagram& diagram, float scale, const std::vector<float>& grid) {
  const std::vector<float> flat = scaled_pairs(diagram, scale);
  const Tensor bars = Tensor::from_vector(flat, {static_cast<int64_t>(diagram.pairs.size()), 2});
  const std::vector<float> finite = topology::betti_curve(bars, grid).to_vector<float>();
  std::vector<double> curve(finite.begin(), finite.end());
  for (const auto& bar : diagram.essential)
    for (size_t j = 0; j < grid.size(); ++j) curve[j] += bar.birth / scale <= grid[j];
  return curve;
}

// sqrt(sum_j w_j (x_j - y_j)^2), trapezoidal weights w_j = dt (dt / 2 at both ends).
double trapezoid_l2(const std::vector<double>& x, const std::vector<double>& y, double dt) {
  double sum = 0.0;
  for (size_t j = 0; j < x.size(); ++j) {
    const double weight = j == 0 || j + 1 == x.size() ? 0.5 * dt : dt;
    sum += weight * (x[j] - y[j]) * (x[j] - y[j]);
  }
  return std::sqrt(sum);
}

// The per-batch values of every metric of one degree, in batch order.
struct DegreeValues {
  std::vector<double> w1, w2, bottleneck, betti_a, betti_b, betti_curve_l2, topological_accuracy;
  explicit DegreeValues(size_t batches)
      : w1(batches),
        w2(batches),
        bottleneck(batches),
        betti_a(batches),
        betti_b(batches),
        betti_curve_l2(batches),
        topological_accuracy(batches) {}
};

Spread spread(const std::vector<double>& values) {
  Spread s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() < 2) return s;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  return s;
}

// W_1, W_2 and d_B of every (batch, degree), the batches spread over the OpenMP threads.
void diagram_distances(const std::vector<CloudTopology>& clouds, size_t batches, std::vector<DegreeValues>& values) {
  const int64_t count = static_cast<int64_t>(batches);
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic) if (count > 1)
  for (int64_t batch = 0; batch < count; ++batch) {
    try {
      const CloudTopology& a = clouds[batch];
      const CloudTopology& b = clouds[batches + batch];
      for (size_t k = 0; k < values.size(); ++k) {
        const std::vector<float> pa = scaled_pairs(a.result.diagrams[k], a.scale);
        const std::vector<float> pb = scaled_pairs(b.result.diagrams[k], b.scale);
        values[k].w1[batch] = topology::wasserstein_matching(pa, pb, 1.0).distance;
        values[k].w2[batch] = topology::wasserstein_matching(pa, pb, 2.0).distance;
        values[k].bottleneck[batch] = topology::bottleneck_matching(pa, pb).distance;
      }
    } catch (...) {
#pragma omp critical(tl_eval_topology_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

// The Betti-curve grid of one batch: [0, 1] under Diameter scaling, else [0, largest finite death of both clouds].
std::vector<float> curve_grid(const CloudTopology& a, const CloudTopology& b,
                              const TopologyComparisonOptions& options) {
  double top = 1.0;
  if (options.scale == DiagramScale::Raw) {
    top = 0.0;
    for (const CloudTopology* cloud : {&a, &b})
      for (const Diagram& diagram : cloud->result.diagrams)
        for (const auto& pair : diagram.pairs) top = std::max(top, static_cast<double>(pair.death));
  }
  std::vector<float> grid(static_cast<size_t>(options.curve_points));
  for (int j = 0; j < options.curve_points; ++j) grid[j] = static_cast<float>(top * j / (options.curve_points - 1));
  return grid;
}

}  // namespace

int betti_number(const Diagram& diagram, double scale) {
  int count = 0;
  for (const auto& pair : diagram.pairs) count += pair.birth <= scale && scale < pair.death;
  for (const auto& bar : diagram.essential) count += bar.birth <= scale;
  return count;
}

TopologyComparison compare_topology(const std::vector<Tensor>& a, const std::vector<Tensor>& b,
                                    const TopologyComparisonOptions& options) {
  check_options(options);
  TL_CHECK_AS(ValueError, a.size() == b.size(), "compare_topology: the families have different lengths (", a.size(),
              " clouds in A, ", b.size(), " in B); the clouds are compared pair by pair");
  TL_CHECK_AS(ValueError, !a.empty(), "compare_topology: no batches to compare");
  const Device device = a[0].defined() ? a[0].device() : Device::CPU;
  for (size_t i = 0; i < a.size(); ++i) check_cloud(a[i], "A", i, device);
  for (size_t i = 0; i < b.size(); ++i) check_cloud(b[i], "B", i, device);

  const size_t batches = a.size();
  const size_t degrees = static_cast<size_t>(options.max_dim) + 1;
  const std::vector<CloudTopology> clouds = cloud_topologies(a, b, options);
  std::vector<DegreeValues> values(degrees, DegreeValues(batches));
  diagram_distances(clouds, batches, values);

  std::vector<double> accuracy(batches, 0.0);
  for (size_t batch = 0; batch < batches; ++batch) {
    const CloudTopology& ca = clouds[batch];
    const CloudTopology& cb = clouds[batches + batch];
    const std::vector<float> grid = curve_grid(ca, cb, options);
    const double dt = (static_cast<double>(grid.back()) - grid.front()) / (grid.size() - 1);
    const double eps_a = options.betti_scale_relative ? options.betti_scale * ca.diameter : options.betti_scale;
    const double eps_b = options.betti_scale_relative ? options.betti_scale * cb.diameter : options.betti_scale;
    for (size_t k = 0; k < degrees; ++k) {
      const Diagram& da = ca.result.diagrams[k];
      const Diagram& db = cb.result.diagrams[k];
      values[k].betti_a[batch] = betti_number(da, eps_a);
      values[k].betti_b[batch] = betti_number(db, eps_b);
      const std::vector<double> curve_a = scaled_betti_curve(da, ca.scale, grid);
      const std::vector<double> curve_b = scaled_betti_curve(db, cb.scale, grid);
      values[k].betti_curve_l2[batch] = trapezoid_l2(curve_a, curve_b, dt);
      int agree = 0;
      for (size_t j = 0; j < grid.size(); ++j) agree += curve_a[j] == curve_b[j];
      values[k].topological_accuracy[batch] = static_cast<double>(agree) / static_cast<double>(grid.size());
      accuracy[batch] += values[k].topological_accuracy[batch] / static_cast<double>(degrees);
    }
  }

  TopologyComparison comparison;
  comparison.batches = static_cast<int>(batches);
  comparison.options = options;
  for (const DegreeValues& v : values)
    comparison.degrees.push_back({spread(v.w1), spread(v.w2), spread(v.bottleneck), spread(v.betti_a),
                                  spread(v.betti_b), spread(v.betti_curve_l2), spread(v.topological_accuracy)});
  comparison.topological_accuracy = spread(accuracy);
  return comparison;
}

nlohmann::json to_json(const TopologyComparison& comparison, const std::string& a_name, const std::string& b_name) {
  TL_CHECK_AS(ValueError, !a_name.empty() && !b_name.empty() && a_name != b_name,
              "topology to_json: the two families need distinct, non-empty names, got '", a_name, "' and '", b_name,
              "'");
  nlohmann::json out = {{"batches", comparison.batches},
                        {"scale", comparison.options.scale == DiagramScale::Raw ? "raw" : "diameter"},
                        {"betti_scale", comparison.options.betti_scale},
                        {"betti_scale_relative", comparison.options.betti_scale_relative},
                        {"curve_points", comparison.options.curve_points}};
  auto put = [&out](const std::string& key, const Spread& s) {
    out[key + "_mean"] = s.mean;
    out[key + "_std"] = s.std;
  };
  for (size_t k = 0; k < comparison.degrees.size(); ++k) {
    const DegreeComparison& d = comparison.degrees[k];
    const std::string h = "h" + std::to_string(k) + "_";
    put(h + "w1", d.w1);
    put(h + "w2", d.w2);
    put(h + "bottleneck", d.bottleneck);
    put(h + "betti_" + a_name, d.betti_a);
    put(h + "betti_" + b_name, d.betti_b);
    put(h + "betti_curve_l2", d.betti_curve_l2);
    put(h + "topological_accuracy", d.topological_accuracy);
  }
  put("topological_accuracy", comparison.topological_accuracy);
  return out;
}

}  // namespace tl::eval
