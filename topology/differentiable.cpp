// Differentiable persistence diagrams: the forward is the persistence engine; each diagram tensor records a
// backward that turns dL/d(birth, death) into gradients on the critical edges, then onto the input.
#include "topology/differentiable.h"

#include <cmath>

#include "core/autograd.h"
#include "core/base/error.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::topology {
namespace {

// The critical edges under a diagram's values with their gradients: H1 births (column 0) and all deaths
// (column 1); H0 births are constants.
struct EdgeGradient {
  Edge edge;
  float length;
  float grad;
};

std::vector<EdgeGradient> edge_gradients(const Diagram& diagram, const Tensor& grad_output) {
  const std::vector<float> grad = grad_output.to_vector<float>();
  std::vector<EdgeGradient> out;
  for (size_t p = 0; p < diagram.pairs.size(); ++p) {
    const PersistencePair& pair = diagram.pairs[p];
    if (diagram.dim > 0) out.push_back(EdgeGradient{pair.birth_edge, pair.birth, grad[2 * p]});
    out.push_back(EdgeGradient{pair.death_edge, pair.death, grad[2 * p + 1]});
  }
  return out;
}

Tensor diagram_tensor(const Diagram& diagram, Device device) {
  std::vector<float> values;
  values.reserve(2 * diagram.pairs.size());
  for (const PersistencePair& pair : diagram.pairs) {
    values.push_back(pair.birth);
    values.push_back(pair.death);
  }
  return Tensor::from_vector(values, {static_cast<int64_t>(diagram.pairs.size()), 2}, device);
}

// dL/dpoints from the edge gradients: per-point incidence lists in edge order, then the backend's scatter.
Tensor scatter_onto_points(const Tensor& points, const std::vector<EdgeGradient>& edges) {
  const int64_t n = points.dim(0), dim = points.dim(1);
  std::vector<int64_t> offsets(static_cast<size_t>(n) + 1, 0);
  for (const EdgeGradient& e : edges) {
    ++offsets[e.edge.u + 1];
    ++offsets[e.edge.v + 1];
  }
  for (int64_t p = 0; p < n; ++p) offsets[p + 1] += offsets[p];
  std::vector<kernels::IncidentEdge> incidence(static_cast<size_t>(offsets[n]));
  std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
  for (const EdgeGradient& e : edges) {
    const float weight = e.length > 0.0f ? e.grad / e.length : 0.0f;
    incidence[next[e.edge.u]++] = kernels::IncidentEdge{e.edge.v, weight};
    incidence[next[e.edge.v]++] = kernels::IncidentEdge{e.edge.u, weight};
  }
  Tensor grad = Tensor::empty({n, dim}, points.device());
  kernels::topology_backend_for(points.device())
      .scatter_edge_gradients(points.data<float>(), n, dim, offsets.data(), incidence.data(), grad.data<float>());
  return grad;
}

Tensor scatter_onto_matrix(const Tensor& distances, const std::vector<EdgeGradient>& edges) {
  const int64_t n = distances.dim(0);
  std::vector<float> grad(static_cast<size_t>(n * n), 0.0f);
  for (const EdgeGradient& e : edges) {
    grad[e.edge.u * n + e.edge.v] += 0.5f * e.grad;
    grad[e.edge.v * n + e.edge.u] += 0.5f * e.grad;
  }
  return Tensor::from_vector(grad, {n, n}, distances.device());
}

DifferentiableDiagrams attach(const Tensor& input, PersistenceResult result, bool input_is_points) {
  DifferentiableDiagrams out;
  const Tensor saved = input.detach();
  for (const Diagram& diagram : result.diagrams) {
    Tensor values = diagram_tensor(diagram, input.device());
    out.diagrams.push_back(record(values,
                                  input_is_points ? "persistence_diagram" : "persistence_diagram_from_distances",
                                  {input}, [saved, diagram, input_is_points](const Tensor& grad_output) {
                                    const std::vector<EdgeGradient> edges = edge_gradients(diagram, grad_output);
                                    return std::vector<Tensor>{input_is_points ? scatter_onto_points(saved, edges)
                                                                               : scatter_onto_matrix(saved, edges)};
                                  }));
  }
  out.result = std::move(result);
  return out;
}

}  // namespace

Tensor edge_lengths(const Tensor& points, const std::vector<Edge>& edges) {
  TL_CHECK_AS(ShapeError, points.defined() && points.rank() == 2 && points.dtype() == DType::Float32,
              "edge_lengths: points must be a float32 [n, d] tensor, got ",
              points.defined() ? points.describe() : std::string("an undefined tensor"));
  const int64_t n = points.dim(0), dim = points.dim(1);
  const std::vector<float> x = points.to_vector<float>();
  std::vector<float> lengths;
  for (const Edge& e : edges) {
    TL_CHECK_AS(ValueError, e.u >= 0 && e.u < n && e.v >= 0 && e.v < n, "edge_lengths: edge (", e.u, ", ", e.v,
                ") is outside the ", n, " points");
    lengths.push_back(std::sqrt(kernels::squared_distance(&x[e.u * dim], &x[e.v * dim], dim)));
  }
  const Tensor out = Tensor::from_vector(lengths, {static_cast<int64_t>(edges.size())}, points.device());
  const Tensor saved = points.detach();
  return record(out, "edge_lengths", {points}, [saved, edges, lengths](const Tensor& grad_output) {
    const std::vector<float> grad = grad_output.to_vector<float>();
    std::vector<EdgeGradient> edge_grads;
    for (size_t e = 0; e < edges.size(); ++e) edge_grads.push_back(EdgeGradient{edges[e], lengths[e], grad[e]});
    return std::vector<Tensor>{scatter_onto_points(saved, edge_grads)};
  });
}

DifferentiableDiagrams persistence_diagrams(const Tensor& points, const PersistenceOptions& options) {
  return attach(points, persistence(points, options), true);
}

DifferentiableDiagrams persistence_diagrams_from_distances(const Tensor& distances, const PersistenceOptions& options) {
  return attach(distances, persistence_from_distances(distances, options), false);
}

std::vector<DifferentiableDiagrams> persistence_diagrams_batch(const std::vector<Tensor>& clouds,
                                                               const PersistenceOptions& options) {
  std::vector<PersistenceResult> results = persistence_batch(clouds, options);
  std::vector<DifferentiableDiagrams> out;
  for (size_t c = 0; c < clouds.size(); ++c) out.push_back(attach(clouds[c], std::move(results[c]), true));
  return out;
}

}  // namespace tl::topology
