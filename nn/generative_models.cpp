// The GAN (MLP or DCGAN-style) and the epsilon-prediction denoiser (MLP or two-level U-Net) of
// nn/generative_models.h, assembled from the layers of nn/layers.h, so both backends and autograd come with them.
#include "nn/generative_models.h"

#include "core/ops.h"

namespace tl::nn {

namespace {

constexpr int64_t kImageSide = 28, kImagePixels = kImageSide * kImageSide;
constexpr int64_t kQuarterSide = kImageSide / 4;  // 7: the spatial side after two stride-2 steps
constexpr float kDiscriminatorSlope = 0.2f;       // Radford et al.'s LeakyReLU slope
constexpr int64_t kGroups = 8;                    // the U-Net's GroupNorm groups

// LeakyReLU with slope 0.2 (ActivationKind::LeakyRelu keeps PyTorch's default 0.01).
class DiscriminatorLeakyRelu : public Module {
 public:
  Tensor forward(const Tensor& x) override { return leaky_relu(x, kDiscriminatorSlope); }
};

void check_positive_widths(const char* model, int64_t data_dim, int64_t other_dim, const char* other_name) {
  TL_CHECK_AS(ValueError, data_dim > 0 && other_dim > 0, model, ": data_dim and ", other_name,
              " must be positive, got ", data_dim, " and ", other_dim);
}

void check_image_width(const char* model, int64_t data_dim) {
  TL_CHECK_AS(ValueError, data_dim == kImagePixels, model, ": the Conv28 architecture takes flattened 28 x 28 images ",
              "(data_dim 784), got data_dim ", data_dim);
}

// Checks that `x` is [batch, width]; `what` names the call and its argument in the message.
void check_rows(const Tensor& x, int64_t width, const char* what) {
  TL_CHECK_AS(ValueError, x.rank() == 2 && x.dim(1) == width, what, " expects [batch, ", width, "], got ",
              x.describe());
}

std::shared_ptr<Sequential> mlp_discriminator(const GanSpec& spec, Generator& generator) {
  std::vector<int64_t> widths{spec.data_dim};
  widths.insert(widths.end(), spec.hidden.rbegin(), spec.hidden.rend());
  widths.push_back(1);
  auto net = std::make_shared<Sequential>();
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    net->add(std::make_shared<Linear>(widths[i], widths[i + 1], generator));
    if (i + 2 < widths.size()) net->add(std::make_shared<DiscriminatorLeakyRelu>());
  }
  return net;
}

std::shared_ptr<Sequential> dcgan_generator(const GanSpec& spec, Generator& generator) {
  const int64_t c = spec.channels, features = 2 * c * kQuarterSide * kQuarterSide;
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Linear>(spec.noise_dim, features, generator));
  net->add(std::make_shared<BatchNorm1d>(features));
  net->add(std::make_shared<Activation>(ActivationKind::Relu));
  net->add(std::make_shared<Reshape>(Shape{2 * c, kQuarterSide, kQuarterSide}));
  net->add(std::make_shared<ConvTranspose2d>(2 * c, c, 4, generator, 2, 1));  // 7 -> 14
  net->add(std::make_shared<BatchNorm2d>(c));
  net->add(std::make_shared<Activation>(ActivationKind::Relu));
  net->add(std::make_shared<ConvTranspose2d>(c, 1, 4, generator, 2, 1));  // 14 -> 28
  net->add(std::make_shared<Reshape>(Shape{kImagePixels}));
  if (spec.output != ActivationKind::Identity) net->add(std::make_shared<Activation>(spec.output));
  return net;
}

std::shared_ptr<Sequential> dcgan_discriminator(const GanSpec& spec, Generator& generator) {
  const int64_t c = spec.channels;
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Reshape>(Shape{1, kImageSide, kImageSide}));
  net->add(std::make_shared<Conv2d>(1, c, 4, generator, 2, 1));  // 28 -> 14
  net->add(std::make_shared<DiscriminatorLeakyRelu>());
  net->add(std::make_shared<Conv2d>(c, 2 * c, 4, generator, 2, 1));  // 14 -> 7
  net->add(std::make_shared<BatchNorm2d>(2 * c));
  net->add(std::make_shared<DiscriminatorLeakyRelu>());
  net->add(std::make_shared<Reshape>(Shape{2 * c * kQuarterSide * kQuarterSide}));
  net->add(std::make_shared<Linear>(2 * c * kQuarterSide * kQuarterSide, 1, generator));
  return net;
}

}  // namespace

Gan::Gan(const GanSpec& spec, Generator& generator) : spec_(spec) {
  check_positive_widths("Gan", spec.data_dim, spec.noise_dim, "noise_dim");
  if (spec.architecture == GenerativeArchitecture::Mlp) {
    std::vector<int64_t> widths{spec.noise_dim};
    widths.insert(widths.end(), spec.hidden.begin(), spec.hidden.end());
    widths.push_back(spec.data_dim);
    generator_ = make_mlp(widths, ActivationKind::Relu, spec.output, generator);
    discriminator_ = mlp_discriminator(spec, generator);
  } else {
    check_image_width("Gan", spec.data_dim);
    TL_CHECK_AS(ValueError, spec.channels > 0, "Gan: channels must be positive, got ", spec.channels);
    generator_ = dcgan_generator(spec, generator);
    discriminator_ = dcgan_discriminator(spec, generator);
  }
  register_module("generator", generator_);
  register_module("discriminator", discriminator_);
}

