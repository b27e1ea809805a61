// The training loop behind tl_train: builds data, model, optimiser and loss terms from a TrainConfig, trains
// with a progress bar, a JSONL log of every step and atomic checkpoints, resumes bit-identically from a
// checkpoint, stops on a non-finite loss or gradient naming the term and the step, and evaluates the model on
// the test split (reconstruction, k-NN label accuracy in the latent space, input-vs-latent diagram distances)
// into report.json and report.md.
#pragma once

#include <deque>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "apps/trainer/config.h"
#include "nn/data/dataset.h"

namespace tl::train {

// Training stopped because a loss term or a gradient was NaN or infinite; the message names which and when.
class TrainingDiverged : public Error {
  using Error::Error;
};

class Trainer {
 public:
  explicit Trainer(TrainConfig config);

  // Loads parameters, buffers, optimiser state and the step counter from a checkpoint of this config.
  void load_checkpoint(const std::string& path);
  // Trains until config.epochs epochs (or config.max_steps steps) are done. Throws TrainingDiverged.
  void train();
  nlohmann::json evaluate();
  // Writes report.json and report.md into the output directory.
  void write_report(const nlohmann::json& evaluation) const;

  int64_t step() const { return step_; }
  // Wall time of each step this run took, and of its topology terms' forward, in milliseconds.
  const std::vector<double>& step_milliseconds() const { return step_ms_; }
  const std::vector<double>& topology_milliseconds() const { return topology_ms_; }
  int64_t steps_per_epoch() const;
  const TrainConfig& config() const { return config_; }
  std::vector<Tensor> parameters() const { return model_->parameters(); }
  std::string checkpoint_path() const;
  // FNV-1a over the bytes of every parameter, buffer and optimiser moment: equal hashes, equal states.
  uint64_t state_hash();

 private:
  struct TermValue {
    std::string name;
    Tensor value;
  };
  std::vector<TermValue> loss_terms(const Tensor& batch, double& topology_ms);
  Tensor topology_term(const TopologyTermConfig& term, size_t index, const Tensor& batch, const Tensor& latent,
                       const Tensor& reconstruction);
  std::vector<std::pair<std::string, Tensor*>> state_tensors();
  void save_checkpoint();
  // Logs and throws TrainingDiverged: "step S (epoch E): <what>; training stopped", naming the last checkpoint.
  [[noreturn]] void stop_diverged(std::ostream& log, int64_t epoch, const std::string& what) const;
  void open_log(bool resuming);

  TrainConfig config_;
  data::Dataset train_set_, test_set_;
  std::unique_ptr<nn::Autoencoder> model_;
  std::deque<Tensor> extra_parameters_;  // learnable scalars of loss terms (signature latent scale), by term index
  std::vector<Tensor*> term_scale_;      // per term: its learnable scalar or null
  std::vector<std::pair<std::string, Tensor*>> trained_;  // what the optimiser updates: the model, then the scalars
  std::vector<std::vector<Tensor>> talsr_targets_;        // per term: target diagrams (TALSR "target" reference)
  std::unique_ptr<nn::Optimizer> optimizer_;
  int64_t step_ = 0;
  int64_t last_checkpoint_step_ = -1;
  std::vector<double> step_ms_, topology_ms_;
  std::vector<std::pair<std::string, double>> epoch_means_;  // mean of each term over the last (partial) epoch
  double wall_seconds_ = 0.0;
};

}  // namespace tl::train
