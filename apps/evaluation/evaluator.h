// tl_evaluate's work: loads a run trained by tl_train from its checkpoint (the config stored inside, optionally
// overridden: another data path, the CPU), computes the chosen metric groups on a split, writes evaluation.json
// and evaluation.md, and exports codes or samples as .npy files.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "apps/evaluation/evaluation_context.h"
#include "apps/trainer/trainer.h"

namespace tl::eval {

// A trained run, rebuilt from its checkpoint: the model with its weights, its config and its data.
class TrainedRun {
 public:
  // Refuses (ValueError naming the file) a file that is not a tl_train checkpoint (a tl_classify classifier, say),
  // a config the overrides make invalid, data of another width than the model's, and tensors of another model.
  TrainedRun(const std::string& checkpoint, const std::vector<std::string>& overrides);

  const std::string& checkpoint() const { return checkpoint_; }
  // The directory of the checkpoint: where its training log lies.
  std::string directory() const;
  train::Trainer& trainer() { return *trainer_; }
  // The split's first `limit` points (0: all); ValueError for an empty one.
  data::Dataset split(data::Split split, int64_t limit) const;

 private:
  std::string checkpoint_;
  std::unique_ptr<train::Trainer> trainer_;
};

// The metric groups of `options` on the run: the evaluation.json document (what was evaluated, each group's
// section, and the seconds each group took). With a `plots_directory`, also writes the pictures of
// apps/evaluation/plots.h and diagrams.json there, and names the pictures in the document's "plots".
nlohmann::json evaluate_run(TrainedRun& run, const FeatureSpace& features, const EvaluationOptions& options,
                            const std::string& plots_directory = "");

// evaluation.md: a table per group, then the pictures named in evaluation["plots"].
std::string evaluation_markdown(const nlohmann::json& evaluation);

// Writes the codes of the split as float32 [n, latent] to `path` and its labels as int32 [n] beside it
// (latents.npy -> latents_labels.npy); returns the labels' path.
std::string export_latents(TrainedRun& run, const EvaluationOptions& options, const std::string& path);

// Writes `count` samples decoded from the first of the options' samplers' codes as float32 [count, features].
void export_samples(TrainedRun& run, const EvaluationOptions& options, int64_t count, const std::string& path);

}  // namespace tl::eval
