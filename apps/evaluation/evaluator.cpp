// Loading a trained run, running the metric groups in order with their timings, the Markdown tables, exports.
#include "apps/evaluation/evaluator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "apps/evaluation/plots.h"
#include "apps/trainer/checkpoint.h"
#include "nn/data/point_cloud_io.h"

namespace tl::eval {
namespace {

using nlohmann::json;

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

const std::vector<std::pair<MetricGroup, json (*)(const EvaluationContext&)>>& group_functions() {
  static const std::vector<std::pair<MetricGroup, json (*)(const EvaluationContext&)>> functions{
      {MetricGroup::Reconstruction, reconstruction_group},
      {MetricGroup::Generation, generation_group},
      {MetricGroup::Topology, topology_group},
      {MetricGroup::Interpolation, interpolation_group},
      {MetricGroup::Robustness, robustness_group},
      {MetricGroup::Embedding, embedding_group},
      {MetricGroup::Cost, cost_group}};
  return functions;
}

// The stored config of a tl_train checkpoint with the overrides applied.
train::TrainConfig stored_config(const std::string& path, const std::vector<std::string>& overrides) {
  const train::Checkpoint checkpoint = train::read_checkpoint(path);
  const std::string model = checkpoint.meta.value("model", std::string());
  TL_CHECK_AS(ValueError, checkpoint.meta.contains("config") && checkpoint.meta["config"].is_object(), "'", path,
              "' is not a checkpoint of tl_train (its header has no config",
              model.empty() ? "" : "; it holds a '" + model + "' model: pass a classifier as --classifier", ")");
  json document = checkpoint.meta["config"];
  for (const std::string& assignment : overrides) train::apply_override(document, assignment);
  document["progress"] = false;
  return train::parse_config(document);
}

// Rows "| key | value |" of a section, nested keys joined by dots.
void flat_rows(std::ostream& md, const json& section, const std::string& prefix) {
  for (const auto& [key, value] : section.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      flat_rows(md, value, name);
    } else if (!value.is_array()) {  // per-k lists stay in evaluation.json
      md << "| " << name << " | " << (value.is_number_float() ? format_number(value.get<double>()) : value.dump())
         << " |\n";
    }
  }
}

// The generation section as one row per compared set (the real-vs-real floor, then each sampler).
void generation_table(std::ostream& md, const json& section) {
  std::vector<std::pair<std::string, json>> rows{{"real vs real (floor)", section["real_vs_real_floor"]}};
  const json samplers = section.value("samplers", json::object());
  for (const auto& [name, scores] : samplers.items()) rows.emplace_back(name, scores);
  md << "Feature space: " << section["feature_space"].get<std::string>() << "; " << section["points_per_set"]
     << " points per set.\n\n| set |";
  std::vector<std::string> columns;
  for (const auto& [key, value] : rows.front().second.items())
    if (value.is_number()) columns.push_back(key);
  for (const std::string& c : columns) md << " " << c << " |";
  md << "\n| --- |";
  for (size_t c = 0; c < columns.size(); ++c) md << " --- |";
  md << "\n";
  for (const auto& [name, scores] : rows) {
    md << "| " << name << " |";
    for (const std::string& c : columns) md << " " << format_number(scores.value(c, 0.0)) << " |";
    md << "\n";
  }
}

// A topology comparison as one row per degree: each metric's "mean ± std" over the batches.
void comparison_table(std::ostream& md, const std::string& title, const json& comparison, const std::string& a,
                      const std::string& b) {
  const std::vector<std::string> kMetrics{
      "w1", "w2", "bottleneck", "betti_" + a, "betti_" + b, "betti_curve_l2", "topological_accuracy"};
  md << "\n"
     << title << " (" << comparison["batches"] << " batches, " << comparison["scale"].get<std::string>() << " scale";
  if (comparison.contains("sampler")) md << ", sampler " << comparison["sampler"].get<std::string>();
  md << ")\n\n| degree |";
  for (const std::string& metric : kMetrics) md << " " << metric << " |";
  md << "\n| --- |";
  for (size_t i = 0; i < kMetrics.size(); ++i) md << " --- |";
  md << "\n";
  for (int degree = 0; comparison.contains("h" + std::to_string(degree) + "_w1_mean"); ++degree) {
    const std::string prefix = "h" + std::to_string(degree) + "_";
    md << "| H" << degree << " |";
    for (const std::string& metric : kMetrics)
      md << " " << format_number(comparison[prefix + metric + "_mean"].get<double>()) << " ± "
         << format_number(comparison[prefix + metric + "_std"].get<double>()) << " |";
    md << "\n";
  }
}

void topology_tables(std::ostream& md, const json& section) {
  md << section["batch_points"]
     << " points per batch; diagram distances W_1, W_2, bottleneck (L_inf), Betti numbers "
        "at "
     << format_number(section["real_vs_real_floor"]["betti_scale"].get<double>())
     << " of each cloud's diameter, Betti-curve L2 distance and topological accuracy (mean ± std over batches).\n";
  if (section.contains("data_vs_latent"))
    comparison_table(md, "Data vs latent", section["data_vs_latent"], "data", "latent");
  comparison_table(md, "Real vs real (floor)", section["real_vs_real_floor"], "real", "other_real");
  if (section.contains("real_vs_generated"))
    comparison_table(md, "Real vs generated", section["real_vs_generated"], "real", "generated");
}

}  // namespace

TrainedRun::TrainedRun(const std::string& checkpoint, const std::vector<std::string>& overrides)
    : checkpoint_(checkpoint), trainer_(std::make_unique<train::Trainer>(stored_config(checkpoint, overrides))) {
  trainer_->load_checkpoint(checkpoint);
}

