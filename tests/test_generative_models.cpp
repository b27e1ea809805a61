// The GAN and diffusion models of nn/generative_models.h on tiny specs: parameter counts derived by hand, the
// registered names, output shapes, the MLP generator, discriminator (LeakyReLU slope 0.2) and denoiser (with the
// sinusoidal embedding written out) against double loops over their weights, finite-difference gradients of a
// random projection of each model's output with respect to its input and to several parameters (batch norm in
// training mode; in the GANs, elements whose step meets a ReLU kink are left out, a bounded share), the denoisers'
// dependence on t, the initialisation order and seeds, and the refusals.
#include <algorithm>
#include <cmath>

#include "nn/generative_models.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nn::GenerativeArchitecture;

// A random projection of the output: its gradient with respect to the output is a fixed random tensor.
Tensor probe_loss(const Tensor& y, uint64_t seed) {
  return sum(y * random_tensor(y.shape(), seed));
}

Tensor& parameter(nn::Module& model, const std::string& name) {
  const auto named = model.named_parameters();
  const auto found = std::find_if(named.begin(), named.end(), [&](const auto& p) { return p.first == name; });
  REQUIRE_MESSAGE(found != named.end(), "no parameter named ", name);
  return *found->second;
}

std::vector<std::string> parameter_names(nn::Module& model) {
  std::vector<std::string> names;
  for (const auto& named : model.named_parameters()) names.push_back(named.first);
  return names;
}

// Every parameter's values, in registration order.
std::vector<std::vector<float>> parameter_values(nn::Module& model) {
  std::vector<std::vector<float>> values;
  for (const auto& named : model.named_parameters()) values.push_back(named.second->to_vector<float>());
  return values;
}

using Loss = std::function<Tensor(const std::vector<Tensor>&)>;

// How a gradient is checked. Smooth models (SiLU, GroupNorm) take check_gradient. The GANs' ReLU and LeakyReLU
// units are many, and in float32 a step small enough to miss every kink drowns in rounding, so `kinks` selects
// check_gradient_between_kinks.
struct GradientCheck {
  float eps = 1e-3f;
  bool kinks = false;
  double rtol = 2e-2, atol = 2e-3;
};

// check_gradient for piecewise-smooth losses: an element whose one-sided differences (F(x + eps) - F(x)) / eps and
// (F(x) - F(x - eps)) / eps disagree beyond the tolerance has a kink within the step and is left out, at most a
// quarter of them; on every other element the central difference, their mean, must match the autograd gradient
// (a kink on one side moves it by half the disagreement at most).
void check_gradient_between_kinks(const Loss& loss, const std::vector<Tensor>& inputs, size_t which,
                                  const std::string& what, const GradientCheck& check) {
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs) leaves.push_back(input.clone().set_requires_grad(true));
  loss(leaves).backward();
  REQUIRE_MESSAGE(leaves[which].grad().defined(), what, ": no gradient reached the input");
  const std::vector<float> analytic = leaves[which].grad().to_vector<float>();
  CHECK_MESSAGE(std::any_of(analytic.begin(), analytic.end(), [](float g) { return g != 0.0f; }), what,
                ": the gradient is identically zero");

  NoGradGuard no_grad;
  const std::vector<float> values = inputs[which].to_vector<float>();
  std::vector<Tensor> moved = inputs;
  const auto loss_moved = [&](size_t i, float delta) {
    std::vector<float> shifted = values;
    shifted[i] += delta;
    moved[which] = Tensor::from_vector(shifted, inputs[which].shape());
    return double(loss(moved).item());
  };
  const double centre = loss(inputs).item();
  // A left-out element is compared with itself, so a failure reports the element's own index.
  std::vector<float> reference = analytic;
  size_t left_out = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double forward = (loss_moved(i, check.eps) - centre) / check.eps,
                 backward = (centre - loss_moved(i, -check.eps)) / check.eps;
    if (std::fabs(forward - backward) > check.atol + check.rtol * std::fabs(forward + backward) / 2) {
      ++left_out;
      continue;
    }
    reference[i] = static_cast<float>((forward + backward) / 2);
  }
  CHECK_MESSAGE(4 * left_out <= values.size(), what, ": ", left_out, " of ", values.size(),
                " elements have a kink within the step");
  check_close(analytic, reference, check.rtol, check.atol, what);
}

