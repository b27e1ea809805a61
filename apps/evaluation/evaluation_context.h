// What every metric group of tl_evaluate reads: the trained model (its family: an autoencoder, a GAN or a diffusion
// model) with its config, the evaluated split and the training split, the feature space, the options, and the run's
// directory; and the operations the groups share: encoding and decoding in batches, drawing codes or samples from
// the samplers, seeded subsets, progress lines.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/evaluation/feature_space.h"
#include "apps/evaluation/samplers.h"
#include "apps/trainer/config.h"
#include "apps/trainer/model_family.h"
#include "nn/data/dataset.h"
#include "nn/models.h"

namespace tl::eval {

// The groups of metrics, in the order tl_evaluate computes and reports them.
enum class MetricGroup { Reconstruction, Generation, Topology, Interpolation, Robustness, Embedding, Cost };

// How generated points are drawn. An autoencoder decodes codes (apps/evaluation/samplers.h): from the prior N(0, I),
// uniform in the unit ball (the homological AE's sampler), or from TGLML's Langevin walk on a kernel density
// estimate of the training codes. A GAN's generator maps z ~ N(0, I); a diffusion model samples by ancestral DDPM
// steps or by deterministic DDIM (apps/trainer/model_family.h).
enum class Sampler { Gaussian, UnitBall, Langevin, Generator, Ddpm, Ddim };

// The groups that need an encoder (reconstruction, interpolation, robustness, embedding): a GAN or a diffusion model
// computes the others.
bool needs_encoder(MetricGroup group);

const char* group_name(MetricGroup group);
const char* sampler_name(Sampler sampler);
const std::vector<MetricGroup>& all_groups();
const std::vector<Sampler>& all_samplers();
Sampler parse_sampler(const std::string& name);  // ValueError for an unknown name

struct EvaluationOptions {
  std::vector<MetricGroup> groups = all_groups();
  data::Split split = data::Split::Test;
  int64_t limit = 0;                     // evaluate the first `limit` points of the split (0: all)
  uint64_t seed = 0;                     // subsets, pairs, noise and sampling
  std::vector<Sampler> samplers;         // empty: the model family's samplers (every one of them)
  int neighbours = 5;                    // k of precision / recall / density / coverage
  int64_t two_sample_points = 2000;      // per set, for the 1-NN two-sample test
  int64_t topology_batch = 256;          // points per diagram
  int64_t topology_batches = 8;          // batches compared (fewer when the split is small)
  double betti_scale = 0.1;              // Betti numbers at this fraction of each cloud's diameter
  int64_t embedding_points = 10000;      // points of the embedding metrics (Moor et al.)
  int64_t interpolation_pairs = 32;      // pairs of split points joined by paths
  int64_t path_points = 16;              // points per path, ends included
  int geodesic_neighbours = 10;          // k of the k-NN graph of training codes
  int64_t geodesic_graph_points = 5000;  // training codes in that graph
  int64_t robustness_points = 512;
  std::vector<float> input_noise{0.05f, 0.1f, 0.2f};  // standard deviations of Gaussian input noise
  std::vector<float> latent_noise{0.1f, 0.5f, 1.0f};  // the same on the codes
  std::vector<float> fgsm{0.01f, 0.03f, 0.1f};        // FGSM step sizes on the encoder input
  bool progress = true;
};

class EvaluationContext {
 public:
  // Keeps the options' samplers that the family has (an experiment may list those of several families); refuses
  // (ValueError) a list of which none applies.
  EvaluationContext(train::ModelFamily& family, const train::TrainConfig& config, data::Dataset evaluated,
                    const data::Dataset& training, const FeatureSpace& features, const EvaluationOptions& options,
                    std::string run_directory);
  ~EvaluationContext();  // the model back in training mode

  const train::TrainConfig& config() const { return config_; }
  const data::Dataset& data() const { return data_; }
  const FeatureSpace& features() const { return features_; }
  const EvaluationOptions& options() const { return options_; }
  const std::string& run_directory() const { return run_directory_; }
  // The autoencoder; ValueError for a family without an encoder.
  nn::Autoencoder& model() const;
  bool has_encoder() const { return family_.autoencoder() != nullptr; }
  // The samplers evaluated: the options', else the family's; the first feeds the topology group and exports.
  const std::vector<Sampler>& samplers() const { return samplers_; }
  // True when every input lies in [0, 1] (images): BCE is defined and PSNR's peak is 1.
  bool unit_range() const { return unit_range_; }
  // The peak signal of PSNR: 1 for unit-range data, else the split's max - min.
  double signal_range() const { return signal_range_; }

  // Codes (the posterior mean for a VAE) and decodings in the data's range, in batches, on the CPU.
  Tensor encode(const Tensor& inputs) const;
  Tensor decode(const Tensor& codes) const;
  // The training split's codes (at most `limit` of them, a seeded subset; 0: all), computed once per limit.
  Tensor training_codes(int64_t limit) const;
  // The k-NN graph of the geodesic paths (geodesic_neighbours over geodesic_graph_points training codes, those
  // of training_codes(geodesic_graph_points)), built once.
  const KnnGraph& geodesic_graph() const;
  // `n` codes from an autoencoder's `sampler`, fixed by `seed`.
  Tensor sample_codes(Sampler sampler, int64_t n, uint64_t seed) const;
  // `n` generated points from `sampler` (decoded codes, or the family's samples), fixed by `seed`.
  Tensor generate(Sampler sampler, int64_t n, uint64_t seed) const;
  // A permutation of the split's rows fixed by the options' seed and `stream` (one stream per use).
  std::vector<int64_t> permutation(uint64_t stream) const;
  // A progress line on stderr ("tl_evaluate: <group>: <what> (12.3 s)") when the options ask for progress.
  void note(const std::string& group, const std::string& what) const;

 private:
  train::ModelFamily& family_;
  const train::TrainConfig& config_;
  std::vector<Sampler> samplers_;
  data::Dataset data_;
  const data::Dataset& training_;
  const FeatureSpace& features_;
  const EvaluationOptions& options_;
  std::string run_directory_;
  bool unit_range_ = false;
  double signal_range_ = 1.0;
  mutable std::vector<std::pair<int64_t, Tensor>> training_codes_;
  mutable std::optional<KnnGraph> geodesic_graph_;
  std::chrono::steady_clock::time_point start_;
};

// The rows `rows` of a [n, d] CPU tensor.
Tensor take_rows(const Tensor& x, const std::vector<int64_t>& rows);
// The first `count` entries of `order`.
std::vector<int64_t> head(const std::vector<int64_t>& order, int64_t count);

// `n` samples decoded from `sampler`'s codes (the generation group's, and tl_evaluate --export-samples).
Tensor generated_samples(const EvaluationContext& context, Sampler sampler, int64_t n);

// One function per group, each returning its section of evaluation.json (apps/evaluation/group_*.cpp).
nlohmann::json reconstruction_group(const EvaluationContext& context);
nlohmann::json generation_group(const EvaluationContext& context);
nlohmann::json topology_group(const EvaluationContext& context);
nlohmann::json interpolation_group(const EvaluationContext& context);
nlohmann::json robustness_group(const EvaluationContext& context);
nlohmann::json embedding_group(const EvaluationContext& context);
nlohmann::json cost_group(const EvaluationContext& context);

}  // namespace tl::eval
