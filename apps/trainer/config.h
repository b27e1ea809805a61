// The trainer's configuration: a JSON file (parsed with nlohmann/json) validated into TrainConfig, with
// command-line overrides "key.path=value" applied before validation. Every unknown key and every bad value is
// rejected with an error naming the full key ("optimizer.lr", "topology.0.dims").
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/ops.h"
#include "nn/generative_models.h"
#include "nn/models.h"
#include "nn/optim.h"

namespace tl::train {

class LossTerm;  // apps/trainer/loss_term.h

// Mixed into the seed for the random draws of a training step (a VAE's noise, a GAN's z, a diffusion model's t and
// eps: a stream per step) and of evaluation (fixed streams).
constexpr uint64_t kNoiseSeedKey = 0x9E3779B97F4A7C15ull;

enum class DataSource { Idx, Synthetic, Arrays };

// The data of a run. Its test split is, by source: Idx, the t10k files, or with split_from a seeded test_fraction
// share of the one file set named (for a directory holding only t10k, as ../shared/data/mnist); Synthetic with
// test_fraction > 0 (spheres by default, 0.1), a seeded share of ONE drawn cloud of `count` points; Synthetic
// otherwise, a second sample of max(count / 10, batch_size) points of the same distribution (synthetic_test_dataset);
// Arrays, the `test` file or a seeded test_fraction share of the `train` file. With `standardize`, every split (test
// and validation included) is mapped feature by feature to (x - mean) / std with the mean and population std of the
// TRAINING split (validation rows included: fitted before the validation split, as Moor et al.'s code does), a constant
// feature divided by 1.
struct DataConfig {
  DataSource source = DataSource::Idx;
  std::string path;        // Idx: a directory of IDX files
  std::string name;        // Synthetic: the set's name (nn/data/dataset.h)
  int64_t count = 10000;   // Synthetic: the points drawn (with test_fraction: train and test together)
  float noise = 0.0f;      // Synthetic
  int64_t embed_dim = 0;   // Synthetic: > 0 carries the set into R^embed_dim (data::embed_isometrically); 0: as drawn
  std::string split_from;  // Idx: "train" or "t10k" splits that one file set by test_fraction; empty: train / t10k
  int64_t limit = 0;       // Idx: keep the first `limit` training samples (0: all)
  int64_t test_limit = 0;  // Idx: likewise for the test split
  // Arrays: .npy (float32/float64, 2-D) or CSV feature files; labels: .npy (int32/int64, [n] or [n, 1]) or a
  // one-column CSV, every label 0 when not given. Paths are read relative to the current directory.
  std::string train, train_labels, test, test_labels;
  double test_fraction = 0.0;  // in (0, 1): the test split is this share of one cloud / file set / `train`; 0: none
  uint64_t split_seed = 0;     // the test and validation splits' seed: data.split_seed, else the config's seed
  bool standardize = false;    // default true for spheres
};

// The validation split and early stopping (Moor et al.'s protocol): `fraction` of the training split (seeded by
// data.split_seed) is held out of the training batches; after each epoch the validation loss (the training objective
// in eval mode, every topology term at its full weight, row-weighted over fixed batches of batch_size rows, the
// last batch taking the remainder) is logged, the best state is kept as best.tlc, training stops after `patience`
// epochs without improvement, and the report evaluates the best state.
struct ValidationConfig {
  double fraction = 0.0;  // 0: no validation split
  int64_t patience = 10;  // epochs without improvement before stopping; 0: never stop early
};

// One topological loss term, weighted and optionally ramped in: weight * min(1, step / ramp_steps) (TGLML's
// gamma(t) for any term).
struct TopologyTermConfig {
  std::string term;  // the registered config name ("talsr")
  std::string name;  // the term's name in logs: its config name, "talsr_2" for a second term of that name, ...
  float weight = 1.0f;
  int64_t ramp_steps = 0;
  std::shared_ptr<const LossTerm> parsed;  // the term with its own options read, not yet built
};

struct EvaluationConfig {
  int64_t topology_points = 512;  // test samples whose input and latent diagrams are compared
  int64_t knn_points = 2000;      // test samples for the k-NN label accuracy
  int knn = 5;
};

enum class ReconstructionLoss {
  Bce,  // binary cross-entropy; the decoder outputs logits
  Mse,
};

// The reconstruction loss of the decoder's output (logits under BCE) against the batch.
Tensor reconstruction_loss(ReconstructionLoss loss, const Tensor& output, const Tensor& batch, Reduction reduction);

// The decoder's output in the data's range: the sigmoid of its logits under BCE, the output itself under MSE.
Tensor reconstruction_values(ReconstructionLoss loss, const Tensor& output);

// What the run trains (apps/trainer/model_family.h): an autoencoder or VAE (reconstruction, KL, topology terms on
// the codes), a GAN (alternating discriminator and generator updates; topology terms on the generated batch against
// the real one) or a DDPM (epsilon prediction; topology terms on the predicted x_0 batch against the real one).
enum class Family { Autoencoder, Gan, Diffusion };

const char* family_name(Family family);

// "gan": the discriminator's learning rate (the optimizer section's type, betas and schedule apply to both nets).
struct GanConfig {
  float discriminator_lr = 0.0f;  // 0: optimizer.lr
};

// "diffusion": Ho et al.'s linear schedule, and how samples are drawn in evaluation.
struct DiffusionConfig {
  int64_t steps = 1000;  // T
  double beta_start = 1e-4, beta_end = 0.02;
  // The rows whose timestep t < topology_max_t enter the topology terms (their predicted x_0 against the same rows
  // of the real batch); T: every row. Fewer than 3 such rows skip the terms for the step.
  int64_t topology_max_t = 0;    // 0: T
  std::string sampler = "ddpm";  // the default sampler (report.json, tl_evaluate's first): "ddpm" or "ddim"
  int64_t sampling_steps = 50;   // the DDIM sampler's S
  int64_t sample_batch = 500;    // samples generated per pass in evaluation
  // With clip_x0, sampling clips each predicted x_0 to [clip_low, clip_high] (nn::clip_predicted_x0; Ho et al. clip
  // to the data's [-1, 1]); training is unchanged.
  bool clip_x0 = false;
  float clip_low = 0.0f, clip_high = 1.0f;
};

// "distributed": data-parallel training (mpirun -np K tl_train; apps/trainer/process_group.h). batch_size is the
// whole batch, split into K equal shards. The topology terms see, by default ("global"), the whole batch: each
// process gathers every shard's rows and computes the same diagrams, so K processes train as one process with the
// same batch; "per_rank" computes each term on the process's own shard (K smaller persistence problems, faster,
// and the terms' mean over the shards is optimised instead).
struct DistributedConfig {
  bool per_rank_topology = false;
};

struct TrainConfig {
  nlohmann::json source;  // the validated file with overrides applied (stored in checkpoints and reports)
  Family family = Family::Autoencoder;
  std::string model_name;
  nn::AutoencoderSpec model;  // family autoencoder
  nn::GanSpec gan_model;      // family gan
  nn::DenoiserSpec denoiser;  // family diffusion
  GanConfig gan;
  DiffusionConfig diffusion;
  uint64_t init_seed = 0;  // the model's initial weights: model.init_seed, else the config's seed
  DataConfig data;
  ValidationConfig validation;
  ReconstructionLoss reconstruction = ReconstructionLoss::Bce;
  Reduction reduction = Reduction::BatchMean;
  float beta = 1.0f;  // the KL weight of a VAE
  std::vector<TopologyTermConfig> topology;
  nn::OptimizerOptions optimizer;
  nn::LearningRateSchedule schedule;
  double clip_grad_norm = 0.0;  // 0: off
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: stop after this many steps in all
  int64_t batch_size = 128;
  uint64_t seed = 0;
  Device device = Device::CPU;
  std::string output = "runs/default";
  int64_t checkpoint_every = 0;  // steps; 0: at the end of each epoch only
  bool progress = true;
  EvaluationConfig evaluation;
  DistributedConfig distributed;
};

// The features of a sample the configured model takes (the data's width).
int64_t data_width(const TrainConfig& config);

// Validates a parsed JSON document. Throws ValueError naming the key on an unknown key, a wrong type or a bad value.
TrainConfig parse_config(const nlohmann::json& document);

// Reads a JSON file (a syntax error names the file, line and column).
nlohmann::json read_config_file(const std::string& path);

// Applies "a.b.c=value" to the document: value is read as JSON when it parses (numbers, true, [0, 1], "text"),
// as a plain string otherwise; array elements are addressed by index ("topology.0.weight").
void apply_override(nlohmann::json& document, const std::string& assignment);

}  // namespace tl::train