void check_model_gradient(const Loss& loss, const std::vector<Tensor>& inputs, size_t which, const std::string& what,
                          const GradientCheck& check) {
  if (check.kinks) {
    check_gradient_between_kinks(loss, inputs, which, what, check);
  } else {
    check_gradient(loss, inputs, which, what, check.eps, check.rtol, check.atol);
  }
}

// Checks the gradient of `loss` with respect to each named parameter of `model`.
void check_parameter_gradients(nn::Module& model, const std::vector<std::string>& names,
                               const std::function<Tensor()>& loss, const std::string& what,
                               const GradientCheck& check = {}) {
  for (const std::string& name : names) {
    Tensor& slot = parameter(model, name);
    const Tensor original = slot.detach();
    const auto with_parameter = [&](const std::vector<Tensor>& v) {
      slot = v[0];
      return loss();
    };
    check_model_gradient(with_parameter, {original}, 0, what + " " + name, check);
    slot = original;
    slot.set_requires_grad(true);
  }
}

// Checks the input gradient of loss(x) along kDirections fixed random directions: x is moved by coefficients c (zero
// at the check) along the rows of D, so d loss / d c = D grad_x, and central differences in c check every element
// of grad_x in projection without one model evaluation per element.
constexpr int64_t kDirections = 4;
void check_projected_input_gradient(const std::function<Tensor(const Tensor&)>& loss, const Tensor& x,
                                    const std::string& what, const GradientCheck& check = {}) {
  const Tensor directions = random_tensor({kDirections, x.numel()}, 99);
  const auto moved = [&](const std::vector<Tensor>& v) {
    return loss(v[0] + reshape(matmul(reshape(v[1], {1, kDirections}), directions), x.shape()));
  };
  check_model_gradient(moved, {x, Tensor::zeros({kDirections})}, 1, what, check);
}

// Checks the gradient of loss(x) with respect to every element of x.
void check_input_gradient(const std::function<Tensor(const Tensor&)>& loss, const Tensor& x, const std::string& what,
                          const GradientCheck& check = {}) {
  check_model_gradient([&](const std::vector<Tensor>& v) { return loss(v[0]); }, {x}, 0, what, check);
}

// y = W x + b for one sample in double, with W [out, in] and b [out] read from the model.
std::vector<double> affine(nn::Module& model, const std::string& prefix, const std::vector<double>& x) {
  const std::vector<float> w = parameter(model, prefix + ".weight").to_vector<float>(),
                           b = parameter(model, prefix + ".bias").to_vector<float>();
  std::vector<double> y(b.size());
  for (size_t o = 0; o < b.size(); ++o) {
    y[o] = b[o];
    for (size_t i = 0; i < x.size(); ++i) y[o] += double(w[o * x.size() + i]) * x[i];
  }
  return y;
}

std::vector<double> elementwise(std::vector<double> v, double (*f)(double)) {
  std::transform(v.begin(), v.end(), v.begin(), f);
  return v;
}
double relu(double v) {
  return std::max(v, 0.0);
}
double leaky_relu_02(double v) {
  return v > 0 ? v : 0.2 * v;
}
double silu(double v) {
  return v / (1.0 + std::exp(-v));
}
double tanh_double(double v) {
  return std::tanh(v);
}

std::vector<double> row(const std::vector<float>& values, int64_t r, int64_t width) {
  return std::vector<double>(values.begin() + r * width, values.begin() + (r + 1) * width);
}