Tensor Gan::generate(const Tensor& z) {
  check_rows(z, spec_.noise_dim, "Gan::generate: z");
  return generator_->forward(z);
}

Tensor Gan::discriminate(const Tensor& x) {
  check_rows(x, spec_.data_dim, "Gan::discriminate: x");
  return discriminator_->forward(x);
}

// conv(SiLU(GroupNorm(x))), registered as "norm" and "conv"; with time_width > 0 also "time", a Linear projection of
// the time features whose output is added to every pixel of its channel.
class Denoiser::Block : public Module {
 public:
  Block(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t time_width,
        Generator& generator)
      : out_channels_(out_channels),
        norm_(register_module("norm", std::make_shared<GroupNorm>(kGroups, in_channels))),
        conv_(register_module("conv",
                              std::make_shared<Conv2d>(in_channels, out_channels, kernel, generator, stride, 1))) {
    if (time_width > 0) time_ = register_module("time", std::make_shared<Linear>(time_width, out_channels, generator));
  }

  Tensor forward(const Tensor& x) override {
    return conv_->forward(apply_activation(ActivationKind::Silu, norm_->forward(x)));
  }

  // forward(x) plus the projection of the time features [batch, time_width].
  Tensor forward(const Tensor& x, const Tensor& time) {
    return add(forward(x), reshape(time_->forward(time), {time.dim(0), out_channels_, 1, 1}));
  }

 private:
  int64_t out_channels_;
  std::shared_ptr<GroupNorm> norm_;
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<Linear> time_;
};

Denoiser::Denoiser(const DenoiserSpec& spec, Generator& generator) : spec_(spec) {
  check_positive_widths("Denoiser", spec.data_dim, spec.time_dim, "time_dim");
  embedding_ = register_module("embedding", std::make_shared<SinusoidalTimeEmbedding>(spec.time_dim));
  if (spec.architecture == GenerativeArchitecture::Mlp) {
    std::vector<int64_t> widths{spec.data_dim + spec.time_dim};
    widths.insert(widths.end(), spec.hidden.begin(), spec.hidden.end());
    widths.push_back(spec.data_dim);
    mlp_ = register_module("mlp", make_mlp(widths, ActivationKind::Silu, ActivationKind::Identity, generator));
    return;
  }
  check_image_width("Denoiser", spec.data_dim);
  const int64_t c = spec.channels;
  TL_CHECK_AS(ValueError, c > 0 && c % kGroups == 0,
              "Denoiser: the Conv28 U-Net's channels must be a positive multiple of 8 (GroupNorm's 8 groups), got ", c);
  time_ = register_module(
      "time", make_mlp({spec.time_dim, 4 * c, 4 * c}, ActivationKind::Silu, ActivationKind::Identity, generator));
  input_ = register_module("input", std::make_shared<Conv2d>(1, c, 3, generator, 1, 1));
  down1_ = register_module("down1", std::make_shared<Block>(c, 2 * c, 4, 2, 4 * c, generator));
  down2_ = register_module("down2", std::make_shared<Block>(2 * c, 2 * c, 4, 2, 4 * c, generator));
  middle_ = register_module("middle", std::make_shared<Block>(2 * c, 2 * c, 3, 1, 4 * c, generator));
  up1_ = register_module("up1", std::make_shared<Block>(4 * c, 2 * c, 3, 1, 0, generator));
  up2_ = register_module("up2", std::make_shared<Block>(3 * c, c, 3, 1, 0, generator));
  output_ = register_module("output", std::make_shared<Block>(c, 1, 3, 1, 0, generator));
}

Tensor Denoiser::forward(const Tensor&) {
  TL_FAIL(ValueError, "Denoiser::forward(x) lacks the timesteps: call predict(x_t, t)");
}

Tensor Denoiser::predict(const Tensor& x_t, const std::vector<int64_t>& t) {
  check_rows(x_t, spec_.data_dim, "Denoiser::predict: x_t");
  TL_CHECK_AS(ValueError, static_cast<int64_t>(t.size()) == x_t.dim(0),
              "Denoiser::predict needs one timestep per row of x_t: x_t is ", x_t.describe(), ", t has ", t.size(),
              " entries");
  const Tensor embedding = embedding_->embed(t, x_t.device());
  if (spec_.architecture == GenerativeArchitecture::Mlp) return mlp_->forward(concat({x_t, embedding}, 1));
  return predict_unet(x_t, embedding);
}

Tensor Denoiser::predict_unet(const Tensor& x_t, const Tensor& embedding) {
  const int64_t batch = x_t.dim(0);
  Upsample2x upsample;
  const Tensor e = time_->forward(embedding);
  const Tensor h0 = input_->forward(reshape(x_t, {batch, 1, kImageSide, kImageSide}));
  const Tensor h1 = down1_->forward(h0, e);
  const Tensor h2 = down2_->forward(h1, e);
  const Tensor m = middle_->forward(h2, e);
  const Tensor u1 = up1_->forward(concat({upsample(m), h1}, 1));
  const Tensor u2 = up2_->forward(concat({upsample(u1), h0}, 1));
  return reshape(output_->forward(u2), {batch, kImagePixels});
}

}  // namespace tl::nn
