// The GAN and diffusion models of the generative families (docs/methods.md §3a-b, TALSR's and TGLML's GAN and
// diffusion variants): a generator and a discriminator, as MLPs for point data or DCGAN-style convolutional nets
// for 28 x 28 images; and an epsilon-prediction denoiser, an MLP for point data or a small convolutional U-Net for
// 28 x 28 images, both conditioned on the timestep through the sinusoidal embedding. Images travel flattened
// ([batch, 784]) as in the autoencoders, so every family shares the data pipeline and the loss terms.
#pragma once

#include <memory>
#include <vector>

#include "core/base/random.h"
#include "nn/layers.h"

namespace tl::nn {

// Mlp: point data of any width. Conv28: flattened 28 x 28 x 1 images.
enum class GenerativeArchitecture { Mlp, Conv28 };

struct GanSpec {
  GenerativeArchitecture architecture = GenerativeArchitecture::Mlp;
  int64_t data_dim = 2;                   // features of a sample (784 for Conv28)
  int64_t noise_dim = 2;                  // width of the generator's input z ~ N(0, I)
  std::vector<int64_t> hidden{128, 128};  // Mlp: widths of the generator; the discriminator uses them reversed
  int64_t channels = 64;                  // Conv28: the width of the first discriminator / last generator layer
  // The generator's last activation: sigmoid for images in [0, 1], identity for point data.
  ActivationKind output = ActivationKind::Identity;
};

// A generator G(z) and a discriminator D(x) (logits), registered as "generator" and "discriminator".
//
// Mlp:    G = Linear(noise, h0), ReLU, ..., Linear(h_last, data) then `output`;
//         D = Linear(data, h_last), LeakyReLU(0.2), ..., Linear(h0, 1).
// Conv28 (Radford et al.'s DCGAN shaped for 28 x 28, c = channels):
//         G = Linear(noise, 2c*7*7), BatchNorm1d, ReLU, Unflatten [2c, 7, 7], ConvT(2c, c, 4, 2, 1), BatchNorm2d,
//             ReLU, ConvT(c, 1, 4, 2, 1), Flatten, `output`;
//         D = Unflatten [1, 28, 28], Conv(1, c, 4, 2, 1), LeakyReLU(0.2), Conv(c, 2c, 4, 2, 1), BatchNorm2d,
//             LeakyReLU(0.2), Flatten, Linear(2c*7*7, 1).
// forward(x) is the discriminator. Parameter names are the Sequentials' indices, activations and reshapes counted:
// Mlp "generator.0.weight", "generator.2.weight", ..., "discriminator.0.weight", ...; Conv28 "generator.0" (Linear),
// "generator.1" (BatchNorm1d), "generator.4" (ConvT), "generator.5" (BatchNorm2d), "generator.7" (ConvT),
// "discriminator.1" (Conv), "discriminator.3" (Conv), "discriminator.4" (BatchNorm2d), "discriminator.7" (Linear).
// The constructor draws the generator's weights first, then the discriminator's. ValueError for non-positive widths
// and, for Conv28, a data_dim other than 784.
class Gan : public Module {
 public:
  Gan(const GanSpec& spec, Generator& generator);
  Tensor forward(const Tensor& x) override { return discriminate(x); }
  // Both refuse inputs of another width (ValueError naming the shapes).
  Tensor generate(const Tensor& z);      // [batch, noise_dim] -> [batch, data_dim]
  Tensor discriminate(const Tensor& x);  // [batch, data_dim] -> logits [batch, 1]
  Module& generator() { return *generator_; }
  Module& discriminator() { return *discriminator_; }
  const GanSpec& spec() const { return spec_; }

 private:
  GanSpec spec_;
  std::shared_ptr<Sequential> generator_, discriminator_;
};

struct DenoiserSpec {
  GenerativeArchitecture architecture = GenerativeArchitecture::Mlp;
  int64_t data_dim = 2;
  std::vector<int64_t> hidden{128, 128, 128};  // Mlp: hidden widths
  int64_t time_dim = 32;                       // width of the sinusoidal embedding (>= 4)
  int64_t channels = 32;                       // Conv28: the U-Net's base width c (a multiple of 8)
};

// eps_theta(x_t, t): the noise a diffusion model predicts (Ho et al. 2020), [batch, data_dim].
//
// Mlp:    [x_t, emb(t)] concatenated -> Linear, SiLU per hidden width -> Linear(h_last, data_dim).
// Conv28: a two-level U-Net. emb(t) -> Linear(time_dim, 4c), SiLU, Linear(4c, 4c) = e. Then
//         h0 = Conv(1, c, 3, p1) on the 28 x 28 image;
//         h1 = Conv(c, 2c, 4, s2, p1)(SiLU(GN(h0))) + Linear(4c, 2c)(e)       (14 x 14);
//         h2 = Conv(2c, 2c, 4, s2, p1)(SiLU(GN(h1))) + Linear(4c, 2c)(e)      (7 x 7);
//         m  = Conv(2c, 2c, 3, p1)(SiLU(GN(h2))) + Linear(4c, 2c)(e);
//         u1 = Conv(4c, 2c, 3, p1)(SiLU(GN([Up(m), h1])))                      (14 x 14);
//         u2 = Conv(3c, c, 3, p1)(SiLU(GN([Up(u1), h0])))                      (28 x 28);
//         out = Conv(c, 1, 3, p1)(SiLU(GN(u2))), flattened. GN: GroupNorm with 8 groups; Up: Upsample2x;
//         [a, b]: concatenation along channels; the time projections are added per channel.
// Parameter names, in registration (and initialisation) order: Mlp "mlp.0.weight", "mlp.2.weight", ...; Conv28
// "time.0" and "time.2" (the embedding's MLP), "input" (h0's convolution), then the blocks "down1" (h1), "down2"
// (h2), "middle" (m), "up1", "up2" and "output", each with "norm" (GN), "conv" and, in the first three, "time" (the
// Linear(4c, 2c) projection): "down1.norm.weight", "down1.conv.weight", "down1.time.weight", ... ValueError for
// non-positive widths and, for Conv28, a data_dim other than 784 or channels not a positive multiple of 8.
class Denoiser : public Module {
 public:
  Denoiser(const DenoiserSpec& spec, Generator& generator);
  // Throws ValueError: the model needs the timesteps, use predict(x_t, t).
  Tensor forward(const Tensor& x) override;
  // x_t [batch, data_dim] and one timestep per row; ValueError naming the shapes otherwise.
  Tensor predict(const Tensor& x_t, const std::vector<int64_t>& t);
  const DenoiserSpec& spec() const { return spec_; }

 private:
  class Block;  // conv(SiLU(GN(x))) with an optional per-channel time projection (generative_models.cpp)
  Tensor predict_unet(const Tensor& x_t, const Tensor& embedding);

  DenoiserSpec spec_;
  std::shared_ptr<SinusoidalTimeEmbedding> embedding_;
  std::shared_ptr<Sequential> mlp_;   // Mlp
  std::shared_ptr<Sequential> time_;  // Conv28: the U-Net's parts
  std::shared_ptr<Conv2d> input_;
  std::shared_ptr<Block> down1_, down2_, middle_, up1_, up2_, output_;
};

}  // namespace tl::nn