nn::GanSpec tiny_mlp_gan() {
  nn::GanSpec spec;
  spec.data_dim = 3;
  spec.noise_dim = 2;
  spec.hidden = {4, 5};
  spec.output = nn::ActivationKind::Tanh;
  return spec;
}

nn::GanSpec tiny_dcgan() {
  nn::GanSpec spec;
  spec.architecture = GenerativeArchitecture::Conv28;
  spec.data_dim = 784;
  spec.noise_dim = 3;
  spec.channels = 2;
  spec.output = nn::ActivationKind::Sigmoid;
  return spec;
}

nn::DenoiserSpec tiny_mlp_denoiser() {
  nn::DenoiserSpec spec;
  spec.data_dim = 3;
  spec.hidden = {5, 4};
  spec.time_dim = 6;
  return spec;
}

nn::DenoiserSpec tiny_unet() {
  nn::DenoiserSpec spec;
  spec.architecture = GenerativeArchitecture::Conv28;
  spec.data_dim = 784;
  spec.time_dim = 4;
  spec.channels = 8;
  return spec;
}

}  // namespace

TEST_CASE("the MLP GAN has hand-counted parameters and equals double loops with ReLU, tanh and LeakyReLU(0.2)") {
  Generator init(3);
  nn::Gan gan(tiny_mlp_gan(), init);
  // G: Linear(2, 4) 2*4+4, Linear(4, 5) 4*5+5, Linear(5, 3) 5*3+3; D mirrors the widths: Linear(3, 5) 3*5+5,
  // Linear(5, 4) 5*4+4, Linear(4, 1) 4+1.
  CHECK(gan.generator().parameter_count() == (8 + 4) + (20 + 5) + (15 + 3));
  CHECK(gan.discriminator().parameter_count() == (15 + 5) + (20 + 4) + (4 + 1));
  CHECK(gan.parameter_count() == 104);
  CHECK(parameter_names(gan) == std::vector<std::string>{"generator.0.weight", "generator.0.bias", "generator.2.weight",
                                                         "generator.2.bias", "generator.4.weight", "generator.4.bias",
                                                         "discriminator.0.weight", "discriminator.0.bias",
                                                         "discriminator.2.weight", "discriminator.2.bias",
                                                         "discriminator.4.weight", "discriminator.4.bias"});

  const Tensor z = random_tensor({4, 2}, 11, -2.0f, 2.0f), x = random_tensor({4, 3}, 12, -2.0f, 2.0f);
  const Tensor generated = gan.generate(z), logits = gan.discriminate(x);
  REQUIRE(generated.shape() == Shape{4, 3});
  REQUIRE(logits.shape() == Shape{4, 1});
  CHECK(gan.forward(x).to_vector<float>() == logits.to_vector<float>());
  const std::vector<float> zs = z.to_vector<float>(), xs = x.to_vector<float>(), gs = generated.to_vector<float>(),
                           ds = logits.to_vector<float>();
  nn::Module& g = gan.generator();
  nn::Module& d = gan.discriminator();
  int negative_slopes = 0;
  for (int64_t r = 0; r < 4; ++r) {
    const std::vector<double> hg = elementwise(affine(g, "2", elementwise(affine(g, "0", row(zs, r, 2)), relu)), relu);
    const std::vector<double> want_g = elementwise(affine(g, "4", hg), tanh_double);
    for (int64_t j = 0; j < 3; ++j) CHECK(gs[r * 3 + j] == doctest::Approx(want_g[j]).epsilon(1e-5));
    const std::vector<double> d1 = affine(d, "0", row(xs, r, 3));
    negative_slopes += int(std::count_if(d1.begin(), d1.end(), [](double v) { return v < 0; }));
    const std::vector<double> hd = elementwise(affine(d, "2", elementwise(d1, leaky_relu_02)), leaky_relu_02);
    CHECK(ds[r] == doctest::Approx(affine(d, "4", hd)[0]).epsilon(1e-5));
  }
  CHECK(negative_slopes > 0);  // the reference reached the leaky side, so slope 0.2 (not 0.01) was checked

  const auto generator_loss = [&](const Tensor& noise) { return probe_loss(gan.generate(noise), 13); };
  const auto discriminator_loss = [&](const Tensor& samples) { return probe_loss(gan.discriminate(samples), 14); };
  const GradientCheck between_kinks{1e-3f, true};
  check_input_gradient(generator_loss, z, "mlp generator z", between_kinks);
  check_input_gradient(discriminator_loss, x, "mlp discriminator x", between_kinks);
  check_parameter_gradients(
      gan.generator(), parameter_names(gan.generator()), [&] { return generator_loss(z); }, "mlp generator",
      between_kinks);
  check_parameter_gradients(
      gan.discriminator(), parameter_names(gan.discriminator()), [&] { return discriminator_loss(x); },
      "mlp discriminator", between_kinks);
}

