// The topological loss terms of docs/methods.md §3, composed from the persistence op, the diagram distances and tensor
// ops.
#include "topology/regularizers.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/base/random.h"
#include "core/ops.h"
#include "topology/differentiable.h"
#include "topology/summaries.h"

namespace tl::topology {
namespace {

void check_cloud(const Tensor& t, const char* op, const char* what) {
  TL_CHECK_AS(ShapeError, t.defined() && t.rank() == 2 && t.dtype() == DType::Float32, op, ": ", what,
              " must be a float32 [batch, features] tensor, got ",
              t.defined() ? t.describe() : std::string("an undefined tensor"));
}

// Checks a loss's homology degrees (0 or 1, one weight each) and returns the persistence options covering them.
PersistenceOptions options_for_degrees(const std::vector<int>& dims, const std::vector<float>& weights,
                                       const char* op) {
  TL_CHECK_AS(ValueError, !dims.empty() && dims.size() == weights.size(), op,
              ": dims and weights must be non-empty and of equal length, got ", dims.size(), " and ", weights.size());
  PersistenceOptions options;
  options.max_dim = 0;
  for (int k : dims) {
    TL_CHECK_AS(ValueError, k == 0 || k == 1, op, ": homology degree ", k, " is not supported (0 or 1)");
    options.max_dim = std::max(options.max_dim, k);
  }
  return options;
}

// The diagrams of two clouds (their dimensions may differ) from one persistence call: on the CPU the two clouds
// are reduced on two threads.
struct DiagramPair {
  DifferentiableDiagrams first, second;
};
DiagramPair diagrams_of_both(const Tensor& first, const Tensor& second, const PersistenceOptions& options = {}) {
  std::vector<DifferentiableDiagrams> both = persistence_diagrams_batch({first, second}, options);
  return {std::move(both[0]), std::move(both[1])};
}

Tensor index_tensor(const std::vector<int64_t>& indices, Device device) {
  return Tensor::from_vector(indices, {static_cast<int64_t>(indices.size())}, device);
}

}  // namespace

Tensor diagram_distance(const Tensor& a, const Tensor& b, DiagramDistance distance, GroundMetric metric) {
  switch (distance) {
    case DiagramDistance::Wasserstein1:
      return wasserstein_distance(a, b, 1.0, metric);
    case DiagramDistance::Wasserstein2:
      return wasserstein_distance(a, b, 2.0, metric);
    default:
      return bottleneck_distance(a, b, metric);
  }
}

std::vector<int64_t> maxmin_landmarks(const Tensor& points, int64_t count) {
  check_cloud(points, "maxmin_landmarks", "points");
  const int64_t n = points.dim(0);
  TL_CHECK_AS(ValueError, count >= 1 && count <= n, "maxmin_landmarks: asked for ", count, " landmarks of ", n,
              " points (1..", n, ")");
  const std::vector<float> dist = pairwise_distances(points).to_vector<float>();
  std::vector<float> nearest(dist.begin(), dist.begin() + n);  // distance to the nearest landmark so far
  std::vector<int64_t> chosen{0};
  while (static_cast<int64_t>(chosen.size()) < count) {
    const int64_t next = std::max_element(nearest.begin(), nearest.end()) - nearest.begin();  // lowest on ties
    chosen.push_back(next);
    for (int64_t j = 0; j < n; ++j) nearest[j] = std::min(nearest[j], dist[next * n + j]);
  }
  return chosen;
}

Tensor talsr_scale(const Tensor& points, TalsrNormalisation normalisation) {
  check_cloud(points, "talsr_scale", "points");
  const int64_t n = points.dim(0);
  const Tensor one = Tensor::ones({1}, points.device());
  if (normalisation == TalsrNormalisation::None || n < 2) return one;
  const std::vector<float> dist = pairwise_distances(points).to_vector<float>();
  if (normalisation == TalsrNormalisation::MeanEdge) {
    std::vector<Edge> edges;
    edges.reserve(static_cast<size_t>(n * (n - 1) / 2));
    double total = 0.0;
    for (int64_t u = 1; u < n; ++u) {
      for (int64_t v = 0; v < u; ++v) {
        edges.push_back(Edge{static_cast<int32_t>(u), static_cast<int32_t>(v)});
        total += dist[u * n + v];
      }
    }
    if (!(total > 0.0)) return one;  // one repeated point
    return reshape(mul(sum(edge_lengths(points, edges)), 1.0f / static_cast<float>(edges.size())), {1});
  }
  // Diameter (and Learnable's reference side): the pair that attains the maximum, the first in (u, v) order on ties.
  Edge widest{1, 0};
  float largest = 0.0f;
  for (int64_t u = 1; u < n; ++u) {
    for (int64_t v = 0; v < u; ++v) {
      if (dist[u * n + v] > largest) {
        largest = dist[u * n + v];
        widest = Edge{static_cast<int32_t>(u), static_cast<int32_t>(v)};
      }
    }
  }
  if (!(largest > 0.0f)) return one;
  return edge_lengths(points, {widest});
}

Tensor talsr_loss(const Tensor& batch, const Tensor& latent, const TalsrOptions& options,
                  const Tensor& log_latent_scale) {
  check_cloud(latent, "talsr_loss", "latent");
  const PersistenceOptions persistence_options = options_for_degrees(options.dims, options.weights, "talsr_loss");
  const TalsrNormalisation normalisation = options.normalisation;
  if (normalisation == TalsrNormalisation::Learnable) {
    TL_CHECK_AS(ValueError, log_latent_scale.defined() && log_latent_scale.numel() == 1,
                "talsr_loss: the learnable normalisation needs the log latent scale s as a one-element tensor, got ",
                log_latent_scale.defined() ? log_latent_scale.describe() : std::string("an undefined tensor"));
  }
  TL_CHECK_AS(ValueError, options.target_scale >= 0.0f && std::isfinite(options.target_scale),
              "talsr_loss: target_scale must be >= 0, got ", options.target_scale);
  // The reference side's scale: Learnable divides X* by its diameter, as Moor et al. divide D_X by its maximum.
  const TalsrNormalisation reference_normalisation =
      normalisation == TalsrNormalisation::Learnable ? TalsrNormalisation::Diameter : normalisation;
  Tensor reference_scale;  // undefined: the reference diagrams as they are

  std::vector<Tensor> reference;  // the reference diagram of each entry of dims
  DifferentiableDiagrams latent_diagrams;
  Tensor codes = latent;
  if (options.reference == TalsrReference::TargetDiagrams) {
    TL_CHECK_AS(ValueError, options.target_diagrams.size() == options.dims.size(),
                "talsr_loss: ", options.target_diagrams.size(), " target diagrams for ", options.dims.size(),
                " degrees");
    reference = options.target_diagrams;
    if (normalisation != TalsrNormalisation::None && options.target_scale > 0.0f)
      reference_scale = Tensor::from_vector(std::vector<float>{options.target_scale}, {1}, latent.device());
    latent_diagrams = persistence_diagrams(codes, persistence_options);
  } else {
    check_cloud(batch, "talsr_loss", "batch");
    TL_CHECK_AS(ShapeError, batch.dim(0) == latent.dim(0), "talsr_loss: the batch has ", batch.dim(0),
                " rows but the latent codes ", latent.dim(0), " (", shape_str(batch.shape()), " vs ",
                shape_str(latent.shape()), ")");
    Tensor inputs = batch;
    if (options.reference == TalsrReference::Pca) {
      inputs = pca_scores(batch, std::min(options.projection_dim > 0 ? options.projection_dim : latent.dim(1),
                                          std::min(batch.dim(0), batch.dim(1))));
    } else if (options.reference == TalsrReference::RandomProjection) {
      const int64_t out_dim = options.projection_dim > 0 ? options.projection_dim : latent.dim(1);
      Generator generator(options.projection_seed);
      const Tensor projection = Tensor::normal({batch.dim(1), out_dim}, generator, 0.0f,
                                               1.0f / std::sqrt(static_cast<float>(out_dim)), batch.device());
      inputs = matmul(batch, projection);
    } else if (options.reference == TalsrReference::Landmarks) {
      const Tensor chosen =
          index_tensor(maxmin_landmarks(batch, std::min(options.landmarks, batch.dim(0))), batch.device());
      inputs = index_select(batch, 0, chosen);
      codes = index_select(latent, 0, chosen);
    }
    DiagramPair both = diagrams_of_both(inputs, codes, persistence_options);
    for (int k : options.dims) reference.push_back(both.first.diagrams[k]);
    latent_diagrams = std::move(both.second);
    if (normalisation != TalsrNormalisation::None) reference_scale = talsr_scale(inputs, reference_normalisation);
  }
  // Z's diagrams are multiplied by exp(s) (Learnable) or divided by Z's own scale (Diameter, MeanEdge).
  Tensor latent_factor, latent_scale;
  if (normalisation == TalsrNormalisation::Learnable) {
    latent_factor = exp(reshape(log_latent_scale, {1}));
  } else if (normalisation != TalsrNormalisation::None) {
    latent_scale = talsr_scale(codes, normalisation);
  }
  Tensor loss;
  for (size_t i = 0; i < options.dims.size(); ++i) {
    Tensor reference_diagram = reference[i];
    Tensor latent_diagram = latent_diagrams.diagrams[options.dims[i]];
    if (reference_scale.defined()) reference_diagram = div(reference_diagram, reference_scale);
    if (latent_scale.defined()) latent_diagram = div(latent_diagram, latent_scale);
    if (latent_factor.defined()) latent_diagram = mul(latent_diagram, latent_factor);
    const Tensor term =
        mul(diagram_distance(reference_diagram, latent_diagram, options.distance, options.metric), options.weights[i]);
    loss = loss.defined() ? add(loss, term) : term;
  }
  return mul(loss, options.lambda);
}

namespace {

void check_topogen_options(const TopoGenOptions& options) {
  TL_CHECK_AS(ValueError, options.dim == 0 || options.dim == 1, "topogen_term: homology degree ", options.dim,
              " is not supported (0 or 1)");
  TL_CHECK_AS(ValueError, options.term != TopoGenTerm::Sgde4 || options.dim == 0,
              "topogen_term: 4SGDE is defined on H0 diagrams only, got dim ", options.dim);
  TL_CHECK_AS(ValueError, options.sgde_points >= 1, "topogen_term: sgde_points must be >= 1");
}

// The term for a diagram against the reference batch's diagram of the same degree (unused by Push).
Tensor topogen_on_diagrams(const Tensor& diagram, const Tensor& target, const TopoGenOptions& options) {
  switch (options.term) {
    case TopoGenTerm::Push:
      if (diagram.dim(0) == 0) return Tensor::zeros({}, diagram.device());
      return options.push_code_form ? mul(sum(slice(diagram, 1, 1, 2)), -0.5f) : -total_persistence(diagram);
    case TopoGenTerm::Reininghaus:
      return reininghaus_distance_squared(diagram, target, options.sigma > 0.0f ? options.sigma : 0.05f);
    case TopoGenTerm::Sgde4: {
      std::vector<float> x(static_cast<size_t>(options.sgde_points), 0.0f);
      for (int i = 1; i < options.sgde_points; ++i)
        x[i] = options.sgde_max * static_cast<float>(i) / static_cast<float>(options.sgde_points - 1);
      const float sigma = options.sigma > 0.0f ? options.sigma : 0.2f;
      const Tensor difference =
          sub(sgde4(diagram, x, sigma, options.sgde_scale), sgde4(target, x, sigma, options.sgde_scale));
      return mean(mul(difference, difference));
    }
    case TopoGenTerm::Bottleneck:
      return bottleneck_distance(diagram, target);
    default: {
      const Tensor difference =
          sub(persistent_entropy(diagram, options.entropy_delta), persistent_entropy(target, options.entropy_delta));
      return mul(difference, difference);
    }
  }
}

}  // namespace

Tensor topogen_term(const Tensor& points, const Tensor& reference, const TopoGenOptions& options) {
  check_cloud(points, "topogen_term", "points");
  check_topogen_options(options);
  PersistenceOptions persistence_options;
  persistence_options.max_dim = options.dim;
  if (options.term == TopoGenTerm::Push) {
    return topogen_on_diagrams(persistence_diagrams(points, persistence_options).diagrams[options.dim], Tensor(),
                               options);
  }
  check_cloud(reference, "topogen_term", "reference");
  const DiagramPair both = diagrams_of_both(points, reference, persistence_options);
  return topogen_on_diagrams(both.first.diagrams[options.dim], both.second.diagrams[options.dim], options);
}

Tensor topovae_loss(const Tensor& reconstruction, const Tensor& input, TopoVae variant, float w0, float w1,
                    bool divide_by_batch) {
  static const float kThesisWeights[4][2] = {{5.0f, 5.0f}, {3.5f, 3.5f}, {5.0f, 10.0f}, {5.0f, 10.0f}};
  static const TopoGenTerm kTerms[4][2] = {{TopoGenTerm::Bottleneck, TopoGenTerm::Bottleneck},
                                           {TopoGenTerm::Entropy, TopoGenTerm::Entropy},
                                           {TopoGenTerm::Entropy, TopoGenTerm::Reininghaus},
                                           {TopoGenTerm::Sgde4, TopoGenTerm::Reininghaus}};
  check_cloud(reconstruction, "topovae_loss", "reconstruction");
  check_cloud(input, "topovae_loss", "input");
  const int v = static_cast<int>(variant);
  const float weights[2] = {w0 > 0.0f ? w0 : kThesisWeights[v][0], w1 > 0.0f ? w1 : kThesisWeights[v][1]};
  const DiagramPair both = diagrams_of_both(reconstruction, input);  // H0 and H1 of each batch, once
  const DifferentiableDiagrams& produced = both.first;
  const DifferentiableDiagrams& target = both.second;
  Tensor loss;
  for (int dim = 0; dim < 2; ++dim) {
    TopoGenOptions options;
    options.term = kTerms[v][dim];
    options.dim = dim;
    const Tensor term = mul(topogen_on_diagrams(produced.diagrams[dim], target.diagrams[dim], options), weights[dim]);
    loss = loss.defined() ? add(loss, term) : term;
  }
  return divide_by_batch ? mul(loss, 1.0f / static_cast<float>(reconstruction.dim(0))) : loss;
}

Tensor topovae_z1_loss(const Tensor& latent, const Tensor& input, float scale, float w0, float w1,
                       bool divide_by_batch) {
  check_cloud(latent, "topovae_z1_loss", "latent");
  check_cloud(input, "topovae_z1_loss", "input");
  TL_CHECK_AS(ValueError, scale > 0.0f && std::isfinite(scale), "topovae_z1_loss: scale must be > 0, got ", scale);
  const DiagramPair both = diagrams_of_both(latent, input);
  const DifferentiableDiagrams& z = both.first;
  const DifferentiableDiagrams& x = both.second;
  const float weights[2] = {w0 > 0.0f ? w0 : 5.0f, w1 > 0.0f ? w1 : 5.0f};
  Tensor loss = add(mul(bottleneck_distance(z.diagrams[0], mul(x.diagrams[0], scale)), weights[0]),
                    mul(bottleneck_distance(z.diagrams[1], mul(x.diagrams[1], scale)), weights[1]));
  return divide_by_batch ? mul(loss, 1.0f / static_cast<float>(latent.dim(0))) : loss;
}

Tensor landscape_loss(const Tensor& batch, const Tensor& latent, const LandscapeLossOptions& options) {
  check_cloud(batch, "landscape_loss", "batch");
  check_cloud(latent, "landscape_loss", "latent");
  const PersistenceOptions persistence_options = options_for_degrees(options.dims, options.weights, "landscape_loss");
  TL_CHECK_AS(ValueError, options.grid_points >= 2 && options.levels >= 1 && options.grid_max >= options.grid_min,
              "landscape_loss: need grid_points >= 2, levels >= 1 and grid_max >= grid_min");
  const DiagramPair both = diagrams_of_both(batch, latent, persistence_options);
  const DifferentiableDiagrams& x = both.first;
  const DifferentiableDiagrams& z = both.second;
  Tensor loss = Tensor::zeros({}, latent.device());
  for (size_t i = 0; i < options.dims.size(); ++i) {
    const int k = options.dims[i];
    float high = options.grid_max;
    if (high == 0.0f) {
      for (const PersistencePair& p : x.result.diagrams[k].pairs) high = std::max(high, p.death);
    }
    if (high <= options.grid_min) continue;  // the batch's diagram is empty (or ends before the grid starts)
    std::vector<float> grid(static_cast<size_t>(options.grid_points));
    const float spacing = (high - options.grid_min) / static_cast<float>(options.grid_points - 1);
    for (int j = 0; j < options.grid_points; ++j) grid[j] = options.grid_min + spacing * static_cast<float>(j);
    const Tensor difference = sub(persistence_landscape(x.diagrams[k], grid, options.levels),
                                  persistence_landscape(z.diagrams[k], grid, options.levels));
    const Tensor squared = mul(sum(mul(difference, difference)), spacing);
    // The norm's gradient is undefined at 0, where the landscapes agree: the squared form (0, zero gradient) then.
    const Tensor norm = squared.item() > 0.0f ? sqrt(squared) : squared;
    loss = add(loss, mul(norm, options.weights[i]));
  }
  return loss;
}

float ramp_weight(int64_t step, float gamma_max, int64_t ramp_steps) {
  TL_CHECK_AS(ValueError, step >= 0 && ramp_steps >= 0, "ramp_weight: step and ramp_steps must be >= 0, got ", step,
              " and ", ramp_steps);
  if (ramp_steps == 0) return gamma_max;
  return gamma_max * std::min(1.0f, static_cast<float>(step) / static_cast<float>(ramp_steps));
}

Tensor homological_ae_penalty(const Tensor& latent, const HomologicalAeOptions& options) {
  check_cloud(latent, "homological_ae_penalty", "latent");
  TL_CHECK_AS(ValueError, options.death_cap >= 0.0f && options.degree >= 1.0f,
              "homological_ae_penalty: death_cap must be >= 0 and degree >= 1, got ", options.death_cap, " and ",
              options.degree);
  // The ball penalty over the codes outside the unit ball only (the norm's gradient is undefined at 0).
  const Tensor squared_norms = sum(mul(latent, latent), 1);
  const std::vector<float> values = squared_norms.to_vector<float>();
  std::vector<int64_t> outside;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] > 1.0f) outside.push_back(static_cast<int64_t>(i));
  Tensor penalty = Tensor::zeros({}, latent.device());
  if (!outside.empty()) {
    const Tensor selected = index_select(squared_norms, 0, index_tensor(outside, latent.device()));
    penalty = sum(add(options.squared_norm ? selected : sqrt(selected), -1.0f));
  }
  if (options.ball_only) return penalty;
  const DifferentiableDiagrams diagrams = persistence_diagrams(latent, PersistenceOptions{0});
  Tensor deaths = slice(diagrams.diagrams[0], 1, 1, 2);
  if (options.death_cap > 0.0f) deaths = clamp(deaths, 0.0f, options.death_cap);
  return sub(penalty, sum(pow(deaths, options.degree)));
}

