// make_model_family and what the families share.
#include "apps/trainer/model_family.h"

#include "apps/trainer/families/families.h"

#include <algorithm>

#include "core/ops.h"

namespace tl::train {

Tensor ModelFamily::sample(const std::string& sampler, int64_t, Generator&) {
  TL_FAIL(ValueError, "sampler '", sampler, "' is not one of this model's samplers");
}

Tensor generate_in_chunks(int64_t n, int64_t chunk, const std::function<Tensor(int64_t count)>& generate) {
  TL_CHECK_AS(ValueError, n > 0, "the number of samples to generate must be positive, got ", n);
  std::vector<Tensor> parts;
  for (int64_t first = 0; first < n; first += chunk)
    parts.push_back(generate(std::min(chunk, n - first)).to(Device::CPU));
  return parts.size() == 1 ? parts.front() : concat(parts, 0);
}

std::unique_ptr<ModelFamily> make_model_family(const TrainConfig& config, Generator& init) {
  switch (config.family) {
    case Family::Gan:
      return make_gan_family(config, init);
    case Family::Diffusion:
      return make_diffusion_family(config, init);
    default:
      return make_autoencoder_family(config, init);
  }
}

nn::Autoencoder& require_autoencoder(ModelFamily& family, const TrainConfig& config, const std::string& what) {
  nn::Autoencoder* model = family.autoencoder();
  TL_CHECK_AS(ValueError, model != nullptr, what, " needs an encoder; a run of family \"", family_name(config.family),
              "\" has none");
  return *model;
}

}  // namespace tl::train