std::string TrainedRun::directory() const {
  const std::filesystem::path parent = std::filesystem::path(checkpoint_).parent_path();
  return parent.empty() ? "." : parent.string();
}

data::Dataset TrainedRun::split(data::Split split, int64_t limit) const {
  const data::Dataset& whole = split == data::Split::Test ? trainer_->test_set() : trainer_->train_set();
  const char* name = split == data::Split::Test ? "test" : "training";
  TL_CHECK_AS(ValueError, whole.size() > 0, "the ", name, " split of '", whole.name, "' is empty");
  TL_CHECK_AS(ValueError, limit >= 0, "the point limit must not be negative, got ", limit);
  if (limit == 0 || limit >= whole.size()) return whole;
  std::vector<int64_t> rows(static_cast<size_t>(limit));
  for (int64_t i = 0; i < limit; ++i) rows[i] = i;
  return {
      whole.name, data::gather_rows(whole, rows, Device::CPU), {whole.labels.begin(), whole.labels.begin() + limit}};
}

json evaluate_run(TrainedRun& run, const FeatureSpace& features, const EvaluationOptions& options,
                  const std::string& plots_directory) {
  train::Trainer& trainer = run.trainer();
  const EvaluationContext context(trainer.family(), trainer.config(), run.split(options.split, options.limit),
                                  trainer.train_set(), features, options, run.directory());
  json result = {{"checkpoint", run.checkpoint()},
                 {"step", trainer.step()},
                 {"family", train::family_name(trainer.config().family)},
                 {"model", trainer.config().model_name},
                 {"data", context.data().name},
                 {"split", options.split == data::Split::Test ? "test" : "train"},
                 {"points", context.data().size()},
                 {"seed", options.seed},
                 {"device", device_name(trainer.config().device)}};
  for (const auto& [group, function] : group_functions()) {
    if (std::find(options.groups.begin(), options.groups.end(), group) == options.groups.end()) continue;
    if (needs_encoder(group) && !context.has_encoder()) {
      result["not_applicable"].push_back(group_name(group));
      continue;
    }
    context.note(group_name(group), "started");
    const auto start = std::chrono::steady_clock::now();
    result[group_name(group)] = function(context);
    result["seconds"][group_name(group)] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (!plots_directory.empty()) {  // the same context: training codes and the geodesic graph are reused
    write_diagrams_json(context, plots_directory);
    result["plots"] = write_plots(context, plots_directory);
  }
  return result;
}

std::string evaluation_markdown(const json& evaluation) {
  std::ostringstream md;
  md << "# topolatent evaluation\n\nCheckpoint `" << evaluation["checkpoint"].get<std::string>() << "` (step "
     << evaluation["step"] << "), model `" << evaluation["model"].get<std::string>() << "` (family "
     << evaluation.value("family", "autoencoder") << "), " << evaluation["points"] << " points of the "
     << evaluation["split"].get<std::string>() << " split of `" << evaluation["data"].get<std::string>() << "`, seed "
     << evaluation["seed"] << ".\n";
  if (evaluation.contains("not_applicable")) {
    md << "\nNot applicable to this model (no encoder):";
    for (const auto& name : evaluation["not_applicable"]) md << " " << name.get<std::string>();
    md << ".\n";
  }
  for (MetricGroup group : all_groups()) {
    const char* name = group_name(group);
    if (!evaluation.contains(name)) continue;
    md << "\n## " << name << " (" << format_number(evaluation["seconds"][name].get<double>()) << " s)\n\n";
    if (group == MetricGroup::Generation) {
      generation_table(md, evaluation[name]);
    } else if (group == MetricGroup::Topology) {
      topology_tables(md, evaluation[name]);
    } else {
      md << "| metric | value |\n| --- | --- |\n";
      flat_rows(md, evaluation[name], "");
    }
  }
  if (evaluation.contains("plots")) {
    md << "\n## pictures\n\n";
    for (const auto& file : evaluation["plots"])
      md << "![" << file.get<std::string>() << "](" << file.get<std::string>() << ")\n\n";
  }
  md << "\nEach metric's definition and source: README.md (Evaluation) and apps/evaluation/*.h.\n";
  return md.str();
}

// `body` with a context of the run's split in the data space; the model is back in training mode afterwards.
template <class Body>
auto with_data_space_context(TrainedRun& run, const EvaluationOptions& options, Body body) {
  const data::Dataset split = run.split(options.split, options.limit);
  const FeatureSpace data_space(split.inputs.dim(1));
  const EvaluationContext context(run.trainer().family(), run.trainer().config(), split, run.trainer().train_set(),
                                  data_space, options, run.directory());
  return body(context);
}

std::string export_latents(TrainedRun& run, const EvaluationOptions& options, const std::string& path) {
  std::string labels = path;
  if (labels.size() > 4 && labels.compare(labels.size() - 4, 4, ".npy") == 0) labels.resize(labels.size() - 4);
  labels += "_labels.npy";
  train::require_autoencoder(run.trainer().family(), run.trainer().config(), "--export-latents");
  return with_data_space_context(run, options, [&](const EvaluationContext& context) {
    data::write_npy_points(path, context.encode(context.data().inputs));
    data::write_npy_labels(labels, context.data().labels);
    return labels;
  });
}

void export_samples(TrainedRun& run, const EvaluationOptions& options, int64_t count, const std::string& path) {
  TL_CHECK_AS(ValueError, count > 0, "the number of samples to export must be positive, got ", count);
  with_data_space_context(run, options, [&](const EvaluationContext& context) {
    data::write_npy_points(path, generated_samples(context, context.samplers().front(), count));
    return 0;
  });
}

}  // namespace tl::eval
