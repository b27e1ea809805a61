// The report of a training run: report.json (the config, the training summary, the test metrics) and report.md
// (the same as tables, with notes on the metrics), written into the run's output directory.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/trainer/config.h"

namespace tl::train {

// What the report says about the run beside its config and its test metrics.
struct RunSummary {
  int64_t model_parameters = 0;
  std::string data_name;
  int64_t train_samples = 0, test_samples = 0;
  // With a validation split: its rows, the best epoch (0: none yet; the evaluation is of its state, best.tlc), the
  // best loss, epochs since, and whether training stopped early.
  bool validation = false;
  int64_t validation_samples = 0;
  int64_t best_epoch = 0, epochs_since_best = 0;
  double best_validation_loss = 0.0;
  bool stopped_early = false;
  int64_t steps = 0;
  int64_t steps_per_epoch = 1;
  std::vector<double> step_ms, topology_ms;  // each step of this run, and its topology terms' forward
  double wall_seconds = 0.0;                 // of this run's training
  // The processes that trained (mpirun -np), each one's OpenMP threads while training (0: this run did not train;
  // left out of the report), and the threads of the evaluation (rank 0 alone, with every core it sees).
  int processes = 1, threads_per_process = 0, evaluation_threads = 1;
  int64_t single_thread_steps = 0;  // of this run's steps, those the thread tuner ran on one thread (thread_tuner.h)
  std::vector<std::pair<std::string, double>> last_epoch_means;  // each loss term over the last (partial) epoch
};

// Writes report.json and report.md into config.output, each atomically (write_file_atomically: a failed write
// throws naming the file and leaves the old one); `evaluation` is evaluate_model's result.
void write_report(const TrainConfig& config, const RunSummary& run, const nlohmann::json& evaluation);

}  // namespace tl::train