TEST_CASE("the DCGAN has hand-counted parameters, 28 x 28 outputs and finite-difference gradients in training mode") {
  Generator init(4);
  nn::Gan gan(tiny_dcgan(), init);
  // c = 2, noise 3, 2c*7*7 = 196. G: Linear(3, 196) 3*196+196, BatchNorm1d(196) 2*196, ConvT(4, 2, 4) 4*2*16+2,
  // BatchNorm2d(2) 2*2, ConvT(2, 1, 4) 2*16+1. D: Conv(1, 2, 4) 16*2+2, Conv(2, 4, 4) 2*4*16+4, BatchNorm2d(4) 2*4,
  // Linear(196, 1) 196+1.
  CHECK(gan.generator().parameter_count() == (588 + 196) + 392 + (128 + 2) + 4 + (32 + 1));
  CHECK(gan.discriminator().parameter_count() == (32 + 2) + (128 + 4) + 8 + (196 + 1));
  CHECK(gan.parameter_count() == 1714);
  CHECK(gan.named_buffers().size() == 6);  // running mean and variance of three batch norms
  CHECK(parameter_names(gan) ==
        std::vector<std::string>{
            "generator.0.weight", "generator.0.bias", "generator.1.weight", "generator.1.bias", "generator.4.weight",
            "generator.4.bias", "generator.5.weight", "generator.5.bias", "generator.7.weight", "generator.7.bias",
            "discriminator.1.weight", "discriminator.1.bias", "discriminator.3.weight", "discriminator.3.bias",
            "discriminator.4.weight", "discriminator.4.bias", "discriminator.7.weight", "discriminator.7.bias"});

  const Tensor z = random_tensor({4, 3}, 21, -2.0f, 2.0f), images = random_tensor({4, 784}, 22, 0.0f, 1.0f);
  const Tensor generated = gan.generate(z);
  REQUIRE(generated.shape() == Shape{4, 784});
  const std::vector<float> pixels = generated.to_vector<float>();
  CHECK(std::all_of(pixels.begin(), pixels.end(), [](float p) { return p > 0.0f && p < 1.0f; }));  // sigmoid
  REQUIRE(gan.discriminate(images).shape() == Shape{4, 1});

  // Training mode (batch statistics, batch 4), the generator on its own output and the discriminator on random
  // images (an untrained generator's near-uniform images put whole rows of the discriminator's first units at the
  // kink together). Biases followed by a batch norm (generator.0, generator.4, discriminator.3) have a zero gradient
  // and are left out. The discriminator's outputs (logits of size 0.3) round finely enough for a step of 1e-4,
  // which meets fewer kinks.
  const auto generator_loss = [&](const Tensor& noise) { return probe_loss(gan.generate(noise), 23); };
  const auto discriminator_loss = [&](const Tensor& samples) { return probe_loss(gan.discriminate(samples), 24); };
  const GradientCheck generator_check{1e-3f, true}, discriminator_check{1e-4f, true};
  check_input_gradient(generator_loss, z, "dcgan generator z", generator_check);
  check_parameter_gradients(
      gan.generator(), {"0.weight", "1.weight", "1.bias", "5.weight", "5.bias", "7.weight", "7.bias"},
      [&] { return generator_loss(z); }, "dcgan generator", generator_check);
  check_projected_input_gradient(discriminator_loss, images, "dcgan discriminator x", discriminator_check);
  check_parameter_gradients(
      gan.discriminator(), {"1.weight", "1.bias", "3.weight", "4.weight", "4.bias", "7.weight", "7.bias"},
      [&] { return discriminator_loss(images); }, "dcgan discriminator", discriminator_check);

  gan.eval();  // running statistics: a single sample is fine now
  CHECK(gan.generate(random_tensor({1, 3}, 25)).shape() == Shape{1, 784});
}

