// Layers, models and optimisers: forward values against loops written here in double, finite-difference
// gradients through every layer, optimiser steps against the published update formulas, schedules and clipping
// against hand values, parameter naming/counting against the architectures' arithmetic, and the LeNet-style
// classifier trained on MNIST digits to a held-out accuracy far above chance.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nn/data/dataset.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nn::ActivationKind;

}  // namespace

TEST_CASE("Linear computes x W^T + b and its gradients match finite differences") {
  Generator init(3);
  nn::Linear layer(4, 3, init);
  const Tensor x = random_tensor({5, 4}, 11);
  const std::vector<float> xs = x.to_vector<float>(), w = layer.weight.to_vector<float>(),
                           b = layer.bias.to_vector<float>();
  std::vector<float> expected(15);
  for (int r = 0; r < 5; ++r)
    for (int o = 0; o < 3; ++o) {
      double acc = b[o];
      for (int i = 0; i < 4; ++i) acc += double(xs[r * 4 + i]) * w[o * 4 + i];
      expected[r * 3 + o] = static_cast<float>(acc);
    }
  check_close(layer(x).to_vector<float>(), expected, 1e-6, 1e-6, "linear forward");
  for (float v : w) CHECK(std::fabs(v) <= 0.5f);  // U(-1/sqrt(4), 1/sqrt(4))

  auto loss = [&](const std::vector<Tensor>& v) {
    layer.weight = v[1];
    layer.bias = v[2];
    return sum(tanh(layer(v[0])));
  };
  for (size_t which = 0; which < 3; ++which)
    check_gradient(loss, {x, layer.weight.detach(), layer.bias.detach()}, which,
                   "linear input " + std::to_string(which));
  CHECK_THROWS_AS(layer(random_tensor({5, 3}, 1)), ShapeError);
}

namespace {
bool bits_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}
}  // namespace

TEST_CASE("a row shard's draws are its rows of the whole batch's draw, and leave the stream where it would be") {
  Generator whole(11, 5), first_half(11, 5), second_half(11, 5);
  const Tensor all = Tensor::normal({6, 3}, whole, 0.0f, 1.0f);
  const Tensor all_uniform = Tensor::uniform({6}, whole, 0.0f, 1.0f);
  const nn::RowShard first{0, 6}, second{4, 6};
  CHECK(bits_equal(first.normal({4, 3}, first_half, Device::CPU), slice(all, 0, 0, 4)));
  CHECK(bits_equal(second.normal({2, 3}, second_half, Device::CPU), slice(all, 0, 4, 6)));
  CHECK(bits_equal(second.uniform({2}, second_half, Device::CPU), slice(all_uniform, 0, 4, 6)));
  CHECK(first_half.offset() != 5);
  CHECK(second_half.offset() == whole.offset());
  Generator unsplit(11, 5);
  CHECK(bits_equal(nn::RowShard{}.normal({6, 3}, unsplit, Device::CPU), all));
  CHECK_THROWS_WITH_AS(second.normal({3, 3}, unsplit, Device::CPU),
                       doctest::Contains("rows [4, 7) does not fit the batch's 6 rows"), ShapeError);
}

