// The loss-term cases: TALSR over its references and diagram distances (and a target diagram), its scale
// normalisations (diameter and mean_edge on both sides, learnable with respect to the codes and to s), TopoGen's terms
// in H0 and H1, TopoVAE T2..T4, the TGLML landscape loss, the homological-AE penalty under both conventions,
// and the signature loss with and without a learnable latent scale.
#include "tests/loss_term_cases.h"

#include "core/ops.h"
#include "nn/data/synthetic.h"
#include "topology/regularizers.h"

namespace tl::testing {
namespace {

using Clouds = LossTermClouds;

// The scale normalisations: the scales are differentiable (the diameter through its pair, the mean through every
// pair), so the normalised loss matches finite differences with respect to the codes, and to the batch (its scale
// is differentiated too); learnable also with respect to s (Clouds::scale shifted: s = 1.3 - 4).
void add_talsr_normalisation_cases(std::vector<LossTermCase>& cases, topology::TalsrOptions target) {
  using topology::TalsrNormalisation;
  using topology::TalsrReference;
  const std::pair<TalsrNormalisation, const char*> normalisations[] = {{TalsrNormalisation::Diameter, "diameter"},
                                                                       {TalsrNormalisation::MeanEdge, "mean_edge"}};
  for (const auto& [normalisation, normalisation_name] : normalisations) {
    const std::pair<TalsrReference, const char*> references[] = {{TalsrReference::RawBatch, "raw"},
                                                                 {TalsrReference::Landmarks, "landmarks"}};
    for (const auto& [reference, reference_name] : references) {
      topology::TalsrOptions options;
      options.reference = reference;
      options.normalisation = normalisation;
      options.landmarks = 12;
      options.weights = {1.0f, 0.5f};
      options.lambda = 2.0f;
      const std::string name = std::string("talsr ") + reference_name + " w1 " + normalisation_name;
      cases.push_back({name, {&Clouds::batch, &Clouds::latent}, [options](const std::vector<Tensor>& v) {
                         return topology::talsr_loss(v[0], v[1], options);
                       }});
      if (reference == TalsrReference::RawBatch) {
        cases.push_back({name + " (batch)", {&Clouds::latent, &Clouds::batch}, [options](const std::vector<Tensor>& v) {
                           return topology::talsr_loss(v[1], v[0], options);
                         }});
      }
    }
    target.normalisation = normalisation;
    target.target_scale = 2.5f;
    cases.push_back({std::string("talsr target ") + normalisation_name,
                     {&Clouds::latent},
                     [target](const std::vector<Tensor>& v) { return topology::talsr_loss(Tensor(), v[0], target); }});
  }
  // s = 1.3 - 4 (exp(s) about 0.07): the codes' diagrams near the scale of the batch's divided by its diameter, so
  // the loss stays small enough for float finite differences.
  const auto s_of = [](const Tensor& scale) { return add(scale, -4.0f); };
  topology::TalsrOptions learnable;
  learnable.normalisation = TalsrNormalisation::Learnable;
  learnable.weights = {1.0f, 0.5f};
  cases.push_back({"talsr raw w1 learnable",
                   {&Clouds::batch, &Clouds::scale, &Clouds::latent},
                   [learnable, s_of](const std::vector<Tensor>& v) {
                     return topology::talsr_loss(v[0], v[2], learnable, s_of(v[1]));
                   }});
  cases.push_back({"talsr raw w1 learnable (s)",
                   {&Clouds::batch, &Clouds::latent, &Clouds::scale},
                   [learnable, s_of](const std::vector<Tensor>& v) {
                     return topology::talsr_loss(v[0], v[1], learnable, s_of(v[2]));
                   }});
  target.normalisation = TalsrNormalisation::Learnable;
  cases.push_back(
      {"talsr target learnable (s)", {&Clouds::latent, &Clouds::scale}, [target, s_of](const std::vector<Tensor>& v) {
         return topology::talsr_loss(Tensor(), v[0], target, s_of(v[1]));
       }});
}

void add_talsr_cases(std::vector<LossTermCase>& cases) {
  using topology::DiagramDistance;
  using topology::TalsrReference;
  const std::pair<TalsrReference, const char*> references[] = {{TalsrReference::RawBatch, "raw"},
                                                               {TalsrReference::Pca, "pca"},
                                                               {TalsrReference::RandomProjection, "random_projection"},
                                                               {TalsrReference::Landmarks, "landmarks"}};
  const std::pair<DiagramDistance, const char*> distances[] = {{DiagramDistance::Wasserstein1, "w1"},
                                                               {DiagramDistance::Wasserstein2, "w2"},
                                                               {DiagramDistance::Bottleneck, "bottleneck"}};
  for (const auto& [reference, reference_name] : references) {
    for (const auto& [distance, distance_name] : distances) {
      topology::TalsrOptions options;
      options.reference = reference;
      options.distance = distance;
      options.landmarks = 12;
      options.weights = {1.0f, 0.5f};
      options.lambda = 2.0f;
      cases.push_back({std::string("talsr ") + reference_name + " " + distance_name,
                       {&Clouds::batch, &Clouds::latent},
                       [options](const std::vector<Tensor>& v) { return topology::talsr_loss(v[0], v[1], options); }});
    }
  }
  topology::TalsrOptions target;
  target.reference = TalsrReference::TargetDiagrams;
  target.target_diagrams = {Tensor::from_vector(std::vector<float>{0, 1, 0, 2}, {2, 2}),
                            Tensor::from_vector(std::vector<float>{0.2f, 1.5f}, {1, 2})};
  cases.push_back({"talsr target", {&Clouds::latent}, [target](const std::vector<Tensor>& v) {
                     return topology::talsr_loss(Tensor(), v[0], target);
                   }});
  add_talsr_normalisation_cases(cases, target);
}

// The ring against a fixed reference at a smaller scale, so that the bottleneck is attained by a pair of the ring's
// diagram, not of the reference's. (The bottleneck term is bottleneck_distance, checked on its own in
// test_matching.cpp and test_diagram_gradients.cpp; here its optimum sits on a tie between pairs, where finite
// differences mix sides.)
void add_topogen_cases(std::vector<LossTermCase>& cases, const Tensor& reference) {
  using topology::TopoGenTerm;
  const std::pair<TopoGenTerm, const char*> terms[] = {{TopoGenTerm::Push, "push"},
                                                       {TopoGenTerm::Reininghaus, "reininghaus"},
                                                       {TopoGenTerm::Sgde4, "sgde4"},
                                                       {TopoGenTerm::Entropy, "entropy"}};
  for (const auto& [term, term_name] : terms) {
    for (int dim : {0, 1}) {
      if (term == TopoGenTerm::Sgde4 && dim == 1) continue;
      topology::TopoGenOptions options;
      options.term = term;
      options.dim = dim;
      options.sigma = term == TopoGenTerm::Reininghaus ? 0.5f : 0.0f;  // a bandwidth at the diagrams' scale
      options.sgde_max = 8.0f;
      cases.push_back({std::string("topogen ") + term_name + " H" + std::to_string(dim),
                       {&Clouds::ring},
                       [options, reference](const std::vector<Tensor>& v) {
                         return topology::topogen_term(v[0], reference, options);
                       }});
    }
  }
}

void add_topovae_cases(std::vector<LossTermCase>& cases, const Tensor& input) {
  using topology::TopoVae;
  const std::pair<TopoVae, const char*> variants[] = {{TopoVae::T2, "T2"}, {TopoVae::T3, "T3"}, {TopoVae::T4, "T4"}};
  for (const auto& [variant, variant_name] : variants) {
    cases.push_back({std::string("topovae ") + variant_name,
                     {&Clouds::ring},
                     [variant = variant, input](const std::vector<Tensor>& v) {
                       return topology::topovae_loss(v[0], input, variant);
                     }});
  }
}

void add_landscape_homological_and_signature_cases(std::vector<LossTermCase>& cases) {
  topology::LandscapeLossOptions landscape;
  landscape.grid_points = 23;
  cases.push_back({"landscape", {&Clouds::batch, &Clouds::latent}, [landscape](const std::vector<Tensor>& v) {
                     return topology::landscape_loss(v[0], v[1], landscape);
                   }});

  topology::HomologicalAeOptions authors;
  authors.squared_norm = true;
  authors.death_cap = 0.5f;
  const std::pair<topology::HomologicalAeOptions, const char*> conventions[] = {{{}, "paper"},
                                                                                {authors, "authors' code"}};
  for (const auto& [options, convention] : conventions) {
    cases.push_back(
        {std::string("homological_ae ") + convention,
         {&Clouds::latent},
         [options = options](const std::vector<Tensor>& v) { return topology::homological_ae_penalty(v[0], options); },
         1e-2f});  // a loss of about 400
  }

  topology::SignatureOptions signature;
  signature.halve = true;
  signature.divide_by_batch = true;
  cases.push_back({"signature", {&Clouds::batch, &Clouds::latent}, [signature](const std::vector<Tensor>& v) {
                     return topology::topological_signature_loss(v[0], v[1], signature);
                   }});
  cases.push_back(
      {"signature latent scale", {&Clouds::batch, &Clouds::latent, &Clouds::scale}, [](const std::vector<Tensor>& v) {
         return topology::topological_signature_loss(v[0], v[1], {}, v[2]);
       }});
}

}  // namespace

const LossTermClouds& loss_term_clouds() {
  static const LossTermClouds clouds = [] {
    Generator generator(31);
    LossTermClouds c;
    c.batch = data::gaussian_cloud(16, 5, generator);
    c.latent = mul(data::gaussian_cloud(16, 2, generator), 4.0f);
    c.ring = mul(data::uniform_cube(24, 2, generator), 3.0f);
    c.small = mul(c.latent, 0.1f);
    c.scale = Tensor::from_vector(std::vector<float>{1.3f}, {1});
    return c;
  }();
  return clouds;
}

const std::vector<LossTermCase>& loss_term_cases() {
  static const std::vector<LossTermCase> cases = [] {
    std::vector<LossTermCase> all;
    add_talsr_cases(all);
    add_topogen_cases(all, loss_term_clouds().small);
    add_topovae_cases(all, loss_term_clouds().small);
    add_landscape_homological_and_signature_cases(all);
    return all;
  }();
  return cases;
}

std::vector<Tensor> make_inputs(const LossTermCase& c) {
  std::vector<Tensor> inputs;
  for (Tensor LossTermClouds::*cloud : c.inputs) inputs.push_back(loss_term_clouds().*cloud);
  return inputs;
}

}  // namespace tl::testing
