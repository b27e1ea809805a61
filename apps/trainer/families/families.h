// The constructors of the model families, one per file of apps/trainer/families/, for make_model_family.
#pragma once

#include <functional>
#include <memory>

#include "apps/trainer/model_family.h"

namespace tl::train {

std::unique_ptr<ModelFamily> make_autoencoder_family(const TrainConfig& config, Generator& init);
std::unique_ptr<ModelFamily> make_gan_family(const TrainConfig& config, Generator& init);
std::unique_ptr<ModelFamily> make_diffusion_family(const TrainConfig& config, Generator& init);

// Puts a module in evaluation mode for its lifetime, then back in the mode it had (also when sampling throws).
class EvalMode {
 public:
  explicit EvalMode(nn::Module& module) : module_(module), training_(module.training()) { module_.eval(); }
  ~EvalMode() { module_.train(training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& module_;
  bool training_;
};

// `n` rows made by `generate(count)` in passes of at most `chunk` rows, concatenated on the CPU in order.
Tensor generate_in_chunks(int64_t n, int64_t chunk, const std::function<Tensor(int64_t count)>& generate);

}  // namespace tl::train
