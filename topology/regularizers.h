// Topological loss terms (TALSR, TGLML, homological AE, TopoGen, topological AE) as functions of tensors
// (docs/methods.md §3); each returns a rank-0 tensor whose gradient reaches the point coordinates through the
// persistence op.
//
//   TALSR (§3a):          lambda * sum_k w_k dist(PD_k(X*), PD_k(Z)), dist = W_1, W_2 or bottleneck,
//                         X* = the raw batch, its PCA projection, a random projection, a max-min landmark
//                         subsample (Z restricted to the same indices), or fixed target diagrams; optionally
//                         scale-normalised (TalsrNormalisation below).
//   Homological AE (§3c): sum_x max(|E(x)| - 1, 0) - sum of the H0 deaths^q of E(B); the authors' code squares
//                         the norm and caps deaths at 0.5 (both options; the paper's form is the default).
//   TopoGen (§3d):        push, Reininghaus, 4SGDE, bottleneck and entropy terms of a cloud against the diagram of
//                         a reference batch, and the TopoVAE T1..T4 combinations of them.
//   TGLML (§3b):          sum_k w_k |lambda_k(X) - lambda_k(Z)|_L2 between persistence landscapes on a grid,
//                         weighted over training by gamma(t) = gamma_max min(1, t / t_ramp).
//   Topological AE (§4):  |D_X[pi_X] - D_Z[pi_X]|^2 + |D_Z[pi_Z] - D_X[pi_Z]|^2 over the H0 edges pi of each side.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "topology/matching.h"
#include "topology/pca.h"  // pca_scores, the TalsrReference::Pca projection

