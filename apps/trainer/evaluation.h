// Evaluation of a trained run on the test split for report.json. An autoencoder: reconstruction and KL per sample,
// leave-one-out k-NN label accuracy in the latent and the input space, and the distance between the input's and the
// latent's persistence diagrams (each scaled by its cloud's diameter). A GAN or a diffusion model: the distance
// between the persistence diagrams of test points and of as many generated samples (the family's first sampler), in
// the data's units, and their bar counts. tl_evaluate (apps/evaluation/) computes the full metric groups.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "apps/trainer/config.h"
#include "apps/trainer/model_family.h"
#include "nn/data/dataset.h"

namespace tl::train {

// Leave-one-out k-NN label accuracy of the rows of `points` (brute force over a small evaluation sample); ties
// in distance go to the lower row, ties in votes to the lower label.
double knn_accuracy(const Tensor& points, const std::vector<int32_t>& labels, int k);

// The metrics of `model` on `test_set`, by name (the "test" section of report.json). Leaves the model in training
// mode.
nlohmann::json evaluate_model(ModelFamily& model, const data::Dataset& test_set, const TrainConfig& config);

}  // namespace tl::train
