// Autoencoder and VAE assembly from AutoencoderSpec (MLP or convolutional), and the presets of the architectures in
// docs/methods.md §3.
#include "nn/models.h"

#include "core/ops.h"

namespace tl::nn {

AutoencoderSpec autoencoder_preset(const std::string& name) {
  AutoencoderSpec spec;
  if (name == "reference_vae") return spec;
  if (name == "mlp_vae" || name == "mlp_ae") {
    spec.hidden = {512, 256};
    spec.latent = 10;
    spec.variational = name == "mlp_vae";
    return spec;
  }
  if (name == "homological_ae") {
    spec.hidden = {64, 64};
    spec.latent = 2;
    spec.activation = ActivationKind::Elu;
    spec.variational = false;
    return spec;
  }
  if (name == "spheres_ae") {
    spec.input = 101;
    spec.hidden = {32, 32};
    spec.latent = 2;
    spec.variational = false;
    spec.batch_norm = true;
    return spec;
  }
  if (name == "topogen_conv_vae") {
    spec.architecture = Architecture::ConvMnist;
    spec.hidden = {256};
    spec.latent = 10;
    return spec;
  }
  TL_FAIL(ValueError, "unknown model '", name,
          "' (expected reference_vae, mlp_vae, mlp_ae, homological_ae, spheres_ae or topogen_conv_vae)");
}

namespace {

// TopoGen's convolutional encoder trunk and decoder for flattened 28 x 28 images.
constexpr int64_t kConvSide = 28, kConvFeatures = 64 * 7 * 7;

std::shared_ptr<Sequential> conv_encoder(const AutoencoderSpec& spec, Generator& generator) {
  auto trunk = std::make_shared<Sequential>();
  trunk->add(std::make_shared<Reshape>(Shape{1, kConvSide, kConvSide}));
  trunk->add(std::make_shared<Conv2d>(1, 32, 4, generator, 2, 1));
  trunk->add(std::make_shared<Activation>(spec.activation));
  trunk->add(std::make_shared<Conv2d>(32, 64, 4, generator, 2, 1));
  trunk->add(std::make_shared<Activation>(spec.activation));
  trunk->add(std::make_shared<Reshape>(Shape{kConvFeatures}));
  trunk->add(std::make_shared<Linear>(kConvFeatures, spec.hidden[0], generator));
  trunk->add(std::make_shared<Activation>(spec.activation));
  return trunk;
}

std::shared_ptr<Sequential> conv_decoder(const AutoencoderSpec& spec, Generator& generator) {
  auto decoder = std::make_shared<Sequential>();
  decoder->add(std::make_shared<Linear>(spec.latent, spec.hidden[0], generator));
  decoder->add(std::make_shared<Activation>(spec.activation));
  decoder->add(std::make_shared<Linear>(spec.hidden[0], kConvFeatures, generator));
  decoder->add(std::make_shared<Activation>(spec.activation));
  decoder->add(std::make_shared<Reshape>(Shape{64, 7, 7}));
  decoder->add(std::make_shared<ConvTranspose2d>(64, 32, 4, generator, 2, 1));
  decoder->add(std::make_shared<Activation>(spec.activation));
  decoder->add(std::make_shared<ConvTranspose2d>(32, 1, 4, generator, 2, 1));
  decoder->add(std::make_shared<Reshape>(Shape{kConvSide * kConvSide}));
  return decoder;
}

}  // namespace

Autoencoder::Autoencoder(const AutoencoderSpec& spec, Generator& generator) : spec_(spec) {
  TL_CHECK_AS(ValueError, spec.input > 0 && spec.latent > 0, "autoencoder: input and latent sizes must be positive");
  if (spec.architecture == Architecture::ConvMnist) {
    TL_CHECK_AS(ValueError, spec.input == kConvSide * kConvSide && spec.hidden.size() == 1 && !spec.batch_norm,
                "the convolutional autoencoder takes 784-pixel (28 x 28) images, one hidden width and no batch norm");
  }
  std::vector<int64_t> widths{spec.input};
  widths.insert(widths.end(), spec.hidden.begin(), spec.hidden.end());
  const int64_t last_hidden = widths.back();
  if (spec.architecture == Architecture::ConvMnist) {
    encoder_ = conv_encoder(spec, generator);
  } else {
    // The trunk: every Linear followed by [batch norm and] the activation; the latent heads read its output.
    encoder_ = std::make_shared<Sequential>();
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
      encoder_->add(std::make_shared<Linear>(widths[i], widths[i + 1], generator));
      if (spec.batch_norm) encoder_->add(std::make_shared<BatchNorm1d>(widths[i + 1]));
      encoder_->add(std::make_shared<Activation>(spec.activation));
    }
  }
  register_module("encoder", encoder_);
  mu_ = register_module("mu", std::make_shared<Linear>(last_hidden, spec.latent, generator));
  if (spec.variational)
    logvar_ = register_module("logvar", std::make_shared<Linear>(last_hidden, spec.latent, generator));
  if (spec.architecture == Architecture::ConvMnist) {
    decoder_ = register_module("decoder", conv_decoder(spec, generator));
    return;
  }
  std::vector<int64_t> decoder_widths{spec.latent};
  decoder_widths.insert(decoder_widths.end(), spec.hidden.rbegin(), spec.hidden.rend());
  decoder_widths.push_back(spec.input);
  decoder_ = register_module(
      "decoder", make_mlp(decoder_widths, spec.activation, ActivationKind::Identity, generator, spec.batch_norm));
}

