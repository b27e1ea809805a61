// The training loop behind tl_train: builds data, the model family (apps/trainer/model_family.h: an autoencoder, a
// GAN or a diffusion model), one optimiser per phase of its step and the loss terms from a TrainConfig, trains
// with a progress bar, a JSONL log of every step and atomic checkpoints, resumes bit-identically from a
// checkpoint, and stops on a non-finite loss, gradient or state naming what and when. A run owns its output
// directory: it locks it against a concurrent run and refuses one that holds an earlier run unless told to replace
// it. With a validation split (config "validation") it logs the validation loss after each epoch, keeps the best
// state as best.tlc beside checkpoint.tlc, stops early when the loss stops improving, and evaluates the best state.
// evaluate() and write_report() hand the trained model to evaluation.h and report.h.
// Under mpirun each of K processes trains on its shard of every batch and the gradients are averaged
// (apps/trainer/data_parallel.h); rank 0 writes the log, the checkpoints and the report, and a checkpoint resumes
// with the same K only.
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "apps/trainer/config.h"
#include "apps/trainer/loss_term.h"
#include "apps/trainer/model_family.h"
#include "apps/trainer/process_group.h"
#include "apps/trainer/report.h"
#include "apps/trainer/run_directory.h"
#include "apps/trainer/thread_tuner.h"
#include "nn/data/dataset.h"

namespace tl::train {

// Training stopped because a loss term, a gradient or the state after an update was NaN or infinite; the message
// names which and when, and the last good checkpoint.
class TrainingDiverged : public Error {
  using Error::Error;
};

// The most steps a run may take: each step's VAE noise stream is keyed by step << 32.
constexpr int64_t kMaxSteps = int64_t(1) << 32;

// True when every element of `tensor` (on any device) is finite.
bool all_finite(const Tensor& tensor);

class Trainer {
 public:
  // Refuses (ValueError) a run longer than kMaxSteps. `earlier` applies when training starts.
  explicit Trainer(TrainConfig config, EarlierRun earlier = EarlierRun::Refuse);

  // Loads parameters, buffers, optimiser state, the step counter and the validation record (best loss, its epoch,
  // epochs since) from a checkpoint of this config. Refuses a checkpoint whose counters are out of range, whose
  // tensors do not match this state or are not finite, or (under a cosine schedule) that was trained toward another
  // run length.
  void load_checkpoint(const std::string& path);
  // Trains until config.epochs epochs (or config.max_steps steps) are done, or until early stopping. Throws
  // TrainingDiverged; refuses (ValueError) a resumed run with no steps left or that stopped early, an output
  // directory in use, or one holding another run.
  void train() { train_until(total_steps()); }
  // The same, stopping (with a checkpoint) at step `until` of the run: the run's length, and with it the learning
  // rate schedule, stays that of the config.
  void train_until(int64_t until);
  // The model's metrics on the test split (evaluate_model): of the best state (best.tlc) when a validation split
  // chose one, else of the current state.
  nlohmann::json evaluate();
  // The validation loss of the current state (see ValidationConfig); requires a validation split.
  double validation_loss();
  // Writes report.json and report.md into the output directory (atomically; a failed write throws).
  void write_report(const nlohmann::json& evaluation) const;

