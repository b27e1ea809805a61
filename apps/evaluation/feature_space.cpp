// Loading tl_classify's classifier and running it in batches for the generation and interpolation metrics.
#include "apps/evaluation/feature_space.h"

#include <algorithm>
#include <map>

#include "apps/trainer/checkpoint.h"
#include "core/autograd.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr int64_t kClassifierBatch = 1000;
constexpr int64_t kImageWidth = 28 * 28;
constexpr int64_t kClasses = 10;

// `run` applied to row blocks of `samples`, the results stacked again.
Tensor in_batches(const Tensor& samples, const std::function<Tensor(const Tensor&)>& run) {
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < samples.dim(0); start += kClassifierBatch)
    parts.push_back(run(slice(samples, 0, start, std::min(samples.dim(0), start + kClassifierBatch))));
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace

FeatureSpace::FeatureSpace(int64_t width) : description_("the data space (" + std::to_string(width) + " features)") {}

FeatureSpace::FeatureSpace(const std::string& path, int64_t width) {
  const train::Checkpoint checkpoint = train::read_checkpoint(path);
  TL_CHECK_AS(ValueError, checkpoint.meta.value("model", std::string()) == "lenet", "'", path,
              "' is not a classifier saved by tl_classify",
              checkpoint.meta.contains("config") ? " (it holds a tl_train run: pass that as the checkpoint)" : "");
  TL_CHECK_AS(ValueError, width == kImageWidth, "the classifier '", path, "' reads 28 x 28 images (784 features); ",
              "the evaluated data has ", width, " features (leave out --classifier to compare in the data space)");
  Generator unused(0);
  classifier_ = std::make_shared<nn::Classifier>(kClasses, unused);
  std::map<std::string, const Tensor*> stored;
  for (const auto& [name, tensor] : checkpoint.tensors) stored.emplace(name, &tensor);
  const auto parameters = classifier_->named_parameters();
  TL_CHECK_AS(ValueError, stored.size() == parameters.size(), "'", path, "' holds ", stored.size(),
              " tensors; the classifier has ", parameters.size());
  for (const auto& [name, tensor] : parameters) {
    const auto found = stored.find("model." + name);
    TL_CHECK_AS(ValueError, found != stored.end() && found->second->shape() == tensor->shape(), "'", path,
                "' has no tensor 'model.", name, "' of shape ", shape_str(tensor->shape()));
    *tensor = *found->second;
  }
  classifier_->eval();
  description_ = "the features of the classifier '" + path + "' (test accuracy " +
                 checkpoint.meta.value("test_accuracy", nlohmann::json()).dump() + ")";
}

Tensor FeatureSpace::features(const Tensor& samples) const {
  if (!classifier_) return samples;
  return in_batches(samples, [&](const Tensor& block) { return classifier_->features(block); });
}

Tensor FeatureSpace::probabilities(const Tensor& samples) const {
  TL_CHECK(classifier_ != nullptr, "class probabilities need a classifier");
  return in_batches(samples, [&](const Tensor& block) { return exp(log_softmax((*classifier_)(block))); });
}

std::vector<int32_t> FeatureSpace::predicted_labels(const Tensor& samples) const {
  const Tensor p = probabilities(samples);
  const std::vector<float> values = p.to_vector<float>();
  const int64_t classes = p.dim(1);
  std::vector<int32_t> labels(static_cast<size_t>(p.dim(0)));
  for (int64_t i = 0; i < p.dim(0); ++i) {
    const auto row = values.begin() + i * classes;
    labels[i] = static_cast<int32_t>(std::max_element(row, row + classes) - row);
  }
  return labels;
}

}  // namespace tl::eval
