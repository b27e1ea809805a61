// tl_evaluate's instrument end to end on a small trained run: every metric group writes its section; the
// reconstruction figures equal a direct computation from the model; the cost group reads the run's log; the latent
// export reads back as the model's codes with the split's labels; a classifier checkpoint gives class
// probabilities; and bad input (a checkpoint of another kind, data of the wrong width, a k beyond the set) is
// refused naming the problem.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "apps/evaluation/evaluator.h"
#include "apps/trainer/checkpoint.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "nn/data/point_cloud_io.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nlohmann::json;

// A 10-D clusters VAE with a TALSR term trained for 24 steps into `output`; returns its checkpoint's path.
std::string trained_run(const std::string& output) {
  json config = json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [16], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 640},
    "loss": {"reconstruction": "mse"},
    "topology": [{"term": "talsr", "weight": 0.1, "dims": [0, 1]}],
    "optimizer": {"type": "adam", "lr": 0.01},
    "epochs": 2, "max_steps": 24, "batch_size": 32, "seed": 3, "progress": false
  })");
  config["output"] = output;
  train::Trainer trainer(train::parse_config(config));
  trainer.train();
  return trainer.checkpoint_path();
}

eval::EvaluationOptions small_options() {
  eval::EvaluationOptions options;
  options.progress = false;
  options.two_sample_points = 40;
  options.topology_batch = 16;
  options.topology_batches = 2;
  options.interpolation_pairs = 4;
  options.path_points = 6;
  options.geodesic_graph_points = 300;
  options.robustness_points = 48;
  return options;
}

TEST_CASE("tl_evaluate's groups each write their section, reconstruction equal to a direct computation") {
  const std::string dir = scratch_directory("evaluate_groups");
  const std::string checkpoint = trained_run(dir);
  eval::TrainedRun run(checkpoint, {});
  const data::Dataset test = run.split(data::Split::Test, 0);
  const eval::FeatureSpace data_space(test.inputs.dim(1));
  const json evaluation = eval::evaluate_run(run, data_space, small_options());
  for (eval::MetricGroup group : eval::all_groups())
    CHECK_MESSAGE(evaluation.contains(eval::group_name(group)), eval::group_name(group));
  CHECK(evaluation["step"] == 24);
  CHECK(evaluation["points"] == test.size());

  // The model's posterior-mean reconstruction, summed here in double.
  NoGradGuard no_grad;
  run.trainer().model().eval();
  const std::vector<float> x = test.inputs.to_vector<float>();
  const std::vector<float> y = run.trainer().model()(test.inputs).to_vector<float>();
  double squares = 0.0;
  for (size_t i = 0; i < x.size(); ++i) squares += (double(y[i]) - double(x[i])) * (double(y[i]) - double(x[i]));
  const double mse = squares / static_cast<double>(x.size());
  const auto [low, high] = std::minmax_element(x.begin(), x.end());
  const double range = double(*high) - double(*low);
  const json& reconstruction = evaluation["reconstruction"];
  CHECK(reconstruction["mse_per_feature"].get<double>() == doctest::Approx(mse).epsilon(1e-5));
  CHECK(reconstruction["psnr_db"].get<double>() ==
        doctest::Approx(10.0 * std::log10(range * range / mse)).epsilon(1e-5));
  CHECK_FALSE(reconstruction.contains("bce_per_sample"));  // the clusters leave [0, 1]
  CHECK(reconstruction["kl_per_sample"].get<double>() > 0.0);

  // Generation in the data space: no label metrics, a floor beside each sampler.
  const json& generation = evaluation["generation"];
  CHECK(generation["points_per_set"] == test.size() / 2);
  for (const char* set : {"gaussian", "unit_ball", "langevin"}) {
    const json& scores = generation["samplers"][set];
    CHECK_MESSAGE(scores["frechet_distance"].get<double>() >= 0.0, set);
    CHECK_MESSAGE(scores["precision"].get<double>() >= 0.0, set);
    CHECK_FALSE(scores.contains("inception_score"));
  }
  CHECK(generation["real_vs_real_floor"]["frechet_distance"].get<double>() <
        generation["samplers"]["gaussian"]["frechet_distance"].get<double>());
  CHECK(evaluation["topology"]["batches"] == 2);
  CHECK(evaluation["interpolation"]["linear"]["paths"] == 4);
  CHECK(evaluation["interpolation"]["linear"]["length_ratio"].get<double>() >= 1.0 - 1e-6);
  CHECK(evaluation["robustness"]["points"] == 48);
  CHECK(evaluation["embedding"]["points"] == test.size());
  CHECK(evaluation["cost"]["steps_logged"] == 24);
  const std::string md = eval::evaluation_markdown(evaluation);
  CHECK(md.find("## generation") != std::string::npos);
  CHECK(md.find("| real vs real (floor) |") != std::string::npos);
}

