// tl_evaluate: measures a run trained by tl_train with the seed papers' metrics (apps/evaluation/), writing
// evaluation.json and evaluation.md, and exports its codes or generated samples as .npy files.
//
//   tl_evaluate CHECKPOINT [key.path=value ...] [--classifier runs/lenet/lenet.tlc] [--groups LIST | --skip LIST]
//               [--split test] [--limit N] [--out DIR] [--export-latents FILE.npy] [--export-samples FILE.npy]
//   exit 0: done, 1: error
#include <algorithm>
#include <cstdio>
#include <map>

#include "apps/cli/cli.h"
#include "apps/evaluation/evaluator.h"
#include "apps/trainer/checkpoint.h"

namespace {

using tl::eval::MetricGroup;
using tl::eval::Sampler;

template <class Kind>
std::map<std::string, Kind> names_of(const std::vector<Kind>& kinds, const char* (*name)(Kind)) {
  std::map<std::string, Kind> names;
  for (Kind kind : kinds) names.emplace(name(kind), kind);
  return names;
}

// The groups named by --groups (or every group), less those named by --skip, in report order.
std::vector<MetricGroup> chosen_groups(const std::vector<std::string>& groups, const std::vector<std::string>& skip) {
  const auto names = names_of(tl::eval::all_groups(), tl::eval::group_name);
  std::vector<MetricGroup> chosen;
  for (MetricGroup group : tl::eval::all_groups()) {
    const std::string name = tl::eval::group_name(group);
    const bool asked = groups.empty() || std::find(groups.begin(), groups.end(), name) != groups.end();
    if (asked && std::find(skip.begin(), skip.end(), name) == skip.end()) chosen.push_back(group);
  }
  return chosen;
}

std::vector<std::string> keys_of(const std::map<std::string, MetricGroup>& names, const char* extra) {
  std::vector<std::string> keys{extra};
  for (const auto& [name, group] : names) keys.push_back(name);
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Evaluates a tl_train checkpoint: reconstruction, generation, topology, interpolation, robustness, "
      "embedding and cost metrics into evaluation.json and evaluation.md.",
      "tl_evaluate"};
  tl::cli::ConfigArguments args;
  tl::eval::EvaluationOptions options;
  std::string classifier, out, latents_path, samples_path, split = "test";
  std::vector<std::string> groups, skip, samplers;
  int64_t sample_count = 10000;
  bool quiet = false, no_plots = false;
  const auto group_names = names_of(tl::eval::all_groups(), tl::eval::group_name);
  const auto sampler_names = names_of(tl::eval::all_samplers(), tl::eval::sampler_name);
  tl::cli::add_config_arguments(app, args,
                                "the checkpoint (checkpoint.tlc of a run), then overrides of its stored "
                                "config (data.path=DIR, device=cpu, ...)");
  app.add_option("--classifier", classifier,
                 "tl_classify's lenet.tlc: the feature space of the generation "
                 "metrics and the labels (default: the data space, no label metrics)");
  app.add_option("--split", split, "the evaluated split")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  app.add_option("--limit", options.limit, "evaluate the split's first N points (0: all)")->check(tl::cli::at_least(0));
  app.add_option("--groups", groups, "metric groups to compute (default: all; 'none' for exports only)")
      ->delimiter(',')
      ->check(CLI::IsMember(keys_of(group_names, "none")));
  app.add_option("--skip", skip, "metric groups to leave out")
      ->delimiter(',')
      ->check(CLI::IsMember(keys_of(group_names, "none")));
  std::vector<std::string> all_sampler_names;
  for (const auto& [name, sampler] : sampler_names) all_sampler_names.push_back(name);
  app.add_option(
         "--samplers", samplers,
         "samplers of generated points: gaussian, unit_ball, langevin (autoencoders), generator (GAN), ddpm, "
         "ddim (diffusion); those the model has are used (default: all of the model's; the first also feeds the "
         "topology group and --export-samples)")
      ->delimiter(',')
      ->check(CLI::IsMember(all_sampler_names));
  app.add_option("--seed", options.seed, "seed of subsets, pairs, noise and samplers")->capture_default_str();
  app.add_option("--neighbours", options.neighbours, "k of precision / recall / density / coverage")
      ->check(tl::cli::positive())
      ->capture_default_str();
  app.add_option("--two-sample-points", options.two_sample_points, "points per set of the 1-NN two-sample test")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.add_option("--topology-batch", options.topology_batch, "points per diagram")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.add_option("--topology-batches", options.topology_batches, "batches compared")
      ->check(tl::cli::positive())
      ->capture_default_str();
  app.add_option("--betti-scale", options.betti_scale, "Betti numbers at this fraction of each cloud's diameter")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--embedding-points", options.embedding_points, "points of the embedding metrics")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.add_option("--pairs", options.interpolation_pairs, "interpolation pairs")
      ->check(tl::cli::positive())
      ->capture_default_str();
  app.add_option("--path-points", options.path_points, "points per interpolation path")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.add_option("--geodesic-k", options.geodesic_neighbours, "k of the geodesic k-NN graph")
      ->check(tl::cli::positive())
      ->capture_default_str();
  app.add_option("--robustness-points", options.robustness_points, "points of the robustness group")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.add_option("--out", out, "directory of evaluation.json and evaluation.md (default: the checkpoint's)");
  app.add_option("--export-latents", latents_path,
                 "write the split's codes to FILE.npy and its labels to "
                 "FILE_labels.npy");
  app.add_option("--export-samples", samples_path, "write generated samples (the first sampler's) to FILE.npy");
  app.add_option("--samples", sample_count, "samples to export")->check(tl::cli::positive())->capture_default_str();
  app.add_flag("--quiet", quiet, "no progress lines");
  app.add_flag("--no-plots", no_plots, "no PNG pictures (latents, samples, interpolation paths)");