Tensor topological_signature_loss(const Tensor& batch, const Tensor& latent, const SignatureOptions& options,
                                  const Tensor& latent_scale) {
  check_cloud(batch, "topological_signature_loss", "batch");
  check_cloud(latent, "topological_signature_loss", "latent");
  TL_CHECK_AS(ShapeError, batch.dim(0) == latent.dim(0), "topological_signature_loss: the batch has ", batch.dim(0),
              " rows but the latent codes ", latent.dim(0));
  TL_CHECK_AS(ValueError, options.input_scale >= 0.0f, "topological_signature_loss: input_scale must be >= 0, got ",
              options.input_scale);
  auto h0_edges = [](const Tensor& points) {
    const PersistenceResult h0 = persistence(points, PersistenceOptions{0});
    std::vector<Edge> edges;
    for (const PersistencePair& p : h0.diagrams[0].pairs) edges.push_back(p.death_edge);
    return edges;
  };
  const std::vector<Edge> input_edges = h0_edges(batch), latent_edges = h0_edges(latent);
  float input_scale = options.input_scale;
  if (input_scale == 0.0f) {
    const std::vector<float> d = pairwise_distances(batch).to_vector<float>();
    input_scale = *std::max_element(d.begin(), d.end());
    if (input_scale == 0.0f) input_scale = 1.0f;  // all points equal
  }
  auto latent_lengths = [&](const std::vector<Edge>& edges) {
    const Tensor lengths = edge_lengths(latent, edges);
    return latent_scale.defined() ? div(lengths, latent_scale) : lengths;
  };
  const Tensor x_on_x = mul(edge_lengths(batch, input_edges), 1.0f / input_scale);
  const Tensor x_on_z = mul(edge_lengths(batch, latent_edges), 1.0f / input_scale);
  const Tensor from_x = sub(x_on_x, latent_lengths(input_edges));
  const Tensor from_z = sub(latent_lengths(latent_edges), x_on_z);
  Tensor loss = add(sum(mul(from_x, from_x)), sum(mul(from_z, from_z)));
  if (options.halve) loss = mul(loss, 0.5f);
  if (options.divide_by_batch) loss = mul(loss, 1.0f / static_cast<float>(batch.dim(0)));
  return loss;
}

}  // namespace tl::topology
