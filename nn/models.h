// The autoencoder models of the methods in docs/methods.md §3: a deterministic AE and a (beta-)VAE with separate mean
// and log-variance heads, as MLPs configured by widths, activation and batch norm, or as TopoGen's convolutional VAE
// for 28 x 28 images; and named presets for the papers' architectures. Decoders end in a linear layer: their output is
// a logit for BCE losses (so a "sigmoid output" is sigmoid(reconstruction)) or the value itself for MSE.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "nn/layers.h"
#include "nn/row_shard.h"

namespace tl::nn {

// Mlp: Linear layers through `hidden`. ConvMnist (28 x 28 x 1 inputs, flattened): conv 32 and conv 64 (4 x 4,
// stride 2, padding 1) then a Linear to hidden[0]; the decoder mirrors it with Linear layers and transposed
// convolutions.
enum class Architecture { Mlp, ConvMnist };

struct AutoencoderSpec {
  Architecture architecture = Architecture::Mlp;
  int64_t input = 784;
  std::vector<int64_t> hidden{400};  // encoder widths after the input; the decoder mirrors them
  int64_t latent = 20;
  ActivationKind activation = ActivationKind::Relu;
  bool variational = true;
  bool batch_norm = false;  // after every hidden Linear, before the activation
};

// Parameters of a model named in a config: "reference_vae" (pytorch/examples' VAE, 784-400-20, ReLU),
// "mlp_vae" and "mlp_ae" (784-512-256-latent, ReLU), "homological_ae" (784-64-64-m, ELU; Hoagland et al.,
// docs/methods.md §3c), "spheres_ae" (101-32-32-2, batch norm; Moor et al.), "topogen_conv_vae" (ConvMnist with FC 256,
// latent 10: 1.68M parameters; Benarroch Jedlicki 2024, docs/methods.md §3d). ValueError for other names.
AutoencoderSpec autoencoder_preset(const std::string& name);

struct AutoencoderOutput {
  Tensor reconstruction;  // [batch, input]: logits or values (see above)
  Tensor latent;          // [batch, latent]: the code the topology terms see (the posterior mean for a VAE)
  Tensor sample;          // VAE: mu + exp(logvar / 2) * eps, decoded into the reconstruction; AE: = latent
  Tensor mu, logvar;      // VAE only
};

class Autoencoder : public Module {
 public:
  Autoencoder(const AutoencoderSpec& spec, Generator& generator);
  // The reconstruction (a VAE decodes its mean: deterministic, as at evaluation time).
  Tensor forward(const Tensor& x) override { return decode(encode(x)); }
  Tensor encode(const Tensor& x);  // the latent code; the posterior mean for a VAE
  Tensor decode(const Tensor& z);
  // One pass with every output. In training mode a VAE draws eps from `noise` and decodes mu + sigma eps; in eval
  // mode it decodes the posterior mean (sample = mu, no draw): evaluation is deterministic, and the test-set
  // reconstruction loss is that of the mean's decoding (pytorch/examples' test() decodes a sampled z instead, a
  // one-sample estimate about 5 nats higher on the reference VAE after 5 epochs). When `shard` splits the batch
  // across processes, x holds this process's rows and eps is its rows of the whole batch's draw.
  AutoencoderOutput run(const Tensor& x, Generator& noise, const RowShard& shard = {});
  const AutoencoderSpec& spec() const { return spec_; }

 private:
  AutoencoderSpec spec_;
  std::shared_ptr<Sequential> encoder_, decoder_;
  std::shared_ptr<Linear> mu_, logvar_;  // the latent heads (logvar_ only for a VAE)
};

// A LeNet-style classifier for flattened 28 x 28 images, the feature extractor of the evaluation metrics:
// conv 6 (5 x 5, padding 2), conv 16 (5 x 5, stride 2: a strided convolution in place of LeNet's pooling),
// FC 120, FC 84 (the features), FC to the classes; ReLU between.
class Classifier : public Module {
 public:
  Classifier(int64_t classes, Generator& generator);
  Tensor forward(const Tensor& x) override;  // logits [batch, classes]
  Tensor features(const Tensor& x);          // [batch, 84]

 private:
  std::shared_ptr<Sequential> trunk_;
  std::shared_ptr<Linear> head_;
};

}  // namespace tl::nn
