// The topological loss terms of the trainer, and their registry. A term parses its own options from its config
// object (parse_config reads "term", "weight" and "ramp_steps"), is built once before training (learnable scalars,
// diagrams of the training set), and computes its unweighted loss from each batch. Each term lives in one file of
// apps/trainer/loss_terms/ and is registered by one line of TL_LOSS_TERMS in loss_term.cpp.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "apps/trainer/config_section.h"
#include "core/tensor.h"
#include "nn/data/dataset.h"

namespace tl::train {

// What a term may use when it is built.
struct LossTermSetup {
  const data::Dataset& train_set;
  uint64_t seed;
  Device device;
};

// What a term computes its loss from at one training step.
struct LossTermBatch {
  const Tensor& batch;   // the input batch [B, features]
  const Tensor& latent;  // its codes [B, latent]
  // The decoder's output as values (the sigmoid of its logits under BCE) when a term needs_reconstruction().
  const Tensor& reconstruction;
};

class LossTerm {
 public:
  virtual ~LossTerm() = default;

  // Reads the term's options from `options`, validating each (parse_config then rejects the keys not read).
  virtual void parse(ConfigSection& options) = 0;
  // A copy of this parsed term, ready to train.
  virtual std::unique_ptr<LossTerm> build(const LossTermSetup& setup) const = 0;
  // The term's loss on one batch, before its weight.
  virtual Tensor loss(const LossTermBatch& batch) const = 0;
  // True when loss() reads batch.reconstruction.
  virtual bool needs_reconstruction() const { return false; }
  // The learnable scalars of a built term, by name within the term; the optimiser trains them beside the model.
  virtual std::vector<std::pair<std::string, Tensor*>> parameters() { return {}; }
};

// The config names of the registered terms, in the order config errors list them.
std::vector<std::string> loss_term_names();

// A new, unparsed term of a registered config name.
std::unique_ptr<LossTerm> make_loss_term(const std::string& name);

}  // namespace tl::train