TEST_CASE("the MLP denoiser has hand-counted parameters, equals a double loop with the embedding, and depends on t") {
  Generator init(5);
  nn::Denoiser denoiser(tiny_mlp_denoiser(), init);
  // [x_t (3), emb(t) (6)] -> Linear(9, 5) 9*5+5, Linear(5, 4) 5*4+4, Linear(4, 3) 4*3+3.
  CHECK(denoiser.parameter_count() == (45 + 5) + (20 + 4) + (12 + 3));
  CHECK(parameter_names(denoiser) == std::vector<std::string>{"mlp.0.weight", "mlp.0.bias", "mlp.2.weight",
                                                              "mlp.2.bias", "mlp.4.weight", "mlp.4.bias"});

  const Tensor x = random_tensor({3, 3}, 31, -2.0f, 2.0f);
  const std::vector<int64_t> t = {0, 17, 640};
  const Tensor eps = denoiser.predict(x, t);
  REQUIRE(eps.shape() == Shape{3, 3});
  // time_dim 6: half = 3, frequencies exp(-ln(10000) i / 2) = 1, 1/100, 1/10000.
  const double frequencies[3] = {1.0, 0.01, 0.0001};
  const std::vector<float> xs = x.to_vector<float>(), ys = eps.to_vector<float>();
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<double> input = row(xs, r, 3);
    for (const double f : frequencies) input.push_back(std::sin(double(t[r]) * f));
    for (const double f : frequencies) input.push_back(std::cos(double(t[r]) * f));
    const std::vector<double> hidden =
        elementwise(affine(denoiser, "mlp.2", elementwise(affine(denoiser, "mlp.0", input), silu)), silu);
    const std::vector<double> want = affine(denoiser, "mlp.4", hidden);
    for (int64_t j = 0; j < 3; ++j) CHECK(ys[r * 3 + j] == doctest::Approx(want[j]).epsilon(1e-5));
  }
  // Another timestep per row: every row's prediction changes.
  const std::vector<float> shifted = denoiser.predict(x, {1, 18, 641}).to_vector<float>();
  for (int64_t r = 0; r < 3; ++r) CHECK(row(shifted, r, 3) != row(ys, r, 3));

  const auto loss = [&](const Tensor& noisy) { return probe_loss(denoiser.predict(noisy, t), 32); };
  check_input_gradient(loss, x, "mlp denoiser x_t");
  check_parameter_gradients(
      denoiser, parameter_names(denoiser), [&] { return loss(x); }, "mlp denoiser");
}