TEST_CASE("conv2d equals a direct loop and conv_transpose2d is its adjoint, both with finite-difference gradients") {
  struct Case {  // square images where the adjoint's output_padding must recover the input size
    int64_t n, c, h, w, o, k, stride, padding;
  };
  for (const Case t : {Case{2, 3, 5, 6, 4, 3, 1, 1}, Case{2, 2, 7, 7, 3, 4, 2, 1}, Case{1, 1, 6, 6, 2, 2, 2, 0}}) {
    const Tensor x = random_tensor({t.n, t.c, t.h, t.w}, 21);
    const Tensor w = random_tensor({t.o, t.c, t.k, t.k}, 22);
    const Tensor y = conv2d(x, w, t.stride, t.padding);
    const int64_t oh = (t.h + 2 * t.padding - t.k) / t.stride + 1, ow = (t.w + 2 * t.padding - t.k) / t.stride + 1;
    REQUIRE(y.shape() == Shape{t.n, t.o, oh, ow});
    const std::vector<float> xs = x.to_vector<float>(), ws = w.to_vector<float>(), ys = y.to_vector<float>();
    for (int64_t b = 0; b < t.n; ++b)
      for (int64_t o = 0; o < t.o; ++o)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            double acc = 0.0;
            for (int64_t c = 0; c < t.c; ++c)
              for (int64_t u = 0; u < t.k; ++u)
                for (int64_t v = 0; v < t.k; ++v) {
                  const int64_t yy = i * t.stride - t.padding + u, xx = j * t.stride - t.padding + v;
                  if (yy < 0 || yy >= t.h || xx < 0 || xx >= t.w) continue;
                  acc += double(xs[((b * t.c + c) * t.h + yy) * t.w + xx]) * ws[((o * t.c + c) * t.k + u) * t.k + v];
                }
            CHECK(ys[((b * t.o + o) * oh + i) * ow + j] == doctest::Approx(acc).epsilon(1e-5));
          }
    // <conv2d(x, w), g> = <x, conv_transpose2d(g, w)>: the same weight tensor is [Cin, Cout, k, k] for the latter.
    const int64_t output_padding = (t.h + 2 * t.padding - t.k) % t.stride;
    const Tensor g = random_tensor(y.shape(), 23);
    const Tensor back = conv_transpose2d(g, w, t.stride, t.padding, output_padding);
    REQUIRE(back.shape() == x.shape());
    CHECK(sum(y * g).item() == doctest::Approx(sum(x * back).item()).epsilon(1e-5));
    auto conv_loss = [&](const std::vector<Tensor>& v) { return sum(tanh(conv2d(v[0], v[1], t.stride, t.padding))); };
    auto transposed_loss = [&](const std::vector<Tensor>& v) {
      return sum(tanh(conv_transpose2d(v[0], v[1], t.stride, t.padding, output_padding)));
    };
    for (size_t which = 0; which < 2; ++which) {
      check_gradient(conv_loss, {x, w}, which, "conv2d input " + std::to_string(which));
      check_gradient(transposed_loss, {g, w}, which, "conv_transpose2d input " + std::to_string(which));
    }
  }
  CHECK(error_message([] {
          conv2d(Tensor::zeros({1, 2, 4, 4}), Tensor::zeros({3, 1, 3, 3}));
        }).find("x has 2 channels") != std::string::npos);
  CHECK_THROWS_AS(conv_transpose2d(Tensor::zeros({1, 1, 4, 4}), Tensor::zeros({1, 1, 3, 3}), 2, 0, 2), ValueError);
}

TEST_CASE("BatchNorm1d normalises by batch statistics, tracks running ones, and differentiates") {
  nn::BatchNorm1d norm(3, 0.1f, 1e-5f);
  const Tensor x = random_tensor({6, 3}, 5, -2.0f, 3.0f);
  const std::vector<float> xs = x.to_vector<float>();
  const std::vector<float> y = norm(x).to_vector<float>();
  const std::vector<float> running_mean = norm.running_mean.to_vector<float>(),
                           running_var = norm.running_var.to_vector<float>();
  for (int f = 0; f < 3; ++f) {
    double m = 0, v = 0;
    for (int r = 0; r < 6; ++r) m += xs[r * 3 + f] / 6.0;
    for (int r = 0; r < 6; ++r) v += (xs[r * 3 + f] - m) * (xs[r * 3 + f] - m) / 6.0;
    for (int r = 0; r < 6; ++r)
      CHECK(y[r * 3 + f] == doctest::Approx((xs[r * 3 + f] - m) / std::sqrt(v + 1e-5)).epsilon(1e-4));
    CHECK(running_mean[f] == doctest::Approx(0.1 * m).epsilon(1e-5));
    CHECK(running_var[f] == doctest::Approx(0.9 + 0.1 * v * 6.0 / 5.0).epsilon(1e-5));  // unbiased
  }
  norm.eval();
  const std::vector<float> evaluated = norm(x).to_vector<float>();
  for (int f = 0; f < 3; ++f)
    CHECK(evaluated[f] == doctest::Approx((xs[f] - running_mean[f]) / std::sqrt(running_var[f] + 1e-5)).epsilon(1e-4));

  norm.train();
  const Tensor weights = random_tensor({6, 3}, 9);  // a loss that is not invariant to the normalisation
  auto loss = [&](const std::vector<Tensor>& v) {
    norm.weight = v[1];
    norm.bias = v[2];
    return sum(norm(v[0]) * weights) + sum(pow(norm(v[0]), 3.0f)) * 0.1f;
  };
  const Tensor gamma = random_tensor({3}, 4, 0.5f, 1.5f), beta = random_tensor({3}, 6);
  for (size_t which = 0; which < 3; ++which)
    check_gradient(loss, {x, gamma, beta}, which, "batch norm input " + std::to_string(which), 1e-3f, 3e-2, 5e-3);
  CHECK_THROWS_AS(norm(random_tensor({1, 3}, 2)), ShapeError);
}

