// tl_classify: trains the LeNet-style classifier (nn/models.h) on an IDX data set, reports its test accuracy and
// saves it (the feature extractor of the evaluation metrics), as a checkpoint tl_train's format can read back.
// A batch larger than the training set is refused; a NaN or infinite loss or weight stops it without saving.
//
// For a directory that holds one file set (MNIST's t10k alone), --split-from names it and a seeded share of its
// rows, drawn as tl_train's data.split_from / test_fraction / split_seed draw it, is the test split.
//
//   tl_classify DATA_DIR [--epochs 2] [--batch 64] [--lr 0.001] [--seed 0] [--out runs/lenet]
//               [--split-from train|t10k [--test-fraction 0.1] [--split-seed 0]]
//   exit 0: saved, 1: error, 3: training diverged
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>

#include "apps/cli/cli.h"
#include "apps/trainer/checkpoint.h"
#include "apps/trainer/trainer.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "nn/data/dataset.h"
#include "nn/models.h"
#include "nn/optim.h"

namespace {

double accuracy(tl::nn::Classifier& model, const tl::data::Dataset& data) {
  tl::NoGradGuard no_grad;
  int64_t correct = 0;
  for (int64_t start = 0; start < data.size(); start += 1000) {
    std::vector<int64_t> rows;
    for (int64_t r = start; r < std::min(data.size(), start + 1000); ++r) rows.push_back(r);
    const std::vector<float> logits = model(tl::data::gather_rows(data, rows, tl::Device::CPU)).to_vector<float>();
    const int64_t classes = static_cast<int64_t>(logits.size() / rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto row = logits.begin() + static_cast<std::ptrdiff_t>(i * classes);
      correct += std::max_element(row, row + classes) - row == data.labels[rows[i]];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

// One epoch of Adam steps over `batch`-sized batches of a shuffle; returns the mean cross-entropy. Throws
// TrainingDiverged on a loss that is not finite.
double train_epoch(tl::nn::Classifier& model, tl::nn::Optimizer& optimizer, const tl::data::Dataset& train,
                   uint64_t seed, int64_t epoch, int64_t batch) {
  const std::vector<int64_t> order = tl::data::epoch_permutation(train.size(), seed, epoch);
  double loss_sum = 0.0;
  const int64_t batches = train.size() / batch;
  for (int64_t b = 0; b < batches; ++b) {
    const std::vector<int64_t> rows(order.begin() + b * batch, order.begin() + (b + 1) * batch);
    std::vector<int32_t> labels;
    for (int64_t r : rows) labels.push_back(train.labels[r]);
    const tl::Tensor loss = tl::cross_entropy(model(tl::data::gather_rows(train, rows, tl::Device::CPU)),
                                              tl::Tensor::from_vector(labels, {batch}));
    const double value = loss.item();
    if (!std::isfinite(value)) {
      throw tl::train::TrainingDiverged("epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) +
                                        ": the cross-entropy is " + std::to_string(value) +
                                        "; training stopped, nothing saved (try a smaller --lr)");
    }
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_sum += value;
  }
  return loss_sum / static_cast<double>(batches);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the LeNet-style classifier on an IDX data set and saves it with its test accuracy.",
               "tl_classify"};
  std::string data_dir, out = "runs/lenet";
  int64_t epochs = 2, batch = 64;
  float lr = 1e-3f;
  uint64_t seed = 0;
  app.add_option("DATA_DIR", data_dir, "directory of MNIST-style IDX files (train and t10k)")->required();
  app.add_option("--epochs", epochs, "training epochs")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", seed, "initialisation and shuffle seed")->capture_default_str();
  app.add_option("--out", out, "output directory of lenet.tlc")->capture_default_str();
  std::string split_from;
  double test_fraction = 0.1;
  uint64_t split_seed = 0;
  app.add_option("--split-from", split_from, "train or t10k: split this one file set into training and test rows")
      ->check(CLI::IsMember({"train", "t10k"}));
  const auto* fraction_option =
      app.add_option("--test-fraction", test_fraction, "with --split-from: the share of rows held out for the test")
          ->check(CLI::Range(0.0, 1.0))
          ->capture_default_str();
  const auto* split_seed_option =
      app.add_option("--split-seed", split_seed, "with --split-from: the seed of the held-out rows")
          ->capture_default_str();

  const auto body = [&] {
    TL_CHECK_AS(ValueError, !split_from.empty() || (fraction_option->count() == 0 && split_seed_option->count() == 0),
                "--test-fraction and --split-seed need --split-from (without it the t10k files are the test split)");
    TL_CHECK_AS(ValueError, test_fraction > 0.0 && test_fraction < 1.0, "--test-fraction must lie in (0, 1), got ",
                test_fraction);
    tl::data::Dataset train, test;
    if (split_from.empty()) {
      train = tl::data::load_idx_dataset(data_dir, tl::data::Split::Train);
      test = tl::data::load_idx_dataset(data_dir, tl::data::Split::Test);
    } else {
      const tl::data::Dataset whole =
          tl::data::load_idx_dataset(data_dir, split_from == "train" ? tl::data::Split::Train : tl::data::Split::Test);
      std::tie(train, test) = tl::data::split_test_rows(whole, test_fraction, split_seed);
    }
    TL_CHECK_AS(ValueError, batch <= train.size(), "--batch ", batch, " exceeds the ", train.size(),
                " training images of '", data_dir, "'");
    tl::Generator init(seed);
    tl::nn::Classifier model(10, init);
    tl::nn::OptimizerOptions options;
    options.lr = lr;
    tl::nn::Optimizer optimizer(model.named_parameters(), options);
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      const double mean_loss = train_epoch(model, optimizer, train, seed, epoch, batch);
      std::fprintf(stderr, "epoch %lld: mean cross-entropy %.4f\n", static_cast<long long>(epoch + 1), mean_loss);
    }
    for (auto& [name, tensor] : model.named_parameters()) {
      if (!tl::train::all_finite(*tensor))
        throw tl::train::TrainingDiverged("weight '" + name + "' is not finite after training; nothing saved");
    }
    const double test_accuracy = accuracy(model, test);
    tl::train::Checkpoint checkpoint;
    checkpoint.meta = {{"model", "lenet"}, {"data", data_dir}, {"split_from", split_from},
                       {"epochs", epochs}, {"seed", seed},     {"test_accuracy", test_accuracy}};
    for (auto& [name, tensor] : model.named_parameters()) checkpoint.tensors.emplace_back("model." + name, *tensor);
    tl::train::write_checkpoint_atomically(out + "/lenet.tlc", checkpoint);
    std::printf("test accuracy %.4f (%lld images); classifier saved to %s/lenet.tlc\n", test_accuracy,
                static_cast<long long>(test.size()), out.c_str());
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body,
                           {tl::cli::exit_on<tl::train::TrainingDiverged>(3, "training diverged")});
}