Tensor Autoencoder::encode(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) == spec_.input, "autoencoder expects [batch, ", spec_.input,
              "] inputs, got ", x.describe());
  return mu_->forward(encoder_->forward(x));
}

Tensor Autoencoder::decode(const Tensor& z) {
  return decoder_->forward(z);
}

AutoencoderOutput Autoencoder::run(const Tensor& x, Generator& noise, const RowShard& shard) {
  AutoencoderOutput out;
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) == spec_.input, "autoencoder expects [batch, ", spec_.input,
              "] inputs, got ", x.describe());
  const Tensor hidden = encoder_->forward(x);
  out.latent = mu_->forward(hidden);
  out.sample = out.latent;
  if (spec_.variational) {
    out.mu = out.latent;
    out.logvar = logvar_->forward(hidden);
    if (training()) {  // in eval mode the posterior mean is decoded (sample = mu) and `noise` is left untouched
      const Tensor eps = shard.normal(out.mu.shape(), noise, x.device());
      out.sample = out.mu + exp(out.logvar * 0.5f) * eps;
    }
  }
  out.reconstruction = decoder_->forward(out.sample);
  return out;
}

Classifier::Classifier(int64_t classes, Generator& generator) {
  TL_CHECK_AS(ValueError, classes >= 2, "Classifier: needs at least 2 classes, got ", classes);
  trunk_ = std::make_shared<Sequential>();
  trunk_->add(std::make_shared<Reshape>(Shape{1, kConvSide, kConvSide}));
  trunk_->add(std::make_shared<Conv2d>(1, 6, 5, generator, 1, 2));
  trunk_->add(std::make_shared<Activation>(ActivationKind::Relu));
  trunk_->add(std::make_shared<Conv2d>(6, 16, 5, generator, 2, 0));  // 28 -> 12
  trunk_->add(std::make_shared<Activation>(ActivationKind::Relu));
  trunk_->add(std::make_shared<Reshape>(Shape{16 * 12 * 12}));
  trunk_->add(std::make_shared<Linear>(16 * 12 * 12, 120, generator));
  trunk_->add(std::make_shared<Activation>(ActivationKind::Relu));
  trunk_->add(std::make_shared<Linear>(120, 84, generator));
  trunk_->add(std::make_shared<Activation>(ActivationKind::Relu));
  register_module("features", trunk_);
  head_ = register_module("head", std::make_shared<Linear>(84, classes, generator));
}

Tensor Classifier::features(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) == kConvSide * kConvSide,
              "Classifier expects [batch, 784] images, got ", x.describe());
  return trunk_->forward(x);
}

Tensor Classifier::forward(const Tensor& x) {
  return head_->forward(features(x));
}

}  // namespace tl::nn
