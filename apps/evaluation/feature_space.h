// The space generated and real samples are compared in. With a classifier trained by tl_classify (the LeNet-style
// network of nn/models.h, fixed seed), the 84-wide penultimate features and the softmax class probabilities, as
// the Frechet distance, precision / recall and the label metrics of docs/methods.md §5 expect; without one, the
// data space itself (no class probabilities).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/tensor.h"
#include "nn/models.h"

namespace tl::eval {

class FeatureSpace {
 public:
  // The data space of samples `width` wide.
  explicit FeatureSpace(int64_t width);
  // The classifier saved by tl_classify at `path`. Refuses (ValueError, naming the file) a checkpoint that is not
  // a classifier's (a tl_train run, say), one whose tensors do not match the network, and data that is not 784 wide.
  FeatureSpace(const std::string& path, int64_t width);

  bool has_classifier() const { return classifier_ != nullptr; }
  std::string description() const { return description_; }
  // Features of [n, width] samples in the data's range: [n, 84] classifier features, or the samples themselves.
  Tensor features(const Tensor& samples) const;
  // Class probabilities [n, classes] (rows sum to 1); only with a classifier.
  Tensor probabilities(const Tensor& samples) const;
  // The most probable class of each sample; only with a classifier.
  std::vector<int32_t> predicted_labels(const Tensor& samples) const;

 private:
  std::shared_ptr<nn::Classifier> classifier_;
  std::string description_;
};

}  // namespace tl::eval