TEST_CASE("the VAE loss differentiates through every layer kind, and presets have the seeds' sizes") {
  nn::AutoencoderSpec spec;
  spec.input = 6;
  spec.hidden = {5};
  spec.latent = 2;
  spec.activation = ActivationKind::Elu;
  Generator init(1);
  nn::Autoencoder vae(spec, init);
  const Tensor x = random_tensor({4, 6}, 8, 0.0f, 1.0f);
  auto parameters = vae.named_parameters();
  REQUIRE(parameters.size() == 10);
  CHECK(parameters[0].first == "encoder.0.weight");
  CHECK(parameters[2].first == "mu.weight");
  CHECK(parameters[4].first == "logvar.weight");
  CHECK(parameters[6].first == "decoder.0.weight");
  CHECK(parameters[8].first == "decoder.2.weight");  // decoder.1 is the activation
  // Every parameter's gradient of BCE + KL, with the noise fixed by re-seeding each evaluation.
  for (size_t p = 0; p < parameters.size(); ++p) {
    auto loss = [&](const std::vector<Tensor>& v) {
      *parameters[p].second = v[0];
      Generator noise(42);
      const nn::AutoencoderOutput out = vae.run(x, noise);
      return bce_with_logits(out.reconstruction, x, Reduction::Sum) + gaussian_kl(out.mu, out.logvar);
    };
    const Tensor original = parameters[p].second->detach();
    check_gradient(loss, {original}, 0, parameters[p].first, 1e-2f, 2e-2, 2e-3);
    *parameters[p].second = original;
    parameters[p].second->set_requires_grad(true);
  }

  Generator g(0);
  nn::Autoencoder reference(nn::autoencoder_preset("reference_vae"), g);
  // pytorch/examples VAE: fc1 784x400, fc21/fc22 400x20, fc3 20x400, fc4 400x784, all with biases.
  CHECK(reference.parameter_count() == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784));
  nn::Autoencoder homological(nn::autoencoder_preset("homological_ae"), g);
  CHECK(homological.parameter_count() ==
        (784 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2) + (2 * 64 + 64) + (64 * 64 + 64) + (64 * 784 + 784));
  nn::Autoencoder spheres(nn::autoencoder_preset("spheres_ae"), g);
  CHECK(spheres.named_buffers().size() == 8);  // running mean/var of 2 encoder and 2 decoder batch norms
  nn::Autoencoder conv(nn::autoencoder_preset("topogen_conv_vae"), g);
  // conv 1->32 and 32->64 (4x4), FC 3136->256, heads 256->10 (x2), FC 10->256, FC 256->3136, deconv 64->32, 32->1.
  CHECK(conv.parameter_count() == (16 * 32 + 32) + (16 * 32 * 64 + 64) + (3136 * 256 + 256) + 2 * (256 * 10 + 10) +
                                      (10 * 256 + 256) + (256 * 3136 + 3136) + (16 * 64 * 32 + 32) + (16 * 32 + 1));
  CHECK(conv.parameter_count() == 1683669);  // docs/methods.md §3d: "about 1.68 M parameters"
  // Eval mode decodes the posterior mean: run() equals forward() and draws no noise.
  {
    const Tensor images = random_tensor({3, 784}, 5, 0.0f, 1.0f);
    reference.eval();
    Generator a(7), b(8);
    const nn::AutoencoderOutput first = reference.run(images, a), second = reference.run(images, b);
    Generator untouched(7);  // eval mode draws nothing: `a` continues exactly as a fresh generator of its seed
    CHECK(Tensor::normal({4}, a, 0.0f, 1.0f).to_vector<float>() ==
          Tensor::normal({4}, untouched, 0.0f, 1.0f).to_vector<float>());
    CHECK(first.reconstruction.to_vector<float>() == second.reconstruction.to_vector<float>());
    CHECK(first.reconstruction.to_vector<float>() == reference.forward(images).to_vector<float>());
    reference.train();
    Generator c(7);
    CHECK(reference.run(images, c).reconstruction.to_vector<float>() != first.reconstruction.to_vector<float>());
  }
  Generator noise(3);
  const nn::AutoencoderOutput out = conv.run(random_tensor({2, 784}, 4, 0.0f, 1.0f), noise);
  CHECK(out.reconstruction.shape() == Shape{2, 784});
  CHECK(out.latent.shape() == Shape{2, 10});
  CHECK_THROWS_AS(nn::autoencoder_preset("transformer"), ValueError);
}