TEST_CASE("the cost group reads the median step and the topology share from the run's log") {
  const std::string dir = scratch_directory("evaluate_cost");
  const std::string checkpoint = trained_run(dir);
  {
    std::ofstream log(dir + "/log.jsonl");
    log << R"({"step": 1, "model_ms": 4.0, "topology_ms": 1.0})"
        << "\n"
        << R"({"event": "resumed"})"
        << "\n"
        << R"({"step": 2, "model_ms": 6.0, "topology_ms": 3.0})"
        << "\n"
        << R"({"step": 3, "model_ms": 2.0, "topology_ms": 0.0})"
        << "\n";
  }
  eval::TrainedRun run(checkpoint, {});
  eval::EvaluationOptions options = small_options();
  options.groups = {eval::MetricGroup::Cost};
  const json cost = eval::evaluate_run(run, eval::FeatureSpace(10), options)["cost"];
  CHECK(cost["steps_logged"] == 3);
  CHECK(cost["median_step_ms"].get<double>() == doctest::Approx(5.0));  // steps of 5, 9 and 2 ms
  CHECK(cost["median_topology_ms"].get<double>() == doctest::Approx(1.0));
  CHECK(cost["topology_share"].get<double>() == doctest::Approx(4.0 / 16.0));
  std::filesystem::remove(dir + "/log.jsonl");
  const json missing = eval::evaluate_run(run, eval::FeatureSpace(10), options)["cost"];
  CHECK(missing["available"] == false);
}

TEST_CASE("exported latents read back as the model's codes, with the split's labels beside them; plots are written") {
  const std::string dir = scratch_directory("evaluate_export");
  eval::TrainedRun run(trained_run(dir), {});
  eval::EvaluationOptions options = small_options();
  options.limit = 50;
  const std::string labels_path = eval::export_latents(run, options, dir + "/codes.npy");
  CHECK(labels_path == dir + "/codes_labels.npy");
  const data::Dataset test = run.split(data::Split::Test, 50);
  NoGradGuard no_grad;
  run.trainer().model().eval();
  check_close(data::read_npy_points(dir + "/codes.npy"), run.trainer().model().encode(test.inputs), 1e-6, 1e-6,
              "exported codes");
  std::ifstream in(labels_path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 128 + 50 * 4);  // a 128-byte header, then 50 int32 labels
  CHECK(bytes.find("'descr': '<i4'") != std::string::npos);
  CHECK(bytes.find("'shape': (50,)") != std::string::npos);
  for (int i = 0; i < 50; ++i) {
    int32_t label = 0;
    std::memcpy(&label, bytes.data() + 128 + 4 * i, 4);
    CHECK(label == test.labels[i]);
  }
  eval::export_samples(run, options, 7, dir + "/samples.npy");
  CHECK(data::read_npy_points(dir + "/samples.npy").shape() == Shape{7, 10});

  // Pictures: the codes and each sampler's samples (no interpolation strip: these are not images).
  options.groups = {};
  const std::vector<std::string> plots =
      eval::evaluate_run(run, eval::FeatureSpace(10), options, dir)["plots"].get<std::vector<std::string>>();
  CHECK(plots == std::vector<std::string>{"latents.png", "samples_gaussian.png", "samples_unit_ball.png",
                                          "samples_langevin.png"});
  for (const std::string& name : plots) CHECK_MESSAGE(std::filesystem::file_size(dir + "/" + name) > 100, name);
  std::ifstream diagrams_file(dir + "/diagrams.json");
  const json diagrams = json::parse(diagrams_file);
  CHECK(diagrams["points"] == options.topology_batch);
  CHECK(diagrams["data"]["h0"].size() == static_cast<size_t>(options.topology_batch - 1));  // a spanning tree's edges
  CHECK(diagrams["latent"]["h0"].size() == static_cast<size_t>(options.topology_batch - 1));
  for (const auto& pair : diagrams["latent"]["h1"]) CHECK(pair[1].get<double>() > pair[0].get<double>());
}