  const auto body = [&] {
    if (args.config.empty()) throw CLI::RequiredError("CHECKPOINT");
    options.split = split == "test" ? tl::data::Split::Test : tl::data::Split::Train;
    options.progress = !quiet;
    options.groups = std::find(groups.begin(), groups.end(), "none") != groups.end() ? std::vector<MetricGroup>{}
                                                                                     : chosen_groups(groups, skip);
    if (!samplers.empty()) {
      options.samplers.clear();
      for (const std::string& name : samplers) options.samplers.push_back(sampler_names.at(name));
    }
    tl::eval::TrainedRun run(args.config, args.overrides);
    if (!latents_path.empty()) {
      const std::string labels = tl::eval::export_latents(run, options, latents_path);
      std::printf("codes written to %s, labels to %s\n", latents_path.c_str(), labels.c_str());
    }
    if (!samples_path.empty()) {
      tl::eval::export_samples(run, options, sample_count, samples_path);
      std::printf("%lld samples written to %s\n", static_cast<long long>(sample_count), samples_path.c_str());
    }
    if (options.groups.empty()) return tl::cli::kExitOk;
    const int64_t width = tl::train::data_width(run.trainer().config());  // the trainer checked the data's width
    const tl::eval::FeatureSpace features =
        classifier.empty() ? tl::eval::FeatureSpace(width) : tl::eval::FeatureSpace(classifier, width);
    if (out.empty()) out = run.directory();
    const nlohmann::json evaluation = tl::eval::evaluate_run(run, features, options, no_plots ? "" : out);
    tl::train::write_file_atomically(out + "/evaluation.json", evaluation.dump(2) + "\n");
    tl::train::write_file_atomically(out + "/evaluation.md", tl::eval::evaluation_markdown(evaluation));
    std::printf("evaluation written to %s/evaluation.json and %s/evaluation.md\n", out.c_str(), out.c_str());
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