TEST_CASE("the U-Net denoiser has hand-counted parameters, 784 outputs, gradients, and depends on t") {
  Generator init(6);
  nn::Denoiser unet(tiny_unet(), init);
  // c = 8, time_dim 4. time: Linear(4, 32) 4*32+32, Linear(32, 32) 32*32+32. input: Conv(1, 8, 3) 9*8+8.
  // down1: GN(8) 2*8, Conv(8, 16, 4) 8*16*16+16, Linear(32, 16) 32*16+16. down2: GN(16) 32, Conv(16, 16, 4)
  // 16*16*16+16, Linear 528. middle: GN(16) 32, Conv(16, 16, 3) 16*16*9+16, Linear 528. up1: GN(32) 64,
  // Conv(32, 16, 3) 32*16*9+16. up2: GN(24) 48, Conv(24, 8, 3) 24*8*9+8. output: GN(8) 16, Conv(8, 1, 3) 8*9+1.
  CHECK(unet.parameter_count() == (160 + 1056) + 80 + (16 + 2064 + 528) + (32 + 4112 + 528) + (32 + 2320 + 528) +
                                      (64 + 4624) + (48 + 1736) + (16 + 73));
  CHECK(unet.parameter_count() == 18017);
  const std::vector<std::string> names = parameter_names(unet);
  REQUIRE(names.size() == 36);
  CHECK(std::vector<std::string>(names.begin(), names.begin() + 12) ==
        std::vector<std::string>{"time.0.weight", "time.0.bias", "time.2.weight", "time.2.bias", "input.weight",
                                 "input.bias", "down1.norm.weight", "down1.norm.bias", "down1.conv.weight",
                                 "down1.conv.bias", "down1.time.weight", "down1.time.bias"});
  CHECK(names[30] == "up2.conv.weight");
  CHECK(names.back() == "output.conv.bias");
  CHECK(unet.named_buffers().empty());

  const Tensor x = random_tensor({2, 784}, 41);
  const std::vector<int64_t> t = {3, 420};
  const Tensor eps = unet.predict(x, t);
  REQUIRE(eps.shape() == Shape{2, 784});
  const std::vector<float> first = eps.to_vector<float>(), other_t = unet.predict(x, {4, 420}).to_vector<float>();
  CHECK(row(first, 0, 784) != row(other_t, 0, 784));  // row 0's timestep moved
  CHECK(row(first, 1, 784) == row(other_t, 1, 784));  // row 1's did not: rows do not mix

  // A smooth network (SiLU, GroupNorm): a step of 1e-2 keeps the float rounding of the loss (a sum over 1568
  // outputs) well below the tolerance, at a negligible truncation error.
  const auto loss = [&](const Tensor& noisy) { return probe_loss(unet.predict(noisy, t), 42); };
  const GradientCheck smooth{1e-2f};
  check_projected_input_gradient(loss, x, "u-net x_t", smooth);
  check_parameter_gradients(
      unet,
      {"time.0.bias", "input.bias", "down1.time.bias", "down2.norm.weight", "middle.conv.bias", "up1.norm.bias",
       "up2.norm.weight", "output.conv.weight", "output.conv.bias"},
      [&] { return loss(x); }, "u-net", smooth);
}

TEST_CASE("generative models draw the generator first, and equal seeds give bit-identical models") {
  // The generator's weights are those of the same MLP drawn alone, and the discriminator's continue the stream where
  // the generator's stopped; nothing else is drawn.
  Generator gan_init(7), alone(7);
  nn::Gan gan(tiny_mlp_gan(), gan_init);
  const auto generator = nn::make_mlp({2, 4, 5, 3}, nn::ActivationKind::Relu, nn::ActivationKind::Tanh, alone);
  nn::Sequential discriminator;
  discriminator.add(std::make_shared<nn::Linear>(3, 5, alone));
  discriminator.add(std::make_shared<nn::Linear>(5, 4, alone));
  discriminator.add(std::make_shared<nn::Linear>(4, 1, alone));
  CHECK(parameter_values(gan.generator()) == parameter_values(*generator));
  CHECK(parameter_values(gan.discriminator()) == parameter_values(discriminator));
  CHECK(gan_init.offset() == alone.offset());

  const auto check_seeds = [](const auto& build, const std::string& what) {
    CAPTURE(what);
    Generator a(8), b(8), c(9);
    auto first = build(a), second = build(b), other = build(c);
    const auto values = parameter_values(*first);
    CHECK(values == parameter_values(*second));
    const auto different = parameter_values(*other);
    for (size_t p = 0; p < values.size(); ++p)
      if (!std::all_of(values[p].begin(), values[p].end(), [](float v) { return v == 0.0f || v == 1.0f; }))
        CHECK_MESSAGE(values[p] != different[p], what, ": parameter ", p, " ignores the seed");
  };
  const auto gan_of = [](const nn::GanSpec& s) {
    return [s](Generator& g) { return std::make_unique<nn::Gan>(s, g); };
  };
  const auto denoiser_of = [](const nn::DenoiserSpec& s) {
    return [s](Generator& g) { return std::make_unique<nn::Denoiser>(s, g); };
  };
  check_seeds(gan_of(tiny_mlp_gan()), "mlp gan");
  check_seeds(gan_of(tiny_dcgan()), "dcgan");
  check_seeds(denoiser_of(tiny_mlp_denoiser()), "mlp denoiser");
  check_seeds(denoiser_of(tiny_unet()), "u-net");

  // Equal parameters give equal outputs, bit for bit.
  Generator a(8), b(8);
  nn::Denoiser u1(tiny_unet(), a), u2(tiny_unet(), b);
  const Tensor x = random_tensor({2, 784}, 51);
  CHECK(u1.predict(x, {5, 6}).to_vector<float>() == u2.predict(x, {5, 6}).to_vector<float>());
}