TEST_CASE("a classifier checkpoint gives class probabilities; the wrong kind of file is refused by name") {
  const std::string dir = scratch_directory("evaluate_classifier");
  Generator init(5);
  nn::Classifier classifier(10, init);
  train::Checkpoint saved;
  saved.meta = {{"model", "lenet"}, {"test_accuracy", 0.5}};
  for (auto& [name, tensor] : classifier.named_parameters()) saved.tensors.emplace_back("model." + name, *tensor);
  train::write_checkpoint_atomically(dir + "/lenet.tlc", saved);

  const eval::FeatureSpace features(dir + "/lenet.tlc", 784);
  Generator draw(6);
  const Tensor images = Tensor::uniform({30, 784}, draw);
  const Tensor p = features.probabilities(images);
  REQUIRE(p.shape() == Shape{30, 10});
  const std::vector<float> values = p.to_vector<float>();
  for (int i = 0; i < 30; ++i) {
    double row = 0.0;
    for (int c = 0; c < 10; ++c) row += values[i * 10 + c];
    CHECK(row == doctest::Approx(1.0).epsilon(1e-5));
  }
  CHECK(features.features(images).shape() == Shape{30, 84});
  CHECK(error_message([&] { eval::FeatureSpace(dir + "/lenet.tlc", 10); }).find("784 features") != std::string::npos);

  const std::string run_dir = scratch_directory("evaluate_classifier_run");
  const std::string checkpoint = trained_run(run_dir);
  CHECK(error_message([&] { eval::FeatureSpace(checkpoint, 784); }).find("not a classifier saved by tl_classify") !=
        std::string::npos);
  CHECK(error_message([&] { eval::TrainedRun(dir + "/lenet.tlc", {}); }).find("not a checkpoint of tl_train") !=
        std::string::npos);
}

TEST_CASE("data of the wrong width, an empty split and a k beyond the set are refused naming the problem") {
  const std::string dir = scratch_directory("evaluate_refusals");
  const std::string checkpoint = trained_run(dir);
  CHECK(error_message([&] {
          eval::TrainedRun(checkpoint, {"data.name=torus"});
        }).find("features but the model expects") != std::string::npos);
  eval::TrainedRun run(checkpoint, {});
  CHECK(error_message([&] { run.split(data::Split::Test, -1); }).find("must not be negative") != std::string::npos);
  eval::EvaluationOptions options = small_options();
  options.limit = 1;
  CHECK(error_message([&] {
          eval::evaluate_run(run, eval::FeatureSpace(10), options);
        }).find("has 1 points; the metrics need at least 2") != std::string::npos);
  options.groups = {eval::MetricGroup::Generation};
  options.limit = 8;
  options.neighbours = 6;  // sets of 4 points
  const std::string message = error_message([&] { eval::evaluate_run(run, eval::FeatureSpace(10), options); });
  CHECK_MESSAGE(message.find("k") != std::string::npos, message);
}

}  // namespace
}  // namespace tl::testing