namespace tl::topology {

enum class DiagramDistance { Wasserstein1, Wasserstein2, Bottleneck };

// dist(a, b) for diagram tensors, with its gradient.
Tensor diagram_distance(const Tensor& a, const Tensor& b, DiagramDistance distance,
                        GroundMetric metric = GroundMetric::LInf);

enum class TalsrReference { RawBatch, Pca, RandomProjection, Landmarks, TargetDiagrams };

// TALSR's scale normalisation (docs/methods.md §3a), an ablation axis: X* (784-D pixels, distances ~10) and Z
// (codes near unit scale) live in different units, and comparing their diagrams in absolute units makes the term
// fight the model. With s(P) the scale of a cloud P, the compared diagrams are
//   None:      PD_k(X*)            and PD_k(Z)              (absolute units; the default, the proposal's form)
//   Diameter:  PD_k(X*) / diam X*  and PD_k(Z) / diam Z     diam P = max_ij |p_i - p_j|
//   MeanEdge:  PD_k(X*) / mean X*  and PD_k(Z) / mean Z     mean P = 2 / (n (n - 1)) sum_{i<j} |p_i - p_j|
//   Learnable: PD_k(X*) / diam X*  and exp(s) PD_k(Z)       s a learnable scalar (the trainer's term: initialised 0)
// (dividing every distance by s divides every birth and death by s: the pairing does not change). Each cloud is
// divided by its own scale: the PCA or projected reference by its own, the landmark subsamples by theirs, target
// diagrams by the scale of the sample they were computed from (target_scale). Diameter and MeanEdge make the term
// invariant to the scale of either cloud. Both scales are differentiable functions of the coordinates, not
// constants: the diameter through the one pair that attains it (the lowest index pair on ties), the mean through
// every pair; so the gradient of the normalised term is exact (finite differences agree) and has no component along
// the codes' own scale (<dL/dZ, Z> = 0), leaving the latent scale to the rest of the loss; a detached scale would
// instead push that scale with a force the loss does not have. MeanEdge uses the mean pairwise distance rather
// than the mean spanning-tree edge: every pair contributes, so it is a steadier global scale that does not shrink
// with the batch size or depend on the local density the H0 diagram already measures. Learnable follows Moor et
// al.'s topological autoencoder (D_X divided by its maximum, D_Z by a learnable scale; here a multiplicative
// exp(s), positive for any s). A cloud of fewer than 2 points, or of one repeated point, has scale 1.
enum class TalsrNormalisation { None, Diameter, MeanEdge, Learnable };

// The scale s(P) of the [n, d] points that `normalisation` divides P's diagrams by, as a differentiable [1] tensor:
// the diameter (Diameter, Learnable), the mean pairwise distance (MeanEdge), or 1 (None, and degenerate clouds).
Tensor talsr_scale(const Tensor& points, TalsrNormalisation normalisation);

struct TalsrOptions {
  float lambda = 1.0f;
  std::vector<int> dims{0, 1};             // homology degrees compared
  std::vector<float> weights{1.0f, 1.0f};  // w_k, one per entry of dims
  DiagramDistance distance = DiagramDistance::Wasserstein1;
  GroundMetric metric = GroundMetric::LInf;
  TalsrReference reference = TalsrReference::RawBatch;
  int64_t projection_dim = 0;    // Pca, RandomProjection: output dimension (0: the latent dimension)
  uint64_t projection_seed = 0;  // RandomProjection: the Philox seed of the fixed Gaussian matrix
  int64_t landmarks = 32;        // Landmarks: size of the max-min subsample (at most the batch)
  // TargetDiagrams: target_diagrams[k] is the [m, 2] reference diagram of degree dims[k], computed once (e.g. from
  // a large sample of the data set).
  std::vector<Tensor> target_diagrams;
  TalsrNormalisation normalisation = TalsrNormalisation::None;
  // TargetDiagrams under a normalisation: the scale of the sample the target diagrams were computed from
  // (talsr_scale of it); they are divided by it. 0: the target diagrams are taken as already normalised.
  float target_scale = 0.0f;
};

// TALSR's term for the input batch X [B, D] and its latent codes Z [B, m] (X may be undefined with
// TargetDiagrams). Gradients reach Z, and X where it requires them. Under the Learnable normalisation,
// `log_latent_scale` is s (a one-element tensor; gradients reach it); other normalisations ignore it.
Tensor talsr_loss(const Tensor& batch, const Tensor& latent, const TalsrOptions& options = {},
                  const Tensor& log_latent_scale = Tensor());

// The max-min (farthest point) subsample of `count` rows of the [n, d] points, starting from row 0.
std::vector<int64_t> maxmin_landmarks(const Tensor& points, int64_t count);

struct HomologicalAeOptions {
  bool squared_norm = false;  // the authors' code: max(|E(x)|^2 - 1, 0)
  float death_cap = 0.0f;     // > 0: deaths clamped at it (the authors' code: Rips max_edge_length 0.5)
  float degree = 1.0f;        // q in sum d^q
  bool ball_only = false;     // the ablation without the persistence term
};

Tensor homological_ae_penalty(const Tensor& latent, const HomologicalAeOptions& options = {});

enum class TopoGenTerm { Push, Reininghaus, Sgde4, Bottleneck, Entropy };

struct TopoGenOptions {
  TopoGenTerm term = TopoGenTerm::Bottleneck;
  int dim = 0;                  // homology degree (4SGDE: H0 only)
  bool push_code_form = false;  // Push: the paper's -sum (d - b); the authors' code -sum d / 2
  float sigma = 0.0f;           // Reininghaus (default 0.05) and 4SGDE (default 0.2) bandwidth; 0: the default
  float sgde_scale = 0.002f;    // 4SGDE s
  int sgde_points = 30;         // 4SGDE x_i: evenly spaced on [0, sgde_max]
  float sgde_max = 35.0f;
  float entropy_delta = 0.001f;  // Entropy: bars longer than this (the thesis runs use 0.1)
};

// One TopoGen term for `points` against the diagram of `reference` (the true batch); Push ignores reference.
Tensor topogen_term(const Tensor& points, const Tensor& reference, const TopoGenOptions& options);

enum class TopoVae { T1, T2, T3, T4 };

// The topological part of TopoVAE's loss, on the reconstruction batch against the input batch:
// T1 = w0 d_B(H0) + w1 d_B(H1); T2 = w0 entropy(H0) + w1 entropy(H1); T3 = w0 entropy(H0) + w1 Reininghaus(H1);
// T4 = w0 4SGDE(H0) + w1 Reininghaus(H1). Weights <= 0 take the thesis values (T1 5, 5; T2 3.5, 3.5; T3 and T4
// 5, 10); divide_by_batch divides by B as the library does.
Tensor topovae_loss(const Tensor& reconstruction, const Tensor& input, TopoVae variant, float w0 = 0.0f,
                    float w1 = 0.0f, bool divide_by_batch = true);

// TopoVAE-Z1: w0 d_B(H0(Z), s H0(X)) + w1 d_B(H1(Z), s H1(X)) on the latent batch Z against the input batch's
// diagrams rescaled by s > 0 (the thesis rescales without saying how; the caller picks s, e.g. the ratio of the
// two batches' typical distances). Weights <= 0 take T1's 5, 5; divide_by_batch as topovae_loss.
Tensor topovae_z1_loss(const Tensor& latent, const Tensor& input, float scale, float w0 = 0.0f, float w1 = 0.0f,
                       bool divide_by_batch = true);

struct LandscapeLossOptions {
  std::vector<int> dims{0, 1};
  std::vector<float> weights{1.0f, 1.0f};
  int levels = 5;        // landscape functions lambda_1..lambda_levels
  int grid_points = 64;  // uniform grid on [grid_min, grid_max]
  float grid_min = 0.0f;
  float grid_max = 0.0f;  // 0: the largest death of the batch's diagram (a constant for the latent's gradient)
};

// TGLML's landscape approximation of the diagram distance; the L2 norm integrates over the grid (spacing h).
Tensor landscape_loss(const Tensor& batch, const Tensor& latent, const LandscapeLossOptions& options = {});

// TGLML's progressive weight gamma(step) = gamma_max * min(1, step / ramp_steps) (ramp_steps 0: gamma_max).
float ramp_weight(int64_t step, float gamma_max, int64_t ramp_steps);

struct SignatureOptions {
  bool halve = false;            // multiply by 1/2
  bool divide_by_batch = false;  // divide by B
  float input_scale = 0.0f;      // D_X is divided by this; 0: by its largest entry
};

// Moor et al.'s signature loss; `latent_scale` (optional, a one-element tensor, learnable) divides D_Z.
Tensor topological_signature_loss(const Tensor& batch, const Tensor& latent, const SignatureOptions& options = {},
                                  const Tensor& latent_scale = Tensor());

}  // namespace tl::topology