TEST_CASE("generative models refuse wrong widths, timesteps and specs with messages naming them") {
  Generator init(1);
  nn::Gan gan(tiny_mlp_gan(), init);
  CHECK_THROWS_WITH_AS(gan.generate(Tensor::zeros({4, 3})),
                       doctest::Contains("Gan::generate: z expects [batch, 2], got float32 [4, 3] on cpu"), ValueError);
  CHECK_THROWS_WITH_AS(gan.discriminate(Tensor::zeros({4, 2})),
                       doctest::Contains("Gan::discriminate: x expects [batch, 3], got float32 [4, 2] on cpu"),
                       ValueError);
  CHECK_THROWS_WITH_AS(gan.discriminate(Tensor::zeros({3})), doctest::Contains("got float32 [3] on cpu"), ValueError);

  nn::Denoiser denoiser(tiny_mlp_denoiser(), init);
  CHECK_THROWS_WITH_AS(denoiser.forward(Tensor::zeros({2, 3})), doctest::Contains("predict(x_t, t)"), ValueError);
  CHECK_THROWS_WITH_AS(denoiser.predict(Tensor::zeros({2, 4}), {1, 2}),
                       doctest::Contains("Denoiser::predict: x_t expects [batch, 3], got float32 [2, 4] on cpu"),
                       ValueError);
  CHECK_THROWS_WITH_AS(denoiser.predict(Tensor::zeros({2, 3}), {1, 2, 3}),
                       doctest::Contains("one timestep per row of x_t: x_t is float32 [2, 3] on cpu, t has 3 entries"),
                       ValueError);

  nn::GanSpec flat = tiny_dcgan();
  flat.data_dim = 100;
  CHECK_THROWS_WITH_AS(nn::Gan(flat, init), doctest::Contains("data_dim 784), got data_dim 100"), ValueError);
  nn::GanSpec no_noise = tiny_mlp_gan();
  no_noise.noise_dim = 0;
  CHECK_THROWS_WITH_AS(nn::Gan(no_noise, init), doctest::Contains("noise_dim must be positive"), ValueError);
  nn::DenoiserSpec odd = tiny_unet();
  odd.channels = 12;
  CHECK_THROWS_WITH_AS(nn::Denoiser(odd, init), doctest::Contains("positive multiple of 8"), ValueError);
  odd.channels = 0;
  CHECK_THROWS_AS(nn::Denoiser(odd, init), ValueError);
  nn::DenoiserSpec small_images = tiny_unet();
  small_images.data_dim = 196;
  CHECK_THROWS_WITH_AS(nn::Denoiser(small_images, init), doctest::Contains("got data_dim 196"), ValueError);
}

}  // namespace tl::testing
