// The model families the trainer trains (config "family"): what one training step of an autoencoder, a GAN or a
// diffusion model computes, which parameters each of its optimisers updates, and how it generates samples. The
// Trainer owns everything the families share (data, the loop, topology terms, optimisers, logs, checkpoints,
// resume); a family owns its networks and its losses. Each family lives in one file of apps/trainer/families/.
//
// A step is a sequence of phases, each one optimiser update: the autoencoder and the diffusion model have one
// ("model"), the GAN two ("discriminator", then "generator", on the same batch and the same draws of z). The
// topology terms (apps/trainer/loss_term.h) see, by family:
//   autoencoder  batch = the input batch, latent = its codes, reconstruction = its decoding;
//   gan          batch = the real batch,  latent = reconstruction = the generated batch G(z);
//   diffusion    batch = the real rows,   latent = reconstruction = their predicted x_0 (rows with t below
//                diffusion.topology_max_t).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "apps/trainer/config.h"
#include "apps/trainer/loss_term.h"
#include "core/base/random.h"
#include "nn/module.h"
#include "nn/row_shard.h"

namespace tl::train {

// One logged, weighted loss of a phase.
struct NamedLoss {
  std::string name;
  Tensor value;
};

// The configured topology terms: `apply` gives each on a batch, weighted (and ramped in) for the current step, a
// term of weight 0 left out; `needs_reconstruction` says whether some term reads LossTermBatch::reconstruction.
// In a data-parallel run `apply` gathers the batch's rows from every process first (DistributedConfig); a (gathered)
// batch of fewer than 3 rows gets no term. A family calls it once per step on every process, however few its rows.
struct TopologyTerms {
  std::function<std::vector<NamedLoss>(const LossTermBatch&)> apply;
  bool needs_reconstruction = false;
};

// What one phase of a step reads: the batch, the step's noise stream (every draw of the step, in phase order), the
// topology terms, and which rows of the whole batch `batch` is: a family draws its per-row noise through `shard`,
// so that a data-parallel run draws what one process would.
struct PhaseInputs {
  const Tensor& batch;
  Generator& noise;
  const TopologyTerms& topology;
  nn::RowShard shard = {};  // the whole batch unless split
};

class ModelFamily {
 public:
  virtual ~ModelFamily() = default;

  // Every parameter and buffer of the family's networks ("model." and "buffer." in checkpoints).
  virtual nn::Module& module() = 0;
  // The phases of a step, in order; each has its own optimiser.
  virtual std::vector<std::string> phases() const { return {"model"}; }
  // The parameters the optimiser of `phase` updates.
  virtual std::vector<std::pair<std::string, Tensor*>> phase_parameters(size_t phase) = 0;
  // The phase whose loss holds the topology terms: its optimiser also trains the terms' learnable scalars.
  virtual size_t topology_phase() const { return 0; }
  // The losses of `phase` (the phases before it in this step have been applied); their sum is minimised.
  virtual std::vector<NamedLoss> phase_losses(size_t phase, const PhaseInputs& inputs) = 0;

  // The samplers of generated points, the first the default ("gaussian" ... for autoencoders, "generator" for a
  // GAN, "ddpm" and "ddim" for a diffusion model).
  virtual std::vector<std::string> samplers() const = 0;
  // `n` generated samples [n, features] on the CPU, in evaluation mode and without gradients; every draw from
  // `generator`. Autoencoders sample through apps/evaluation (their samplers need the training codes).
  virtual Tensor sample(const std::string& sampler, int64_t n, Generator& generator);

  // The autoencoder of the autoencoder family; nullptr for the others.
  virtual nn::Autoencoder* autoencoder() { return nullptr; }
};

// The family of `config` with freshly initialised networks drawn from `init`, on config.device.
std::unique_ptr<ModelFamily> make_model_family(const TrainConfig& config, Generator& init);

// The autoencoder of a run of the autoencoder family; refuses (ValueError) another family, naming `what` needs it.
nn::Autoencoder& require_autoencoder(ModelFamily& family, const TrainConfig& config, const std::string& what);

}  // namespace tl::train