TEST_CASE("the LeNet-style classifier learns MNIST digits from the test split") {
  const std::optional<data::Dataset> loaded = shared_mnist_test_split();
  if (!loaded) return;
  const data::Dataset& mnist = *loaded;
  Generator init(0);
  nn::Classifier lenet(10, init);
  nn::Optimizer optimizer(lenet.named_parameters(), nn::OptimizerOptions{});
  constexpr int64_t kTrain = 6400, kBatch = 64;  // two epochs over the first 6400 images; the last 2000 held out
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    const std::vector<int64_t> order = data::epoch_permutation(kTrain, 1, epoch);
    for (int64_t b = 0; b < kTrain / kBatch; ++b) {
      const std::vector<int64_t> rows(order.begin() + b * kBatch, order.begin() + (b + 1) * kBatch);
      std::vector<int32_t> labels;
      for (int64_t r : rows) labels.push_back(mnist.labels[r]);
      optimizer.zero_grad();
      cross_entropy(lenet(data::gather_rows(mnist, rows, Device::CPU)), Tensor::from_vector(labels, {kBatch}))
          .backward();
      optimizer.step();
    }
  }
  std::vector<int64_t> held_out;
  for (int64_t r = 8000; r < 10000; ++r) held_out.push_back(r);
  NoGradGuard no_grad;
  const std::vector<float> logits = lenet(data::gather_rows(mnist, held_out, Device::CPU)).to_vector<float>();
  int correct = 0;
  for (size_t i = 0; i < held_out.size(); ++i) {
    const auto row = logits.begin() + static_cast<std::ptrdiff_t>(i * 10);
    correct += std::max_element(row, row + 10) - row == mnist.labels[held_out[i]];
  }
  MESSAGE("held-out accuracy " << correct << " / 2000");
  CHECK(correct > 1800);  // above 90 % after two short epochs; chance is 10 %
  CHECK(lenet.features(data::gather_rows(mnist, {0, 1}, Device::CPU)).shape() == Shape{2, 84});
}

