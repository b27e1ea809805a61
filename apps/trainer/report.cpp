// report.json and report.md of a training run, each written atomically (a failed write throws naming the file).
#include "apps/trainer/report.h"

#include <sstream>
#include <string>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/progress.h"

namespace tl::train {
namespace {

using nlohmann::json;

json report_json(const TrainConfig& config, const RunSummary& run, const json& evaluation) {
  json train = {{"steps", run.steps},
                {"epochs_completed", static_cast<double>(run.steps) / static_cast<double>(run.steps_per_epoch)},
                {"median_step_ms", median(run.step_ms)},
                {"median_topology_ms", median(run.topology_ms)},
                {"wall_seconds_this_run", run.wall_seconds},
                {"processes", run.processes}};
  if (run.threads_per_process > 0) train["threads_per_process"] = run.threads_per_process;
  if (run.threads_per_process > 1) train["single_thread_steps_this_run"] = run.single_thread_steps;
  for (const auto& [name, value] : run.last_epoch_means) train["last_epoch_mean"][name] = value;
  json report = {{"config", config.source},
                 {"device", device_name(config.device)},
                 {"model_parameters", run.model_parameters},
                 {"evaluation_threads", run.evaluation_threads},
                 {"train", train},
                 {"test", evaluation}};
  if (run.validation) {
    const bool best = run.best_epoch > 0;
    report["best_epoch"] = best ? json(run.best_epoch) : json();
    report["evaluated"] = best ? "best.tlc" : "final";
    report["validation"] = {{"samples", run.validation_samples},
                            {"best_loss", best ? json(run.best_validation_loss) : json()},
                            {"epochs_since_best", run.epochs_since_best},
                            {"patience", config.validation.patience},
                            {"stopped_early", run.stopped_early}};
  }
  return report;
}

void write_markdown(std::ostream& md, const TrainConfig& config, const RunSummary& run, const json& evaluation) {
  md << "# topolatent training report\n\n";
  md << "Model `" << config.model_name << "` (family " << family_name(config.family) << ", " << run.model_parameters
     << " parameters), data `" << run.data_name << "` (" << run.train_samples << " training, " << run.test_samples
     << " test samples), device " << device_name(config.device) << ", seed " << config.seed << ".\n\n";
  if (run.validation) {
    md << run.validation_samples << " training rows held out for validation; ";
    if (run.best_epoch > 0)
      md << "best validation loss " << run.best_validation_loss << " at epoch " << run.best_epoch
         << (run.stopped_early ? " (stopped early)" : "") << ": the test metrics are of that state (best.tlc).\n\n";
    else
      md << "no epoch was validated yet: the test metrics are of the final state.\n\n";
  }
  md << "## Training\n\n| quantity | value |\n| --- | --- |\n";
  md << "| steps | " << run.steps << " |\n";
  if (run.threads_per_process > 0)
    md << "| processes x OpenMP threads | " << run.processes << " x " << run.threads_per_process
       << (run.single_thread_steps > 0 ? " (" + std::to_string(run.single_thread_steps) +
                                             " of this run's steps on one thread: the thread tuner)"
                                       : std::string())
       << " |\n";
  md << "| median step (ms) | " << median(run.step_ms) << " |\n"
     << "| median topology forward (ms) | " << median(run.topology_ms) << " |\n";
  for (const auto& [name, value] : run.last_epoch_means) md << "| last-epoch mean " << name << " | " << value << " |\n";
  md << "\n## Test set\n\n| metric | value |\n| --- | --- |\n";
  for (const auto& [key, value] : evaluation.items()) md << "| " << key << " | " << value.dump() << " |\n";
  if (config.family == Family::Autoencoder) {
    md << "\nMetric notes: reconstruction_per_sample is the training reconstruction loss summed over one sample's "
          "features, a VAE decoding its posterior mean (a sampled code scores a few nats higher); knn_accuracy_* is "
          "leave-one-out "
       << config.evaluation.knn
       << "-NN label accuracy in the latent and the input space; h*_w1_scaled is the 1-Wasserstein distance between "
          "the input's and the latent's diagrams, each divided by its cloud's diameter.\n";
  } else {
    md << "\nMetric notes: h*_w1 is the 1-Wasserstein distance between the diagrams of the first "
       << evaluation.value("topology_samples", 0)
       << " test points and of as many generated samples, in the data's units; h*_bars_* count their finite bars. "
          "tl_evaluate scores the samples further (Frechet distance, precision / recall, Betti numbers).\n";
  }
  md << "\nConfig:\n\n```json\n" << config.source.dump(2) << "\n```\n";
}

}  // namespace

void write_report(const TrainConfig& config, const RunSummary& run, const json& evaluation) {
  write_file_atomically(config.output + "/report.json", report_json(config, run, evaluation).dump(2) + "\n");
  std::ostringstream md;
  write_markdown(md, config, run, evaluation);
  write_file_atomically(config.output + "/report.md", md.str());
}

}  // namespace tl::train