  int64_t step() const { return step_; }
  // Wall time of each step this run took, and of its topology terms' forward, in milliseconds.
  const std::vector<double>& step_milliseconds() const { return step_ms_; }
  const std::vector<double>& topology_milliseconds() const { return topology_ms_; }
  int64_t steps_per_epoch() const;
  int64_t total_steps() const;
  const TrainConfig& config() const { return config_; }
  std::vector<Tensor> parameters() const { return family_->module().parameters(); }
  // The model and the config's data, for tools that evaluate a trained run (apps/evaluation/).
  ModelFamily& family() { return *family_; }
  // The autoencoder of an autoencoder run; ValueError for the other families.
  nn::Autoencoder& model() { return require_autoencoder(*family_, config_, "this use of the trained model"); }
  const data::Dataset& train_set() const { return train_set_; }
  const data::Dataset& test_set() const { return test_set_; }
  // The rows held out of training for the validation loss (empty without a validation split).
  const data::Dataset& validation_set() const { return validation_set_; }
  std::string checkpoint_path() const;
  std::string best_checkpoint_path() const;  // best.tlc beside checkpoint.tlc
  // The validation record: the best loss so far (infinity before the first), its epoch (0: none), epochs since it,
  // and whether training stopped early.
  double best_validation_loss() const { return best_validation_loss_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t epochs_since_best() const { return epochs_since_best_; }
  bool stopped_early() const { return stopped_early_; }
  // FNV-1a over the bytes of every parameter, buffer and optimiser moment: equal hashes, equal states.
  uint64_t state_hash();

 private:
  // What one step measured: each term's value, each phase's gradient norm (before clipping) and the wall times.
  struct StepResult {
    std::vector<std::pair<std::string, double>> values;
    std::vector<double> grad_norms;
    double step_ms = 0.0, topology_ms = 0.0;
    double communication_ms = 0.0;  // in the collectives of a data-parallel step (waiting for the others included)
    int threads = 1;                // the OpenMP team the step ran with
  };

  void build_loss_terms();
  void restore_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& path);
  void check_schedule_horizon(const nlohmann::json& meta, const std::string& path) const;
  void check_process_count(const nlohmann::json& meta, const std::string& path) const;
  void check_steps_left(int64_t until) const;
  StepResult run_step(const std::vector<int64_t>& order, int64_t epoch, std::ostream& log);
  // The losses of `phase` of the family's step on `batch`; the topology terms ramped at step_ when `ramped`, at full
  // weight otherwise. topology_ms (when given): the topology terms' time is added to it.
  // `shard`: which rows of the whole batch `batch` holds (split in a data-parallel run's steps).
  std::vector<NamedLoss> phase_losses(size_t phase, const Tensor& batch, Generator& noise, const nn::RowShard& shard,
                                      bool ramped, double* topology_ms);
  // Rank 0 writes the run's files (log, checkpoints, report); the other processes of a data-parallel run write none.
  bool writes_files() const { return group_.rank() == 0; }
  bool validating() const { return config_.validation.fraction > 0.0; }
  bool patience_ran_out() const;
  // After each epoch: the validation loss, logged; a new best is written to best.tlc.
  void validate_epoch(std::ostream& log, int64_t epoch);
  nlohmann::json validation_meta() const;
  void restore_validation_meta(const nlohmann::json& meta, const std::string& path, int64_t step);
  void copy_best_checkpoint() const;
  std::unique_ptr<ModelFamily> best_model() const;
  std::vector<std::pair<std::string, double>> checked_values(const std::vector<NamedLoss>& terms, std::ostream& log,
                                                             int64_t epoch) const;
  double backward_and_update(size_t phase, const std::vector<NamedLoss>& terms, std::ostream& log, int64_t epoch);
  void write_log_record(std::ostream& log, int64_t epoch, const StepResult& result) const;
  void flush_log(std::ostream& log) const;
  std::vector<std::pair<std::string, Tensor*>> state_tensors();
  void check_state_finite(std::ostream& log, int64_t epoch);
  void save_checkpoint(std::ostream& log, int64_t epoch);
  std::string last_checkpoint_text() const;
  // Logs and throws TrainingDiverged: "step S (epoch E): <what>; training stopped", naming the last checkpoint.
  [[noreturn]] void stop_diverged(std::ostream& log, int64_t step, int64_t epoch, const std::string& what) const;
  bool continues_in_place() const;
  void start_log() const;
  std::unique_ptr<std::ostream> open_log();
  RunSummary run_summary() const;

  TrainConfig config_;
  EarlierRun earlier_;
  ProcessGroup& group_;            // this process and the others of a data-parallel run (a group of one without mpirun)
  std::unique_ptr<RunLock> lock_;  // taken when training starts, released with the trainer (after its report)
  data::Dataset train_set_, validation_set_, test_set_;
  std::unique_ptr<ModelFamily> family_;
  std::vector<std::unique_ptr<LossTerm>> loss_terms_;  // built from config_.topology, in its order
  bool terms_need_reconstruction_ = false;             // some term reads the reconstruction batch's values
  // Per phase of the family's step: what its optimiser updates (the topology phase's also the term scalars), the
  // optimiser and its base learning rate.
  std::vector<std::vector<std::pair<std::string, Tensor*>>> trained_;
  std::vector<std::unique_ptr<nn::Optimizer>> optimizers_;
  std::vector<float> base_lr_;
  int64_t step_ = 0;
  std::string resumed_from_;  // the checkpoint this run resumed from; empty for a fresh run
  std::string last_checkpoint_path_;
  int64_t last_checkpoint_step_ = -1;
  std::vector<double> step_ms_, topology_ms_;
  std::vector<std::pair<std::string, double>> epoch_means_;  // mean of each term over the last (partial) epoch
  double wall_seconds_ = 0.0;
  int threads_per_process_ = 0;              // OpenMP threads this process trained with (0: it has not trained)
  std::optional<ThreadTuner> thread_tuner_;  // the team of each step, when it is left to the trainer
  int64_t single_thread_steps_ = 0;          // this run's steps the tuner ran on one thread (not checkpointed)
  double best_validation_loss_;              // infinity until the first validation
  int64_t best_epoch_ = 0, epochs_since_best_ = 0;
  bool stopped_early_ = false;
};

}  // namespace tl::train