TEST_CASE("optimiser steps follow the SGD, Adam and AdamW formulas") {
  const std::vector<float> start{0.5f, -1.0f, 2.0f};
  const std::vector<std::vector<float>> grads{{0.1f, -0.2f, 0.3f}, {-0.4f, 0.5f, 0.6f}, {0.7f, 0.0f, -0.9f}};
  struct Case {
    kernels::OptimizerRule rule;
    float momentum, weight_decay;
    bool nesterov;
  };
  for (const Case c :
       {Case{kernels::OptimizerRule::Sgd, 0.9f, 0.01f, false}, Case{kernels::OptimizerRule::Sgd, 0.9f, 0.0f, true},
        Case{kernels::OptimizerRule::Adam, 0, 0.01f, false}, Case{kernels::OptimizerRule::AdamW, 0, 0.1f, false}}) {
    Tensor parameter = Tensor::from_vector(start, {3});
    parameter.set_requires_grad(true);
    nn::OptimizerOptions options;
    options.rule = c.rule;
    options.lr = 0.05f;
    options.momentum = c.momentum;
    options.weight_decay = c.weight_decay;
    options.nesterov = c.nesterov;
    nn::Optimizer optimizer({{"p", &parameter}}, options);
    std::vector<double> p(start.begin(), start.end()), m(3, 0.0), v(3, 0.0);
    for (size_t t = 0; t < grads.size(); ++t) {
      parameter.zero_grad();
      parameter.accumulate_grad(Tensor::from_vector(grads[t], {3}));
      optimizer.step();
      for (int i = 0; i < 3; ++i) {
        double g = grads[t][i];
        if (c.rule == kernels::OptimizerRule::Sgd) {
          g += c.weight_decay * p[i];
          m[i] = c.momentum * m[i] + g;
          p[i] -= 0.05 * (c.nesterov ? g + c.momentum * m[i] : m[i]);
          continue;
        }
        if (c.rule == kernels::OptimizerRule::AdamW)
          p[i] *= 1.0 - 0.05 * c.weight_decay;
        else
          g += c.weight_decay * p[i];
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        const double m_hat = m[i] / (1 - std::pow(0.9, t + 1)), v_hat = v[i] / (1 - std::pow(0.999, t + 1));
        p[i] -= 0.05 * m_hat / (std::sqrt(v_hat) + 1e-8);
      }
    }
    const std::vector<float> got = parameter.to_vector<float>();
    for (int i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(p[i]).epsilon(1e-5));
    CHECK(optimizer.step_count() == 3);
  }
  Tensor parameter = Tensor::zeros({1});
  CHECK(error_message([&] {
          nn::Optimizer({{"p", &parameter}}, nn::OptimizerOptions{kernels::OptimizerRule::Adam, -1.0f});
        }).find("lr must be positive") != std::string::npos);
  CHECK_THROWS_AS(nn::parse_optimizer("lbfgs"), ValueError);
}

TEST_CASE("learning-rate schedules and gradient clipping equal hand values") {
  nn::LearningRateSchedule schedule;
  schedule.warmup_steps = 4;
  CHECK(schedule.lr_at(1.0f, 0) == doctest::Approx(0.25));
  CHECK(schedule.lr_at(1.0f, 3) == doctest::Approx(1.0));
  CHECK(schedule.lr_at(1.0f, 100) == doctest::Approx(1.0));
  schedule.kind = nn::LearningRateSchedule::Kind::Step;
  schedule.step_size = 10;
  schedule.gamma = 0.5f;
  CHECK(schedule.lr_at(1.0f, 13) == doctest::Approx(1.0));  // 9 steps after warm-up: no decay yet
  CHECK(schedule.lr_at(1.0f, 14) == doctest::Approx(0.5));
  CHECK(schedule.lr_at(1.0f, 24) == doctest::Approx(0.25));
  schedule.kind = nn::LearningRateSchedule::Kind::Cosine;
  schedule.total_steps = 14;
  schedule.min_lr = 0.1f;
  CHECK(schedule.lr_at(1.0f, 9) == doctest::Approx(0.55));  // halfway: (1 + 0.1) / 2
  CHECK(schedule.lr_at(1.0f, 14) == doctest::Approx(0.1));

  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({1});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  a.accumulate_grad(Tensor::from_vector(std::vector<float>{3.0f, 0.0f}, {2}));
  b.accumulate_grad(Tensor::from_vector(std::vector<float>{4.0f}, {1}));
  CHECK(nn::clip_grad_norm({a, b}, 10.0) == doctest::Approx(5.0));
  CHECK(a.grad().to_vector<float>()[0] == 3.0f);  // under the limit: untouched
  CHECK(nn::clip_grad_norm({a, b}, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().to_vector<float>()[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(b.grad().to_vector<float>()[0] == doctest::Approx(0.8).epsilon(1e-5));
}

}  // namespace tl::testing
